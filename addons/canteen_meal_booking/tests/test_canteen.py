from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestCanteen(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.env["res.company"].create({"name": "Canteen Co A"})
        cls.company_b = cls.env["res.company"].create({"name": "Canteen Co B"})
        cls.canteen_a = cls.env["canteen.canteen"].create({"name": "A", "company_id": cls.company_a.id})
        cls.canteen_b = cls.env["canteen.canteen"].create({"name": "B", "company_id": cls.company_b.id})

    def test_employee_reads_only_own_company_canteens(self):
        user = new_test_user(
            self.env,
            "canteen_reader",
            groups="base.group_user",
            company_id=self.company_a.id,
            company_ids=[self.company_a.id],
        )
        Canteen = self.env["canteen.canteen"].with_user(user)
        found = Canteen.search([("id", "in", (self.canteen_a | self.canteen_b).ids)])
        self.assertEqual(found, self.canteen_a)
        with self.assertRaises(AccessError):
            self.canteen_a.with_user(user).write({"name": "renamed"})

    def test_manager_edits(self):
        manager = new_test_user(
            self.env,
            "canteen_boss",
            groups="canteen_meal_booking.group_canteen_manager",
            company_id=self.company_a.id,
            company_ids=[self.company_a.id],
        )
        self.canteen_a.with_user(manager).write({"manager_ids": [(4, manager.id)]})
        self.assertEqual(self.canteen_a.manager_ids, manager)

    def test_branch_manager_reads_but_cannot_change_head_office_canteen(self):
        branch = self.env["res.company"].create(
            {"name": "Canteen Co A Branch", "parent_id": self.company_a.id}
        )
        branch_canteen = self.env["canteen.canteen"].create({"name": "A branch", "company_id": branch.id})
        manager = new_test_user(
            self.env,
            "canteen_branch_boss",
            groups="canteen_meal_booking.group_canteen_manager",
            company_id=branch.id,
            company_ids=[branch.id],
        )
        Canteen = self.env["canteen.canteen"].with_user(manager)
        self.assertEqual(
            Canteen.search([("id", "in", (self.canteen_a | self.canteen_b | branch_canteen).ids)]),
            self.canteen_a | branch_canteen,
        )
        with self.assertRaises(AccessError):
            self.canteen_a.with_user(manager).write({"manager_ids": [(4, manager.id)]})
        with self.assertRaises(AccessError):
            Canteen.create({"name": "Sneaky", "company_id": self.company_a.id})
        branch_canteen.with_user(manager).write({"name": "Renamed"})
        self.assertFalse(self.canteen_a.manager_ids)
