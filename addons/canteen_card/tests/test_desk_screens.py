"""The screens of a day at the card desk (issue 11, other screens): what the views and the
methods behind them show, tried as the web client uses them."""

from odoo.tests import tagged
from odoo.tools.safe_eval import safe_eval

from .common import CanteenCardCase


@tagged("post_install", "-at_install")
class TestDeskScreens(CanteenCardCase):
    def search_view_domain(self, name, value=None, kind="field"):
        """The domain of a field (searched for `value`) or filter of the Cardholders search view."""
        view = self.env.ref("canteen_card.hr_employee_view_search_cardholders")
        arch = view._get_combined_arch()
        node = arch.xpath(f"//{kind}[@name='{name}']")[0]
        domain = node.get("filter_domain") if kind == "field" else node.get("domain")
        return safe_eval(domain, {"self": value})

    def test_cardholders_are_found_by_number_and_card(self):
        carol = self.env["hr.employee"].create({"name": "Carol", "company_id": self.company.id})
        everyone = self.alice | self.bob | carol
        Employee = self.env["hr.employee"].with_context(active_test=False)
        action = self.env.ref("canteen_card.hr_employee_action")
        self.assertIn("search_default_cardholders", action.context)
        holders = Employee.search(
            [*self.search_view_domain("cardholders", kind="filter"), ("id", "in", everyone.ids)]
        )
        self.assertEqual(
            holders, self.alice | self.bob, "an employee without number or card is not a cardholder"
        )
        for text in ("A001", "UIDA001", "alice"):
            found = Employee.search([*self.search_view_domain("name", text), ("id", "in", everyone.ids)])
            self.assertEqual(found, self.alice, text)
        self.topup(self.bob, 5)
        self.charge(self.alice, 3)
        negative = Employee.search(
            [*self.search_view_domain("negative_balance", kind="filter"), ("id", "in", everyone.ids)]
        )
        self.assertEqual(negative, self.alice)
        low = Employee.search(
            [*self.search_view_domain("low_balance", kind="filter"), ("id", "in", everyone.ids)]
        )
        self.assertEqual(low, self.alice | self.bob)
        self.alice.current_card_id.action_report_loss()
        lost = Employee.search(
            [*self.search_view_domain("card_lost", kind="filter"), ("id", "in", everyone.ids)]
        )
        self.assertEqual(lost, self.alice)
        no_card = Employee.search(
            [*self.search_view_domain("no_card", kind="filter"), ("id", "in", everyone.ids)]
        )
        self.assertEqual(no_card, carol)
        groups = Employee.read_group(
            [("id", "in", everyone.ids)], ["current_card_state"], ["current_card_state"]
        )
        self.assertEqual(
            {g["current_card_state"]: g["current_card_state_count"] for g in groups},
            {"lost": 1, "active": 1, False: 1},
        )

    def test_department_code_is_labelled_and_full_name_translated(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        sales = self.env["hr.department"].create({"name": "Sales", "company_id": self.company.id})
        east = self.env["hr.department"].create(
            {"name": "East", "parent_id": sales.id, "company_id": self.company.id}
        )
        sales.with_context(lang="zh_CN").name = "销售部"
        east.with_context(lang="zh_CN").name = "华东"
        self.assertEqual(east.with_context(lang="zh_CN").display_name, "销售部 / 华东")
        self.assertEqual(east.with_context(lang="en_US").display_name, "Sales / East")
        form = self.env["hr.department"].get_view(self.env.ref("hr.view_department_form").id, "form")["arch"]
        self.assertIn('name="code" string="Department Code"', form.replace("  ", " "))
        self.assertNotIn('name="code"', form.split("</h1>")[0], "not in the title, without a label")

    def test_reconciliation_counts_claims_and_says_what_must_agree(self):
        self.topup(self.alice, 30)
        self.alice.current_card_id.action_report_loss()
        self.env["canteen.card.replacement"]._replace(self.alice.current_card_id, {"uid": "SCREENNEW"})
        rows = self.env["canteen.reconciliation"].search([("company_id", "=", self.company.id)])
        claim = rows.filtered(lambda r: r.line_kind == "claim")
        self.assertEqual((claim.subledger_count, claim.balance_total), (1, 30))
        self.assertTrue(all(rows.mapped("check_rule")))

    def test_terminal_screens(self):
        if "canteen.terminal" not in self.env:
            self.skipTest("canteen_pos_bridge is not installed")
        from odoo.addons.canteen_pos_bridge.tools import charge_engine

        terminal = self.env["canteen.terminal"].create(
            {
                "name": "Screens",
                "number": 9,
                "serial": "SCREENS-9",
                "company_id": self.company.id,
                "merchant_id": self.merchant.id,
            }
        )
        # Commands and failures say what they were and about whom; they can be sent again.
        command = self.env["canteen.terminal.command"]._enqueue(
            terminal, "face.upsert", {"employee_no": "A001", "name": "Alice"}
        )
        self.assertEqual(command.display_name, f"Face: add or update #{command.id}")
        self.assertEqual(command.subject, "A001 Alice")
        failure = self.env["canteen.terminal.failure"].create(
            {"terminal_id": terminal.id, "command_id": command.id, "error": "no memory"}
        )
        self.assertEqual((failure.command_type, failure.command_subject), ("face.upsert", "A001 Alice"))
        done = failure.action_resend()
        self.assertEqual(done["tag"], "display_notification")
        copies = self.env["canteen.terminal.command"].search([("terminal_id", "=", terminal.id)])
        self.assertEqual(len(copies), 2)
        self.assertEqual(copies[-1].payload, command.payload)
        self.env["canteen.terminal.failure"].create(
            {"terminal_id": terminal.id, "error": "list"}
        ).action_resend()
        self.assertTrue(terminal.list_reset, "a list failure sends the whole list again")
        # A replaced card is declined as replaced, with its label.
        with self.assertRaises(charge_engine.Decline) as declined:
            charge_engine.check_card_state(1, "replaced", None, None)
        self.assertEqual(declined.exception.reason, "card_replaced")
        labels = dict(self.env["canteen.transaction"]._fields["reason"]._description_selection(self.env))
        self.assertEqual(labels["card_replaced"], "Card replaced by a new one")
        identity = dict(
            self.env["canteen.transaction"]._fields["identity_type"]._description_selection(self.env)
        )
        self.assertEqual(identity["employee"], "Employee Number")
        # Meal periods: times of day are never summed; the cashier shows money with its currency.
        self.assertIsNone(self.env["canteen.meal.period"]._fields["hour_from"].aggregator)
        self.topup(self.alice, 30)
        wizard = self.env["canteen.cashier.wizard"].create(
            {"terminal_id": terminal.id, "employee_no": "A001", "amount": 12.5}
        )
        action = wizard.action_charge()
        self.assertEqual(action["name"], "Cashier")
        self.assertIn(self.company.currency_id.symbol, wizard.result)

    def test_suite_accounts_and_journals_are_named_in_chinese(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        # A language loaded after the accounts were made names them too.
        self.env["ir.module.module"]._load_module_terms(["canteen_card"], ["zh_CN"])
        for company in (self.company, self._make_company("Canteen Test Shanghai")):
            journal = company.canteen_cash_journal_id
            self.assertEqual(journal.with_context(lang="zh_CN").name, "现金钱包")
            self.assertEqual(journal.with_context(lang="en_US").name, "Cash Wallets")
            account = company.canteen_cash_liability_account_id
            self.assertEqual(account.with_context(lang="zh_CN").name, "现金钱包（应付储值）")
