from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ..tools.access import OPERATOR, check_caller
from ..tools.display import notification, user_datetime

LIVE_STATES = ("active", "lost")
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
    _inherit = ["mail.thread", "canteen.protected.mixin"]
    _mail_post_access = "read"
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
        [("physical", "Physical"), ("virtual", "Virtual")],
        string="Card Medium",
        required=True,
        default="physical",
        help="Physical: a plastic card with a chip; Virtual: an auto-numbered card without plastic.",
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
    root_company_id = fields.Many2one(
        "res.company",
        string="Company Group",
        compute="_compute_root_company_id",
        store=True,
        index=True,
        precompute=True,
        help="The top company of the card's company tree: a UID names one live card in the whole tree, "
        "so that every terminal of the tree resolves it to one person.",
    )
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
    cancelled_at = fields.Datetime(
        readonly=True,
        copy=False,
        help="When the card was cancelled: offline records of it uploaded later wait in the exception "
        "queue for a card manager.",
    )
    replaced_by_id = fields.Many2one("canteen.card", readonly=True, copy=False, check_company=True)
    scrapped = fields.Boolean(
        readonly=True,
        copy=False,
        tracking=True,
        help="The card is destroyed or not returned: its UID is never issued again.",
    )

    claim_id = fields.Many2one(
        "canteen.card.replacement",
        string="Balance Claim",
        compute="_compute_claim_id",
        help="The replacement of this card, or by this card, whose old balance waits for its claim.",
    )
    claim_amount = fields.Monetary(
        string="Awaiting Claim", compute="_compute_claim_id", currency_field="claim_currency_id"
    )
    claim_currency_id = fields.Many2one("res.currency", compute="_compute_claim_id")
    claimable_at = fields.Datetime(string="Claimable From", compute="_compute_claim_id")

    @api.depends("employee_id")
    def _compute_display_name(self):
        # The holder's name with the UID, so that a card can be told apart in any card field.
        for card in self:
            holder = card.employee_id.sudo().name
            card.display_name = f"{card.uid} ({holder})" if holder and card.uid else card.uid or ""

    @api.model
    def _search_display_name(self, operator, value):
        """A card is found by its UID, its holder's name or employee number (the holder's
        fields are read as superuser: the card's own record rules still apply)."""
        domain = super()._search_display_name(operator, value)
        if operator in ("ilike", "=ilike", "=", "like") and isinstance(value, str) and value:
            holders = (
                self.env["hr.employee"]
                .sudo()
                ._search(["|", ("name", operator, value), ("employee_no", operator, value)])
            )
            domain = ["|", *domain, ("employee_id", "in", holders)]
        return domain

    def _compute_claim_id(self):
        waiting = (
            self.env["canteen.card.replacement"]
            .sudo()
            .search(
                [
                    ("state", "=", "waiting"),
                    "|",
                    ("old_card_id", "in", self.ids),
                    ("new_card_id", "in", self.ids),
                ]
            )
        )
        for card in self:
            claim = waiting.filtered(lambda r, c=card: c in (r.old_card_id | r.new_card_id))[:1]
            card.claim_id = claim
            card.claim_amount = claim.amount_total
            card.claim_currency_id = claim.currency_id
            card.claimable_at = claim.claimable_at

    @api.depends("employee_id")
    def _compute_card_type_id(self):
        for card in self.filtered(lambda c: not c.card_type_id):
            card.card_type_id = card.employee_id.card_type_id

    @api.depends("company_id")
    def _compute_root_company_id(self):
        for card in self:
            card.root_company_id = card.company_id.sudo().root_id

    @api.depends("issue_date", "card_type_id.validity_years")
    def _compute_expiry_date(self):
        for card in self:
            years = card.card_type_id.validity_years
            card.expiry_date = (
                card.issue_date + relativedelta(years=years) if years and card.issue_date else False
            )

    def init(self):
        # A UID identifies one live card in a company tree; one person holds one live card.
        self.env.cr.execute("DROP INDEX IF EXISTS canteen_card_live_uid_uniq")
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS canteen_card_live_uid_tree_uniq ON canteen_card "
                "(root_company_id, uid) WHERE state IN %s",
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
            clash = (
                self.sudo()
                .with_context(active_test=False)
                .search_count(
                    [
                        ("id", "!=", card.id),
                        ("state", "in", LIVE_STATES),
                        "|",
                        "&",
                        ("root_company_id", "=", card.root_company_id.id),
                        ("uid", "=", card.uid),
                        ("employee_id", "=", card.employee_id.id),
                    ]
                )
            )
            if clash:
                raise ValidationError(
                    self.env._(
                        "Card %(uid)s: the UID is already used by a live card of this company group, or "
                        "%(person)s already holds a live card.",
                        uid=card.uid,
                        person=card.employee_id.name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        """Superuser only (canteen.protected.mixin): the card desk issues cards through
        `_issue`, which checks the caller. `list_reason` in a card's values (not a field) is the
        reason of its whitelist change, "issue" by default."""
        reasons = [vals.pop("list_reason", "issue") for vals in vals_list]
        for vals in vals_list:
            if vals.get("kind") == "virtual" and not vals.get("uid"):
                vals["uid"] = self.env["ir.sequence"].next_by_code("canteen.card.virtual")
        cards = super().create(vals_list)
        cards._check_not_scrapped()
        self.env["canteen.ledger"]._ensure_wallets(cards.employee_id)
        for reason in dict.fromkeys(reasons):
            same = self.browse([card.id for card, r in zip(cards, reasons, strict=True) if r == reason])
            same._record_list_changes("whitelist.add", reason)
            if reason == "issue":
                self.env["canteen.operation.log"]._record("issue", same.employee_id, cards=same)
        return cards

    @api.model
    def _issue(self, vals_list):
        """Issue cards at the card desk: a card operator of the cardholders' companies."""
        employees = self.env["hr.employee"].browse([vals["employee_id"] for vals in vals_list])
        check_caller(self.env, OPERATOR, employees.company_id)
        return self.sudo().create(vals_list).with_env(self.env)

    def _set_state(self, state, reason=None, **extra):
        """The one way a card changes state; terminals learn it through a list change. Callers
        have checked who asks: this writes as superuser."""
        changing = self.filtered(lambda card: card.state != state)
        if state == "cancelled":
            extra.setdefault("cancelled_at", fields.Datetime.now())
        self.sudo().write(dict(extra, state=state))
        # The unique indexes on live cards must see the new state before a new card is inserted.
        self.flush_recordset()
        if state in LIST_CHANGES:
            change, default_reason = LIST_CHANGES[state]
            changing._record_list_changes(change, reason or default_reason)

    def _check_operator(self):
        check_caller(self.env, OPERATOR, self.company_id)

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
        scrapped = self.sudo().search(
            [
                ("uid", "in", self.mapped("uid")),
                ("scrapped", "=", True),
                ("root_company_id", "in", self.root_company_id.ids),
            ]
        )
        taken = {(card.root_company_id.id, card.uid) for card in scrapped}
        clash = self.filtered(lambda c: (c.root_company_id.id, c.uid) in taken)
        if clash:
            raise ValidationError(
                self.env._("Card %(uid)s was scrapped and cannot be issued again.", uid=clash[0].uid)
            )

    def action_report_loss(self):
        self._check_operator()
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
        if len(self) == 1:
            message = self.env._(
                "Card %(uid)s of %(person)s is blocked since %(time)s: terminals refuse it. Replace it, "
                "or unblock it if it is found.",
                uid=self.uid,
                person=self.employee_id.name,
                time=user_datetime(self.env, self.lost_at),
            )
        else:
            message = self.env._("%(count)s cards are blocked: terminals refuse them.", count=len(self))
        return notification(message, title=self.env._("Card Reported Lost"), kind="warning")

    def action_unblock(self):
        self._check_operator()
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
        self._check_operator()
        for card in self:
            if card.state not in ("replaced", "cancelled"):
                raise UserError(
                    self.env._(
                        "Only a replaced or cancelled card can be scrapped; %(uid)s is %(state)s.",
                        uid=card.uid,
                        state=card._state_label(),
                    )
                )
        self.sudo().write({"scrapped": True})
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
