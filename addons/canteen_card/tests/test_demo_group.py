from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestDemoGroup(TransactionCase):
    """The demo data a newcomer sees: a group of companies with coded departments."""

    def test_group_of_companies(self):
        hq = self.env.ref("base.main_company")
        branches = self.env.ref("canteen_card.company_branch_north") | self.env.ref(
            "canteen_card.company_branch_south"
        )
        self.assertEqual(branches.parent_id, hq)
        self.assertEqual(hq.child_ids & branches, branches)

    def test_employees_and_coded_departments(self):
        employees = self.env["hr.employee"].search([("employee_no", "!=", False)])
        self.assertGreaterEqual(len(employees), 20)
        self.assertEqual(len(set(employees.mapped("company_id"))), 3)
        for department in employees.department_id:
            parent_code = department.parent_id.code or ""
            self.assertTrue(department.code.startswith(parent_code), department.display_name)
