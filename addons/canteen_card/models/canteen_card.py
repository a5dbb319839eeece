from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

LIVE_STATES = ("active", "lost")
# Fields only the card's operations write.
OPERATION_FIELDS = {"state", "scrapped", "replaced_by_id"}
# The black/white list change a terminal needs when a card enters a state, and its default reason.
LIST_CHANGES = {
    "lost": ("blacklist.add", "loss"),
    "active": ("blacklist.remove", "unblock"),
    "replaced": ("blacklist.add", "replace"),
    "cancelled": ("blacklist.add", "cancel"),
    "expired": ("blacklist.add", "expire"),
}


class CanteenCard(models.Model):
    _name = "canteen.card"
    _description = "Canteen Card"
    _inherit = ["mail.thread"]
    _order = "issue_date desc, id desc"
    _rec_name = "uid"
    _check_company_auto = True

    uid = fields.Char(
        string="Card UID",
        required=True,
        copy=False,
        index=True,
        tracking=True,
        help="The chip UID read by terminals, or the number of a virtual card.",
    )
    kind = fields.Selection(
        [("physical", "Physical"), ("virtual", "Virtual")], required=True, default="physical"
    )
    state = fields.Selection(
        [
            ("active", "Active"),
            ("lost", "Lost"),
            ("replaced", "Replaced"),
            ("cancelled", "Cancelled"),
            ("expired", "Expired"),
        ],
        required=True,
        default="active",
        readonly=True,
        tracking=True,
        index=True,
    )
    employee_id = fields.Many2one(
        "hr.employee",
        string="Cardholder",
        required=True,
        index=True,
        ondelete="restrict",
        check_company=True,
        tracking=True,
    )
    company_id = fields.Many2one(related="employee_id.company_id", store=True, index=True, precompute=True)
    card_type_id = fields.Many2one(
        "canteen.card.type",
        compute="_compute_card_type_id",
        store=True,
        readonly=False,
        precompute=True,
        check_company=True,
        help="The cardholder's card type when the card was issued.",
    )
    issue_date = fields.Date(required=True, default=fields.Date.context_today, readonly=True)
    expiry_date = fields.Date(
        compute="_compute_expiry_date",
        store=True,
        readonly=False,
        tracking=True,
        help="Empty: never expires.",
    )
    lost_at = fields.Datetime(string="Reported Lost At", readonly=True, copy=False)
    replaced_by_id = fields.Many2one("canteen.card", readonly=True, copy=False, check_company=True)
    scrapped = fields.Boolean(
        readonly=True,
        copy=False,
        tracking=True,
        help="The card is destroyed or not returned: its UID is never issued again.",
    )

    @api.depends("employee_id")
    def _compute_card_type_id(self):
        for card in self.filtered(lambda c: not c.card_type_id):
            card.card_type_id = card.employee_id.card_type_id

    @api.depends("issue_date", "card_type_id.validity_years")
    def _compute_expiry_date(self):
        for card in self:
            years = card.card_type_id.validity_years
            card.expiry_date = (
                card.issue_date + relativedelta(years=years) if years and card.issue_date else False
            )

    def init(self):
        # A UID identifies one live card per company; one person holds one live card.
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS canteen_card_live_uid_uniq ON canteen_card "
                "(company_id, uid) WHERE state IN %s",
                LIVE_STATES,
            )
        )
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS canteen_card_live_holder_uniq ON canteen_card "
                "(employee_id) WHERE state IN %s",
                LIVE_STATES,
            )
        )

    @api.constrains("uid", "state", "company_id", "employee_id")
    def _check_live_unique(self):
        for card in self.filtered(lambda c: c.state in LIVE_STATES):
            clash = self.search_count(
                [
                    ("id", "!=", card.id),
                    ("state", "in", LIVE_STATES),
                    "|",
                    "&",
                    ("company_id", "=", card.company_id.id),
                    ("uid", "=", card.uid),
                    ("employee_id", "=", card.employee_id.id),
                ]
            )
            if clash:
                raise ValidationError(
                    self.env._(
                        "Card %(uid)s: the UID is already used by a live card of this company, or "
                        "%(person)s already holds a live card.",
                        uid=card.uid,
                        person=card.employee_id.name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("kind") == "virtual" and not vals.get("uid"):
                vals["uid"] = self.env["ir.sequence"].next_by_code("canteen.card.virtual")
        cards = super().create(vals_list)
        cards._check_not_scrapped()
        self.env["canteen.ledger"]._ensure_wallets(cards.employee_id)
        reason = self.env.context.get("canteen_list_reason", "issue")
        cards._record_list_changes("whitelist.add", reason)
        if reason == "issue":
            self.env["canteen.operation.log"]._record("issue", cards.employee_id, cards=cards)
        return cards

    def write(self, vals):
        if OPERATION_FIELDS & set(vals) and not self.env.context.get("canteen_card_state_change"):
            raise UserError(self.env._("A card's state changes only through its operations."))
        return super().write(vals)

    def _set_state(self, state, reason=None, **extra):
        """The one way a card changes state; terminals learn it through a list change."""
        changing = self.filtered(lambda card: card.state != state)
        self.with_context(canteen_card_state_change=True).write(dict(extra, state=state))
        # The unique indexes on live cards must see the new state before a new card is inserted.
        self.flush_recordset()
        if state in LIST_CHANGES:
            change, default_reason = LIST_CHANGES[state]
            changing._record_list_changes(change, reason or default_reason)

    def _record_list_changes(self, change, reason):
        if self:
            self.env["canteen.card.list.change"].sudo().create(
                [
                    {
                        "card_id": card.id,
                        "uid": card.uid,
                        "company_id": card.company_id.id,
                        "change": change,
                        "reason": reason,
                    }
                    for card in self
                ]
            )

    def _check_not_scrapped(self):
        scrapped = self.search(
            [
                ("uid", "in", self.mapped("uid")),
                ("scrapped", "=", True),
                ("company_id", "in", self.company_id.ids),
            ]
        )
        taken = {(card.company_id, card.uid) for card in scrapped}
        clash = self.filtered(lambda c: (c.company_id, c.uid) in taken)
        if clash:
            raise ValidationError(
                self.env._("Card %(uid)s was scrapped and cannot be issued again.", uid=clash[0].uid)
            )

    def action_report_loss(self):
        for card in self:
            if card.state != "active":
                raise UserError(
                    self.env._(
                        "Only an active card can be reported lost; %(uid)s is %(state)s.",
                        uid=card.uid,
                        state=card._state_label(),
                    )
                )
        before = self.env["canteen.operation.log"]._balances(self.employee_id)
        self._set_state("lost", lost_at=fields.Datetime.now())
        self.env["canteen.operation.log"]._record("loss", self.employee_id, before, cards=self)
        return True

    def action_unblock(self):
        for card in self:
            if card.state != "lost":
                raise UserError(
                    self.env._(
                        "Only a lost card can be unblocked; %(uid)s is %(state)s.",
                        uid=card.uid,
                        state=card._state_label(),
                    )
                )
        before = self.env["canteen.operation.log"]._balances(self.employee_id)
        self._set_state("active", lost_at=False)
        self.env["canteen.operation.log"]._record("unblock", self.employee_id, before, cards=self)
        return True

    def action_scrap(self):
        """A replaced card found again, or a cancelled card not returned: never usable again."""
        for card in self:
            if card.state not in ("replaced", "cancelled"):
                raise UserError(
                    self.env._(
                        "Only a replaced or cancelled card can be scrapped; %(uid)s is %(state)s.",
                        uid=card.uid,
                        state=card._state_label(),
                    )
                )
        self.with_context(canteen_card_state_change=True).write({"scrapped": True})
        self.env["canteen.operation.log"]._record("scrap", self.employee_id, cards=self)
        return True

    def action_replace(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Replace Card"),
            "res_model": "canteen.card.replace.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_old_card_id": self.id},
        }

    def _state_label(self):
        self.ensure_one()
        return dict(self._fields["state"]._description_selection(self.env))[self.state]

    @api.model
    def _cron_expire_cards(self):
        """Daily: active or lost cards past their expiry date become expired."""
        expired = self.search(
            [("state", "in", LIVE_STATES), ("expiry_date", "<", fields.Date.context_today(self))]
        )
        expired._set_state("expired")
        return expired
