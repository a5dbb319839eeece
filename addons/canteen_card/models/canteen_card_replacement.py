from datetime import timedelta
from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..tools.access import OPERATOR, check_caller
from ..tools.display import user_datetime


class CanteenCardReplacement(models.Model):
    """A lost card replaced by a new one (补卡), and the claim of its balance (卡金补领).

    Wallets belong to the cardholder, not to a card, so a new card would at once spend the
    balance that late offline records of the lost card still have to be counted against.
    Hence: unless the grey-record waiting days (counted from the loss) are already over, the
    replacement moves what is left in each wallet out through the ledger (entries of kind
    "claim_park", booked from the wallet liability to the company's "balances awaiting claim"
    account) and remembers the amounts here. The new card starts empty and is fully usable
    for new top-ups, while the old balance cannot be spent by card, face or anything else.
    Late records of the old card are charged against the wallets as usual (flagged as
    overdraft if they go below the floor). The claim, allowed once the waiting days are over,
    moves the parked amounts back into the same wallets ("claim_return" entries), so the
    net is exact whatever the order; a subsidy that expired meanwhile is withdrawn at once.
    A debt (negative cash) is not parked: it stays with the person.
    """

    _name = "canteen.card.replacement"
    _inherit = ["canteen.protected.mixin"]
    _description = "Card Replacement and Balance Claim"
    _order = "id desc"
    _rec_name = "old_card_id"
    _check_company_auto = True

    old_card_id = fields.Many2one("canteen.card", required=True, readonly=True, check_company=True)
    new_card_id = fields.Many2one("canteen.card", readonly=True, check_company=True)
    employee_id = fields.Many2one(
        "hr.employee", string="Cardholder", required=True, readonly=True, index=True
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    lost_at = fields.Datetime(related="old_card_id.lost_at", string="Reported Lost At")
    claimable_at = fields.Datetime(
        compute="_compute_claimable_at", help="Reported lost at, plus the company's grey-record waiting days."
    )
    cash_amount = fields.Monetary(string="Cash to Claim", readonly=True)
    subsidy_amount = fields.Monetary(string="Subsidy to Claim", readonly=True)
    amount_total = fields.Monetary(
        string="Awaiting Claim", compute="_compute_amount_total", help="Cash and subsidy to claim."
    )
    subsidy_expiry_date = fields.Date(readonly=True, help="Expiry of the parked subsidy, if any.")
    state = fields.Selection(
        [("waiting", "Waiting"), ("claimed", "Claimed")], required=True, default="waiting", readonly=True
    )
    replace_operation_id = fields.Many2one("canteen.operation", readonly=True, check_company=True)
    claim_operation_id = fields.Many2one("canteen.operation", readonly=True, check_company=True)
    claimed_at = fields.Datetime(readonly=True)

    @api.depends("lost_at", "company_id.canteen_grey_wait_days")
    def _compute_claimable_at(self):
        for replacement in self:
            lost_at = replacement.lost_at or replacement.create_date
            replacement.claimable_at = lost_at and lost_at + timedelta(
                days=replacement.company_id.canteen_grey_wait_days
            )

    @api.depends("cash_amount", "subsidy_amount")
    def _compute_amount_total(self):
        for replacement in self:
            replacement.amount_total = replacement.cash_amount + replacement.subsidy_amount

    def unlink(self):  # pylint: disable=method-required-super
        raise UserError(self.env._("Replacements cannot be deleted."))

    def _claimable_text(self):
        """When the balance can be claimed, as the user reads it (their time zone and format)."""
        self.ensure_one()
        return user_datetime(self.env, self.claimable_at)

    @api.model
    def _replace(self, old_card, new_card_vals, card_cost=0):
        """Replace a lost card: the old one becomes replaced, a new empty one is issued. A card
        operator of the card's company only; the records are written as superuser."""
        old_card.ensure_one()
        check_caller(self.env, OPERATOR, old_card.company_id)
        card_cost = self.env["canteen.card.type"]._canteen_card_cost_amount(
            card_cost, old_card.sudo().card_type_id
        )
        return self.sudo()._replace_checked(old_card.sudo(), new_card_vals, card_cost)

    @api.model
    def _replace_checked(self, old_card, new_card_vals, card_cost):
        employee = old_card.employee_id
        if old_card.state != "lost":
            raise UserError(
                self.env._(
                    "Only a lost card can be replaced; %(uid)s is %(state)s.",
                    uid=old_card.uid,
                    state=old_card._state_label(),
                )
            )
        if employee.cardholder_state != "active":
            raise UserError(self.env._("%(person)s has resigned.", person=employee.name))
        replacement = self.create(
            {"old_card_id": old_card.id, "employee_id": employee.id, "company_id": employee.company_id.id}
        )
        old_card._set_state("replaced")
        new_card = self.env["canteen.card"].create(
            dict(
                new_card_vals,
                employee_id=employee.id,
                card_type_id=old_card.card_type_id.id,
                list_reason="replace",
            )
        )
        old_card.replaced_by_id = new_card
        park = replacement.claimable_at > fields.Datetime.now()
        operation = self.env["canteen.operation"]._perform(
            "replace",
            False,
            employee,
            lambda op, person: replacement._take_card_cost_and_park(op, person, card_cost, park),
            cards=new_card,
            note=self.env._("Card %(old)s replaced by %(new)s", old=old_card.uid, new=new_card.uid),
        )
        replacement.write(
            {
                "new_card_id": new_card.id,
                "replace_operation_id": operation.id,
                "state": "waiting" if park else "claimed",
                "claimed_at": False if park else fields.Datetime.now(),
            }
        )
        return replacement

    def _take_card_cost_and_park(self, operation, employee, card_cost, park):
        ledger = self.env["canteen.ledger"]
        if card_cost > 0:
            ledger._debit(
                employee, "cash", card_cost, "card_cost", operation=operation, note=self.env._("Card cost")
            )
        if not park:
            return
        wallets = {wallet.kind: wallet for wallet in employee.wallet_ids}
        vals = {}
        for kind in ("cash", "subsidy"):
            balance = wallets[kind].balance if kind in wallets else 0
            if balance > 0:
                ledger._debit(
                    employee,
                    kind,
                    Decimal(str(balance)),
                    "claim_park",
                    operation=operation,
                    note=self.env._("Parked until the claim of card %(uid)s", uid=self.old_card_id.uid),
                )
                vals[f"{kind}_amount"] = balance
        if vals.get("subsidy_amount"):
            vals["subsidy_expiry_date"] = wallets["subsidy"].expiry_date
        self.sudo().write(vals)

    def action_claim(self):
        """Move the parked balance back into the cardholder's wallets, after the waiting days."""
        check_caller(self.env, OPERATOR, self.company_id)
        for replacement in self.sudo():
            replacement._check_claimable()
            operation = self.env["canteen.operation"]._perform(
                "claim",
                False,
                replacement.employee_id,
                lambda op, person, r=replacement: r._give_back(op, person),
                cards=replacement.new_card_id,
                note=self.env._("Balance of card %(uid)s", uid=replacement.old_card_id.uid),
            )
            replacement.write(
                {"state": "claimed", "claim_operation_id": operation.id, "claimed_at": fields.Datetime.now()}
            )
        return True

    def _check_claimable(self):
        self.ensure_one()
        if self.state != "waiting":
            raise UserError(
                self.env._("The balance of card %(uid)s is already claimed.", uid=self.old_card_id.uid)
            )
        if self.employee_id.cardholder_state != "active":
            raise UserError(self.env._("%(person)s has resigned.", person=self.employee_id.name))
        if self.claimable_at > fields.Datetime.now():
            raise UserError(
                self.env._(
                    "The balance of card %(uid)s can be claimed from %(date)s, once the grey-record "
                    "waiting days are over.",
                    uid=self.old_card_id.uid,
                    date=self._claimable_text(),
                )
            )

    def _give_back(self, operation, employee):
        ledger = self.env["canteen.ledger"]
        note = self.env._("Claimed from card %(uid)s", uid=self.old_card_id.uid)
        for kind in ("cash", "subsidy"):
            amount = Decimal(str(self[f"{kind}_amount"]))
            if amount > 0:
                ledger._credit(
                    employee, kind, amount, "claim_return", operation=operation, note=note, enforce_max=False
                )
        expired = self.subsidy_expiry_date and self.subsidy_expiry_date < fields.Date.context_today(self)
        if expired and self.subsidy_amount > 0:
            ledger._debit(
                employee,
                "subsidy",
                Decimal(str(self.subsidy_amount)),
                "subsidy_expiry",
                operation=operation,
                note=self.env._("Expired on %(date)s", date=self.subsidy_expiry_date),
            )
