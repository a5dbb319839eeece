from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..tools.access import OPERATOR, check_caller
from ..tools.display import notification
from .canteen_card import LIVE_STATES

# Fields of money, state and audit that only the card desk's operations write (as superuser,
# after checking the caller): an HR user editing an employee may not set them.
PROTECTED_FIELDS = frozenset(
    {
        "cardholder_state",
        "resigned_date",
        "card_ids",
        "current_card_id",
        "wallet_ids",
        "canteen_topup_version",
        "canteen_refund_version",
    }
)


class HrEmployee(models.Model):
    _inherit = "hr.employee"

    employee_no = fields.Char(
        string="Employee Number",
        copy=False,
        index=True,
        groups="hr.group_hr_user,canteen_card.group_card_auditor",
        help="The cardholder's employee number (工号), unique within a company.",
    )
    card_type_id = fields.Many2one(
        "canteen.card.type", check_company=True, groups="hr.group_hr_user,canteen_card.group_card_auditor"
    )
    rule_group_id = fields.Many2one(
        "canteen.rule.group",
        check_company=True,
        groups="hr.group_hr_user,canteen_card.group_card_auditor",
    )
    cardholder_state = fields.Selection(
        [("active", "Active"), ("resigned", "Resigned")],
        default="active",
        required=True,
        groups="hr.group_hr_user,canteen_card.group_card_auditor",
        help="Resigned cardholders keep their history but cannot pay.",
    )
    card_ids = fields.One2many(
        "canteen.card",
        "employee_id",
        string="Cards",
        groups="hr.group_hr_user,canteen_card.group_card_auditor",
    )
    current_card_id = fields.Many2one(
        "canteen.card",
        compute="_compute_current_card_id",
        store=True,
        groups="hr.group_hr_user,canteen_card.group_card_auditor",
    )
    current_card_state = fields.Selection(
        related="current_card_id.state",
        string="Card State",
        store=True,
        groups="hr.group_hr_user,canteen_card.group_card_auditor",
        help="Empty: no live card.",
    )
    wallet_ids = fields.One2many(
        "canteen.wallet",
        "employee_id",
        string="Wallets",
        groups="hr.group_hr_user,canteen_card.group_card_auditor",
    )
    cash_balance = fields.Monetary(
        compute="_compute_balances", groups="hr.group_hr_user,canteen_card.group_card_auditor"
    )
    subsidy_balance = fields.Monetary(
        compute="_compute_balances", groups="hr.group_hr_user,canteen_card.group_card_auditor"
    )
    total_balance = fields.Monetary(
        compute="_compute_balances",
        string="Balance",
        groups="hr.group_hr_user,canteen_card.group_card_auditor",
    )

    canteen_claim_id = fields.Many2one(
        "canteen.card.replacement",
        string="Balance Claim",
        compute="_compute_canteen_claim",
        groups="hr.group_hr_user,canteen_card.group_card_auditor",
        help="The replaced card whose balance waits for its claim (卡金补领).",
    )
    canteen_claim_amount = fields.Monetary(
        string="Awaiting Claim",
        compute="_compute_canteen_claim",
        groups="hr.group_hr_user,canteen_card.group_card_auditor",
        help="The balance of a replaced card, parked until the grey-record waiting days are over; not "
        "in the balance above.",
    )
    canteen_claimable_at = fields.Datetime(
        string="Claimable From",
        compute="_compute_canteen_claim",
        groups="hr.group_hr_user,canteen_card.group_card_auditor",
    )

    canteen_topup_version = fields.Integer(
        string="Last Top-up Import Version",
        readonly=True,
        copy=False,
        groups="hr.group_hr_user,canteen_card.group_card_auditor",
        help="Import version of the last top-up file row of this person; the next must be greater.",
    )
    canteen_refund_version = fields.Integer(
        string="Last Refund Import Version",
        readonly=True,
        copy=False,
        groups="hr.group_hr_user,canteen_card.group_card_auditor",
        help="Import version of the last refund file row of this person; the next must be greater.",
    )
    resigned_date = fields.Date(
        readonly=True, copy=False, groups="hr.group_hr_user,canteen_card.group_card_auditor"
    )

    _sql_constraints = [
        (
            "canteen_employee_no_company_uniq",
            "unique (company_id, employee_no)",
            "An employee number must be unique within its company.",
        ),
    ]

    @api.constrains("card_type_id", "rule_group_id", "company_id")
    def _check_canteen_company(self):
        # hr.employee does not check companies automatically: card types and rule groups of the
        # cardholder's company or of a parent company only.
        self._check_company(["card_type_id", "rule_group_id"])

    @api.constrains("employee_no", "company_id", "active")
    def _check_employee_no_in_group(self):
        """An employee number names one person in the whole company tree: every terminal of the
        tree must resolve it to one cardholder."""
        for employee in self.sudo().filtered(lambda e: e.employee_no and e.active):
            clash = employee.search(
                [
                    ("id", "!=", employee.id),
                    ("employee_no", "=", employee.employee_no),
                    ("company_id", "child_of", employee.company_id.root_id.id),
                ],
                limit=1,
            )
            if clash:
                raise ValidationError(
                    self.env._(
                        "Employee number %(number)s is already %(person)s's in %(company)s, a company "
                        "of the same group: terminals could not tell them apart.",
                        number=employee.employee_no,
                        person=clash.name,
                        company=clash.company_id.name,
                    )
                )

    @api.depends("card_ids.state")
    def _compute_current_card_id(self):
        for employee in self:
            employee.current_card_id = employee.card_ids.filtered(lambda c: c.state in LIVE_STATES)[:1]

    @api.depends("wallet_ids.balance")
    def _compute_balances(self):
        for employee in self:
            by_kind = {w.kind: w.balance for w in employee.wallet_ids}
            employee.cash_balance = by_kind.get("cash", 0.0)
            employee.subsidy_balance = by_kind.get("subsidy", 0.0)
            employee.total_balance = employee.cash_balance + employee.subsidy_balance

    def _compute_canteen_claim(self):
        waiting = (
            self.env["canteen.card.replacement"]
            .sudo()
            .search([("employee_id", "in", self.ids), ("state", "=", "waiting")])
        )
        for employee in self:
            claims = waiting.filtered(lambda r, e=employee: r.employee_id == e)
            employee.canteen_claim_id = claims[:1]
            employee.canteen_claim_amount = sum(claims.mapped("amount_total"))
            employee.canteen_claimable_at = max(claims.mapped("claimable_at"), default=False)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._canteen_check_protected(vals, creating=True)
        return super().create(vals_list)

    def write(self, vals):
        self._canteen_check_protected(vals)
        if "company_id" in vals and not self.env.su:
            movers = self.filtered(lambda e: e.company_id.id != vals["company_id"])
            if movers.sudo().current_card_id or any(movers.sudo().wallet_ids.mapped("balance")):
                raise UserError(
                    self.env._(
                        "A cardholder with cards or money cannot move to another company: cancel the "
                        "card and settle the wallets first."
                    )
                )
        return super().write(vals)

    @api.model
    def _canteen_check_protected(self, vals, creating=False):
        if self.env.su:
            return
        protected = PROTECTED_FIELDS & set(vals)
        if creating and vals.get("cardholder_state", "active") == "active":
            protected.discard("cardholder_state")
        if protected:
            raise AccessError(
                self.env._(
                    "%(fields)s change only through the card desk's operations.",
                    fields=", ".join(sorted(protected)),
                )
            )

    def _canteen_check_operator(self):
        check_caller(self.env, OPERATOR, self.company_id)

    def action_issue_card(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Issue a Card"),
            "res_model": "canteen.card.issue.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_employee_id": self.id},
        }

    def action_report_card_loss(self):
        self._canteen_check_operator()
        return self.sudo().current_card_id.action_report_loss()

    def action_replace_card(self):
        """Replace the person's lost card (补卡): the replace wizard, with the lost card."""
        self.ensure_one()
        card = self.sudo().current_card_id
        if card.state != "lost":
            raise UserError(self.env._("Report the card lost before replacing it."))
        return card.with_env(self.env).action_replace()

    def action_view_claim(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "canteen.card.replacement",
            "res_id": self.canteen_claim_id.id,
            "view_mode": "form",
        }

    def action_unblock_card(self):
        self._canteen_check_operator()
        return self.sudo().current_card_id.action_unblock()

    def action_view_wallets(self):
        action = self.env["ir.actions.act_window"]._for_xml_id("canteen_card.canteen_ledger_entry_action")
        action["domain"] = [("employee_id", "in", self.ids)]
        action["context"] = {"search_default_group_wallet_kind": 1}
        return action

    # Resigned pool, cancellation ----------------------------------------------------------
    def action_freeze_cards(self):
        """Batch freeze (批量冻结): block the active cards of these people, as a loss report does."""
        self._canteen_check_operator()
        cards = self.sudo().current_card_id.filtered(lambda c: c.state == "active")
        if not cards:
            return notification(self.env._("No active card to freeze."), kind="info")
        return cards.action_report_loss()

    def action_resign(self):
        """Move people whose cards are cancelled and wallets empty to the resigned pool (离职库)."""
        self._canteen_check_operator()
        problems = [
            employee.name
            for employee in self.sudo()
            if employee.current_card_id or any(employee.wallet_ids.mapped("balance"))
        ]
        if problems:
            raise UserError(
                self.env._(
                    "Cancel the cards and settle the wallets first (Cancel Cards): %(people)s",
                    people=", ".join(problems),
                )
            )
        self._canteen_set_resigned()
        return True

    def _canteen_set_resigned(self):
        active = self.sudo().filtered(lambda e: e.cardholder_state == "active")
        active.write({"cardholder_state": "resigned", "resigned_date": fields.Date.context_today(self)})
        self.env["canteen.operation.log"]._record("resign", active)

    def action_rehire(self):
        """Back from the resigned pool with the same employee number and history."""
        self._canteen_check_operator()
        resigned = self.sudo().filtered(lambda e: e.cardholder_state == "resigned")
        resigned.write({"cardholder_state": "active", "resigned_date": False})
        self.env["canteen.operation.log"]._record("rehire", resigned)
        return True

    def _canteen_cancel(
        self, *, card_cost=None, resign=False, card_returned=True, payment_journal=None, note=None
    ):
        """Cancel (注销) these people's cards: take the card cost from cash (the card type's, or
        `card_cost` for everyone, at most what cash holds), withdraw the subsidy, refund the
        rest of the cash, cancel the live cards, and optionally move the people to the resigned
        pool. All or nothing; refusals of every person are listed together. A card operator of
        the people's companies only; the records are written as superuser."""
        self._canteen_check_operator()
        return self.sudo()._canteen_cancel_checked(
            card_cost=card_cost,
            resign=resign,
            card_returned=card_returned,
            payment_journal=payment_journal,
            note=note,
        )

    def _canteen_cancel_checked(self, *, card_cost, resign, card_returned, payment_journal, note):
        self._canteen_claim_due_balances()
        self._canteen_check_cancellable()
        CardType = self.env["canteen.card.type"]
        costs = {
            employee.id: CardType._canteen_card_cost_amount(
                card_cost if card_cost is not None else self._canteen_card_cost(employee),
                employee.current_card_id.card_type_id or employee.card_type_id,
            )
            for employee in self
        }
        cards = self.current_card_id
        operations = self.env["canteen.operation"]._perform(
            "cancel",
            False,
            self,
            lambda op, person: person._canteen_empty_wallets(op, costs[person.id]),
            payment_journal=payment_journal,
            cards=cards,
            note=note,
        )
        cards._set_state("cancelled", reason="resign" if resign else "cancel")
        if not card_returned:
            cards.action_scrap()
        if resign:
            self._canteen_set_resigned()
        return operations

    @api.model
    def _canteen_card_cost(self, employee):
        return (employee.current_card_id.card_type_id or employee.card_type_id).card_cost

    def _canteen_claim_due_balances(self):
        waiting = self.env["canteen.card.replacement"].search(
            [("employee_id", "in", self.ids), ("state", "=", "waiting")]
        )
        due = waiting.filtered(lambda r: r.claimable_at <= fields.Datetime.now())
        due.action_claim()

    def _canteen_check_cancellable(self):
        problems = []
        waiting = self.env["canteen.card.replacement"].search(
            [("employee_id", "in", self.ids), ("state", "=", "waiting")]
        )
        for employee in self:
            if employee.cardholder_state != "active":
                problems.append(self.env._("%(person)s has resigned.", person=employee.name))
            elif employee.cash_balance < 0:
                debt = f"{-employee.cash_balance:.2f}"
                problems.append(
                    self.env._(
                        "%(person)s owes %(debt)s: top up before cancelling.",
                        person=employee.name,
                        debt=debt,
                    )
                )
            elif employee in waiting.employee_id:
                claim = waiting.filtered(lambda r, e=employee: r.employee_id == e)[:1]
                amount = f"{claim.amount_total:.2f}"
                problems.append(
                    self.env._(
                        "%(person)s has an old card balance of %(amount)s to claim, claimable from "
                        "%(date)s (the grey-record waiting days): claim it then, and cancel after.",
                        person=employee.name,
                        amount=amount,
                        date=claim._claimable_text(),
                    )
                )
        if problems:
            raise UserError("\n".join(problems))

    def _canteen_empty_wallets(self, operation, card_cost):
        ledger = self.env["canteen.ledger"]
        cash, subsidy = Decimal(str(self.cash_balance)), Decimal(str(self.subsidy_balance))
        cost = min(card_cost, cash)
        if cost > 0:
            ledger._debit(self, "cash", cost, "card_cost", operation=operation, note=self.env._("Card cost"))
        if subsidy > 0:
            ledger._debit(
                self,
                "subsidy",
                subsidy,
                "subsidy_withdrawal",
                operation=operation,
                note=self.env._("Withdrawn on cancel"),
            )
        if cash - cost > 0:
            ledger._debit(
                self, "cash", cash - cost, "refund", operation=operation, note=self.env._("Refund on cancel")
            )
