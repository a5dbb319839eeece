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

    def test_a_chinese_group(self):
        """In China, in yuan, on the Chinese chart of accounts, in Shanghai's time zone; the
        suite's wallet accounts and journals made in that chart, and its books balanced."""
        group = self.env.ref("base.main_company") | self.env.ref("canteen_card.company_branch_north")
        group |= self.env.ref("canteen_card.company_branch_south")
        yuan = self.env.ref("base.CNY")
        for company in group:
            self.assertEqual(company.country_id, self.env.ref("base.cn"), company.name)
            self.assertEqual(company.currency_id, yuan, company.name)
            self.assertEqual(company.chart_template, "cn", company.name)
            self.assertEqual(company._canteen_timezone(), "Asia/Shanghai", company.name)
            self.assertTrue(company.canteen_cash_journal_id and company.canteen_cash_liability_account_id)
        self.assertEqual(self.env.ref("base.user_admin").tz, "Asia/Shanghai")
        # The wallets' liability sits among the Chinese chart's current liabilities (2xxxxx).
        self.assertTrue(group[0].canteen_cash_liability_account_id.code.startswith("2191"))
        entries = self.env["canteen.ledger.entry"].search([("company_id", "in", group.ids)])
        self.assertTrue(entries)
        self.assertEqual(set(entries.currency_id), {yuan})
        self.assertEqual(set(entries.operation_id.move_id.currency_id), {yuan})
        self.assertEqual(self.env["canteen.reconciliation"].sudo()._differences(group), {})

    def test_employees_and_coded_departments(self):
        employees = self.env["hr.employee"].search([("employee_no", "!=", False)])
        self.assertGreaterEqual(len(employees), 20)
        self.assertEqual(len(set(employees.mapped("company_id"))), 3)
        for department in employees.department_id:
            parent_code = department.parent_id.code or ""
            self.assertTrue(department.code.startswith(parent_code), department.display_name)
