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
