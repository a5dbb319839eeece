from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import CanteenCardCase


@tagged("post_install", "-at_install")
class TestAccess(CanteenCardCase):
    """Groups and companies: HQ > North > North-East, and South, a sibling of North."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.north = cls._make_company("North", parent=cls.company)
        cls.north_east = cls._make_company("North-East", parent=cls.north)
        cls.south = cls._make_company("South", parent=cls.company)
        cls.nina = cls._make_cardholder("Nina", "N001", cls.north)
        cls.nora = cls._make_cardholder("Nora", "NE01", cls.north_east)
        cls.sam = cls._make_cardholder("Sam", "S001", cls.south)
        cls.everyone = cls.alice | cls.bob | cls.nina | cls.nora | cls.sam
        cls.Wizard = cls.env["canteen.topup.wizard"]
        for employee in cls.everyone:
            cls.Wizard.with_company(employee.company_id).create(
                {"employee_ids": [(6, 0, employee.ids)], "amount": 20}
            ).action_confirm()
        g = "canteen_card.group_card_"
        cls.hq_operator = cls._user("hq_operator", f"{g}operator", cls.company)
        cls.north_operator = cls._user("north_operator", f"{g}operator", cls.north)
        cls.auditor = cls._user("auditor", f"{g}auditor", cls.company)
        cls.finance = cls._user("finance", f"{g}finance", cls.company)
        cls.manager = cls._user("manager", f"{g}manager", cls.company)
        cls.alice_user = cls._user("alice_user", "base.group_user", cls.company)
        cls.alice.user_id = cls.alice_user

    @classmethod
    def _user(cls, login, groups, company):
        """A user of `company` and, the Odoo way, of every branch below it."""
        branches = cls.env["res.company"].search([("id", "child_of", company.id)])
        return super()._user(login, groups, [company, *(branches - company)])

    def as_user(self, user):
        """As the user with all their companies selected (the switcher selects branches too)."""
        return self.env(user=user, context={"allowed_company_ids": user.company_ids.ids})

    def visible_holders(self, user, model):
        records = self.as_user(user)[model].search([("employee_id", "in", self.everyone.ids)])
        return set(records.mapped("employee_id.name"))

    def test_branch_sees_itself_and_below_never_siblings_or_parent(self):
        for model in ("canteen.card", "canteen.wallet", "canteen.ledger.entry"):
            with self.subTest(model=model):
                self.assertEqual(self.visible_holders(self.north_operator, model), {"Nina", "Nora"})
                self.assertEqual(
                    self.visible_holders(self.hq_operator, model), {"Alice", "Bob", "Nina", "Nora", "Sam"}
                )
        # Records rules follow the branch tree itself: with only HQ selected, HQ still sees below.
        hq_only = self.env(user=self.hq_operator, context={"allowed_company_ids": [self.company.id]})
        cards = hq_only["canteen.card"].search([("employee_id", "in", self.everyone.ids)])
        self.assertEqual(len(cards), 5)
        sam_card = self.sam.current_card_id
        with self.assertRaises(AccessError):
            sam_card.with_env(self.as_user(self.north_operator)).read(["uid"])

    def test_operator_runs_the_desk_but_not_subsidies_clearing_or_settings(self):
        env = self.as_user(self.hq_operator)
        env["canteen.topup.wizard"].create(
            {"employee_ids": [(6, 0, self.bob.ids)], "amount": 5}
        ).action_confirm()
        self.assertEqual(self.balances(self.bob), (25.0, 0.0))
        self.bob.current_card_id.with_env(env).action_report_loss()
        with self.assertRaises(AccessError):
            env["canteen.subsidy.grant.wizard"].create({"amount": 5, "employee_ids": [(6, 0, self.bob.ids)]})
        with self.assertRaises(AccessError):
            env["canteen.clearing.wizard"].create({})
        with self.assertRaises(AccessError):
            self.card_type.with_env(env).write({"max_balance": 5})

    def test_auditor_reads_everything_and_changes_nothing(self):
        env = self.as_user(self.auditor)
        self.assertEqual(
            self.visible_holders(self.auditor, "canteen.ledger.entry"), {e.name for e in self.everyone}
        )
        self.assertTrue(env["canteen.reconciliation"].search([]))
        self.assertTrue(env["canteen.operation"].search([]))
        with self.assertRaises(AccessError):
            env["canteen.topup.wizard"].create({"employee_ids": [(6, 0, self.bob.ids)], "amount": 5})
        with self.assertRaises(AccessError):
            self.bob.current_card_id.with_env(env).write({"uid": "X"})
        with self.assertRaises(AccessError):
            env["canteen.card"].create({"employee_id": self.bob.id, "kind": "virtual"})
        with self.assertRaises(AccessError):
            self.merchant.with_env(env).write({"name": "X"})

    def test_finance_clears_but_does_not_top_up(self):
        env = self.as_user(self.finance)
        env["canteen.clearing.wizard"].create({}).action_run()
        self.assertTrue(env["canteen.reconciliation"].search([("company_id", "=", self.company.id)]))
        with self.assertRaises(AccessError):
            env["canteen.topup.wizard"].create({"employee_ids": [(6, 0, self.bob.ids)], "amount": 5})

    def test_manager_configures_and_grants(self):
        env = self.as_user(self.manager)
        env["canteen.card.type"].create({"name": "Guest", "company_id": self.company.id})
        env["canteen.subsidy.grant.wizard"].create(
            {"amount": 5, "employee_ids": [(6, 0, self.bob.ids)]}
        ).action_confirm()
        self.assertEqual(self.balances(self.bob), (20.0, 5.0))

    def test_nobody_edits_the_ledger(self):
        entry = self.env["canteen.ledger.entry"].search([("employee_id", "=", self.bob.id)], limit=1)
        for user in (self.manager, self.finance, self.env.ref("base.user_admin")):
            with self.subTest(user=user.login), self.assertRaises(UserError):
                entry.with_env(self.as_user(user)).write({"amount": 1})

    def test_cardholder_sees_only_own_data(self):
        env = self.as_user(self.alice_user)
        for model in ("canteen.card", "canteen.wallet", "canteen.ledger.entry"):
            with self.subTest(model=model):
                records = env[model].search([])
                self.assertEqual(set(records.mapped("employee_id.name")), {"Alice"})
        with self.assertRaises(AccessError):
            self.bob.current_card_id.with_env(env).read(["uid"])
        with self.assertRaises(AccessError):
            env["canteen.operation"].search([])
