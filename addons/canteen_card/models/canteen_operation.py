from collections import defaultdict
from decimal import Decimal

from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

# The most people an operation books with a journal item each (naming them as partner).
PARTNER_LINES_MAX = 200
OPERATION_KIND_SELECTION = [
    ("topup", "Top-up"),
    ("refund", "Refund"),
    ("subsidy_grant", "Subsidy Grant"),
    ("subsidy_expiry", "Subsidy Expiry"),
    ("replace", "Replace Card"),
    ("claim", "Claim Old Card Balance"),
    ("cancel", "Cancel Card"),
]


class CanteenOperation(models.Model):
    """A desk operation (a top-up, a refund, a subsidy grant, an expiry run): the origin
    document of its ledger entries and of the one journal entry that books them."""

    _name = "canteen.operation"
    _inherit = ["canteen.protected.mixin"]
    _description = "Card Desk Operation"
    _order = "date desc, id desc"
    _check_company_auto = True

    name = fields.Char(required=True, readonly=True, default="/", copy=False)
    kind = fields.Selection(OPERATION_KIND_SELECTION, required=True, readonly=True)
    date = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    wallet_kind = fields.Selection(
        [("cash", "Cash"), ("subsidy", "Subsidy")],
        readonly=True,
        help="The wallet an operation moves; empty when it moves both (replace, claim, cancel).",
    )
    payment_journal_id = fields.Many2one(
        "account.journal",
        readonly=True,
        check_company=True,
        help="Cash or bank journal of a top-up or refund.",
    )
    move_id = fields.Many2one("account.move", string="Journal Entry", readonly=True, check_company=True)
    entry_ids = fields.One2many(
        "canteen.ledger.entry", "operation_id", string="Ledger Entries", readonly=True
    )
    # Not stored: the entries are inserted by the ledger core in SQL, outside the ORM's triggers.
    amount_total = fields.Monetary(
        compute="_compute_amount_total", help="Sum of the entries: money added minus money taken."
    )
    entry_count = fields.Integer(compute="_compute_amount_total")
    # What the operator hands over or keeps, each on its own line (a cancellation's total mixes them).
    refund_amount = fields.Monetary(
        string="Refund to Hand Over",
        compute="_compute_amount_total",
        help="Cash paid back to the cardholders at the desk (refunds, the cash left at a cancellation).",
    )
    topup_amount = fields.Monetary(
        string="Cash Received", compute="_compute_amount_total", help="Cash the desk received (top-ups)."
    )
    card_cost_amount = fields.Monetary(
        string="Card Cost", compute="_compute_amount_total", help="Card costs taken from the cash wallets."
    )
    subsidy_withdrawn_amount = fields.Monetary(
        string="Subsidy Withdrawn",
        compute="_compute_amount_total",
        help="Subsidy taken back: withdrawn at a cancellation, or expired. Never paid out.",
    )
    parked_amount = fields.Monetary(
        string="Parked for Claim",
        compute="_compute_amount_total",
        help="Old card balance moved out of the wallets until its claim (negative) or claimed back "
        "(positive).",
    )
    note = fields.Char(readonly=True)

    @api.depends("entry_ids.amount", "entry_ids.kind")
    def _compute_amount_total(self):
        for operation in self:
            by_kind = defaultdict(float)
            for entry in operation.entry_ids:
                by_kind[entry.kind] += entry.amount
            operation.amount_total = sum(by_kind.values())
            operation.entry_count = len(operation.entry_ids)
            operation.refund_amount = -by_kind["refund"]
            operation.topup_amount = by_kind["topup"]
            operation.card_cost_amount = -by_kind["card_cost"]
            operation.subsidy_withdrawn_amount = -(by_kind["subsidy_withdrawal"] + by_kind["subsidy_expiry"])
            operation.parked_amount = by_kind["claim_park"] + by_kind["claim_return"] + by_kind["transfer"]

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("name", "/") == "/":
                vals["name"] = self.env["ir.sequence"].next_by_code("canteen.operation") or "/"
        return super().create(vals_list)

    def unlink(self):  # pylint: disable=method-required-super
        raise UserError(self.env._("Card desk operations cannot be deleted."))

    @api.model
    def _perform(
        self, kind, wallet_kind, employees, apply, *, payment_journal=None, note=None, cards=None, batch=False
    ):
        """Run a desk operation: one operation per company of `employees`, `apply(operation,
        employee)` moving each person's money through the ledger, then one journal entry each.
        With `batch`, `apply(operations)` is called once for all companies' operations (imports
        post everything in one ledger batch). Each person gets a line in the operation log."""
        operations = self.browse()
        Log = self.env["canteen.operation.log"]
        before = Log._balances(employees)
        try:
            # All or nothing, even for a caller that catches the error (a batch import, say).
            with self.env.cr.savepoint():
                for company in employees.company_id:
                    operations |= self._perform_company(
                        company,
                        kind,
                        wallet_kind,
                        employees,
                        None if batch else apply,
                        payment_journal=payment_journal,
                        note=note,
                    )
                if batch:
                    apply(operations)
                for operation in operations:
                    operation._book()
        except Exception:
            self.env.invalidate_all()
            raise
        Log._record(kind, employees, before, cards=cards, operations=operations, note=note)
        return operations

    def _perform_company(self, company, kind, wallet_kind, employees, apply, *, payment_journal, note):
        if payment_journal and (
            payment_journal.company_id != company or payment_journal.type not in ("cash", "bank")
        ):
            raise UserError(
                self.env._(
                    "Journal %(journal)s is not a cash or bank journal of %(company)s.",
                    journal=payment_journal.display_name,
                    company=company.name,
                )
            )
        journal = payment_journal or company.canteen_payment_journal_id
        operation = self.create(
            {
                "kind": kind,
                "wallet_kind": wallet_kind,
                "company_id": company.id,
                "payment_journal_id": journal.id if kind in ("topup", "refund", "cancel") else False,
                "note": note,
            }
        )
        if apply:
            for employee in employees.filtered(lambda e: e.company_id == company):
                apply(operation, employee)
        return operation

    def _counterpart_account(self, entry_kind):
        """Where the money of a wallet entry comes from or goes to: cash or bank for money paid in
        or out, subsidy expense for subsidies, income for card costs, the claim account for the
        balance of a replaced card waiting for its claim."""
        self.ensure_one()
        company = self.company_id
        if entry_kind in ("topup", "refund"):
            if not self.payment_journal_id.default_account_id:
                raise UserError(
                    self.env._("Choose a cash or bank journal for %(company)s.", company=company.name)
                )
            return self.payment_journal_id.default_account_id
        company._canteen_wallet_accounting("cash")
        account = {
            "subsidy_grant": company.canteen_subsidy_expense_account_id,
            "subsidy_expiry": company.canteen_subsidy_expense_account_id,
            "subsidy_withdrawal": company.canteen_subsidy_expense_account_id,
            "card_cost": company.canteen_card_cost_account_id,
            "transfer": company.canteen_claim_account_id,
            "claim_park": company.canteen_claim_account_id,
            "claim_return": company.canteen_claim_account_id,
        }.get(entry_kind)
        if not account:
            raise UserError(
                self.env._(
                    "%(company)s has no account for %(kind)s entries.", company=company.name, kind=entry_kind
                )
            )
        return account

    def _entry_totals(self):
        """{(wallet kind, entry kind, cardholder's partner or None): total} of the operation's
        entries, summed by the database. Up to PARTNER_LINES_MAX people, per person (their work
        contact), so that the journal items of the wallets name the cardholder; a larger batch
        (an import of thousands) is booked in totals, its people being in the ledger entries."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "SELECT COUNT(DISTINCT employee_id) FROM canteen_ledger_entry WHERE operation_id = %s",
                self.id,
            )
        )
        per_person = self.env.cr.fetchone()[0] <= PARTNER_LINES_MAX
        self.env.cr.execute(
            SQL(
                """
                SELECT e.wallet_kind, e.kind, CASE WHEN %(per_person)s THEN h.work_contact_id END,
                       SUM(e.amount)
                  FROM canteen_ledger_entry e
                  JOIN hr_employee h ON h.id = e.employee_id
                 WHERE e.operation_id = %(op)s
                 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
                """,
                op=self.id,
                per_person=per_person,
            )
        )
        return {
            (wallet_kind, kind, partner): total
            for wallet_kind, kind, partner, total in self.env.cr.fetchall()
        }

    def _book(self):
        """Post one journal entry for the operation's entries: each wallet's liability against the
        counterpart of each entry kind (see _counterpart_account)."""
        self.ensure_one()
        self.invalidate_recordset(["entry_ids", "amount_total"])
        currency = self.company_id.currency_id
        label = dict(self._fields["kind"]._description_selection(self.env))[self.kind]
        # Money added to wallets is owed to the cardholders: credit the liability.
        balances = defaultdict(float)  # (account, partner id) -> credit minus debit
        for (wallet_kind, entry_kind, partner_id), total in self._entry_totals().items():
            balances[self.company_id._canteen_wallet_accounting(wallet_kind)[1], partner_id] += total
            balances[self._counterpart_account(entry_kind), None] -= total
        lines = [
            {
                "account_id": account.id,
                "partner_id": partner_id,
                "name": label,
                "debit": max(-amount, 0),
                "credit": max(amount, 0),
            }
            for (account, partner_id), amount in ((key, currency.round(b)) for key, b in balances.items())
            if not currency.is_zero(amount)
        ]
        if not lines:
            return self.env["account.move"]
        journal = (
            self.payment_journal_id
            or self.company_id._canteen_wallet_accounting(self.wallet_kind or "cash")[0]
        )
        move = (
            self.env["account.move"]
            .sudo()
            .create(
                {
                    "move_type": "entry",
                    "journal_id": journal.id,
                    "company_id": self.company_id.id,
                    "date": fields.Date.context_today(self, self.date),
                    "ref": f"{self.name} {label}",
                    "canteen_locked": True,
                    "line_ids": [Command.create(line) for line in lines],
                }
            )
        )
        move.action_post()
        self.move_id = move
        return move

    @api.model
    def _demo_fund_cardholders(self):
        """Demo data: 200.00 cash and 50.00 subsidy for every demo cardholder with a card."""
        self.env.cr.precommit.run()  # branch companies created by the demo get their chart first
        holders = self.env["canteen.card"].search([("state", "=", "active")]).employee_id
        ledger = self.env["canteen.ledger"]
        for kind, wallet_kind, amount in (
            ("topup", "cash", Decimal("200.00")),
            ("subsidy_grant", "subsidy", Decimal("50.00")),
        ):
            entry_kind = "topup" if kind == "topup" else "subsidy_grant"
            self._perform(
                kind,
                wallet_kind,
                holders,
                lambda operation, employee, w=wallet_kind, a=amount, e=entry_kind: ledger._credit(
                    employee, w, a, e, operation=operation, note=self.env._("Demo data")
                ),
            )

    def _action_open(self):
        action = self.env["ir.actions.act_window"]._for_xml_id("canteen_card.canteen_operation_action")
        if len(self) == 1:
            action.update({"res_id": self.id, "view_mode": "form", "views": [(False, "form")]})
        else:
            action["domain"] = [("id", "in", self.ids)]
        return action

    def action_view_entries(self):
        action = self.env["ir.actions.act_window"]._for_xml_id("canteen_card.canteen_ledger_entry_action")
        action["domain"] = [("operation_id", "in", self.ids)]
        return action
