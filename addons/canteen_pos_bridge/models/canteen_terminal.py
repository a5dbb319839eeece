import secrets
from datetime import timedelta

import pytz

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from odoo.addons.canteen_card.tools import ledger_core
from odoo.addons.canteen_card.tools.access import check_caller

from ..tools import served_sql
from .canteen_terminal_command import NOTIFY_CHANNEL

MANAGER_GROUP = "canteen_pos_bridge.group_terminal_manager"
# How long list changes and done commands are kept; the highest position purged so far.
RETENTION_PARAM = "canteen_pos_bridge.list_retention_days"
PURGED_PARAM = "canteen_pos_bridge.purged_position"

# A terminal long-polls for at most this many seconds; three missed windows mean offline.
POLL_WINDOW_SECONDS = 55
OFFLINE_AFTER = timedelta(seconds=3 * POLL_WINDOW_SECONDS)
MODE_SELECTION = [
    ("free", "Free amount"),
    ("fixed", "Fixed amount"),
    ("count", "Count"),
    ("menu", "Menu"),
]


class CanteenTerminal(models.Model):
    _name = "canteen.terminal"
    _description = "Canteen Terminal"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "company_id, number"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    number = fields.Integer(
        required=True, help="Terminal number shown on the device, 1 to 999, unique per company."
    )
    serial = fields.Char(
        string="Serial Number", required=True, copy=False, help="The device's serial number, unique."
    )
    kind = fields.Selection(
        [
            ("card", "Card reader"),
            ("face", "Face terminal"),
            ("kiosk", "Self-service kiosk"),
            ("cashier", "Backend cashier"),
        ],
        required=True,
        default="card",
        help="Backend cashier: the virtual terminal of one user at one device, made by the cashier "
        "wizard so that its charges have their own sequence numbers; the bridge refuses it.",
    )
    cashier_user_id = fields.Many2one(
        "res.users",
        string="Cashier",
        readonly=True,
        help="The user whose backend charges this terminal records.",
    )
    device_id = fields.Many2one(
        "canteen.terminal",
        string="Charges For",
        readonly=True,
        help="The device whose merchant, mode and rules the cashier's charges use.",
    )
    mode = fields.Selection(MODE_SELECTION, required=True, default="free", tracking=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    merchant_id = fields.Many2one("canteen.merchant", check_company=True, tracking=True)
    location = fields.Char(help="Canteen, floor or counter where the terminal stands.")
    fixed_amount = fields.Monetary(
        help="Amount of a meal in fixed mode when the meal period has none of its own."
    )
    fixed_amount_ids = fields.One2many("canteen.terminal.fixed.amount", "terminal_id", string="Fixed Amounts")
    same_card_interval = fields.Integer(
        string="Same-card Interval (s)",
        default=3,
        help="The device ignores the same card again within this time.",
    )
    enabled = fields.Boolean(
        default=True, tracking=True, help="A disabled terminal is refused by the bridge."
    )
    active = fields.Boolean(default=True)
    secret = fields.Char(copy=False, groups="base.group_system", help="HMAC key shared with the device.")
    secret_shown = fields.Boolean(
        readonly=True, copy=False, help="The secret is shown once; then only rotated."
    )
    last_seen = fields.Datetime(readonly=True, help="Last request the bridge received from the terminal.")
    online_state = fields.Selection(
        [("online", "Online"), ("offline", "Offline"), ("never", "Never seen")],
        compute="_compute_online_state",
    )
    list_cursor = fields.Integer(
        string="Cursor",
        readonly=True,
        aggregator=None,
        help="The delivery position the terminal has received up to: the long-poll cursor it last sent.",
    )
    acked_position = fields.Integer(
        string="Acknowledged Up To",
        readonly=True,
        aggregator=None,
        help="The highest position it acknowledged.",
    )
    last_poll = fields.Datetime(readonly=True, help="When the terminal's cursor last moved on.")
    last_ack = fields.Datetime(string="Last Acknowledged", readonly=True)
    list_behind = fields.Integer(
        string="Changes Behind",
        compute="_compute_list_behind",
        help="List changes of the cards it serves and own commands after its cursor, not yet received. "
        "0 while its whole list is due (it never polled, or a full list was requested): its next "
        "poll gets the whole list instead of the changes.",
    )
    list_reset = fields.Boolean(
        string="Full List Requested",
        readonly=True,
        copy=False,
        help="The next poll gets the whole list again (a snapshot, in pages), then the changes after it.",
    )
    snapshot_base = fields.Integer(
        readonly=True,
        copy=False,
        aggregator=None,
        help="While the terminal downloads its whole list: the position the snapshot stands at.",
    )
    snapshot_after = fields.Integer(
        readonly=True,
        copy=False,
        aggregator=None,
        help="While the terminal downloads its whole list: the last card sent (pages go by card id).",
    )
    topup_amounts = fields.Char(
        string="Top-up Amounts",
        help="Self-service kiosks: the amounts a person may top up, separated by commas, e.g. "
        "50,100,200. The bridge declines any other amount.",
    )
    topup_journal_id = fields.Many2one(
        "account.journal",
        string="Top-up Journal",
        check_company=True,
        domain="[('type', 'in', ('cash', 'bank'))]",
        help="Self-service kiosks: the cash or bank journal the money put in the kiosk is booked to.",
    )
    attendance_point = fields.Boolean(
        help="Each identification the terminal reports as attendance is a check-in or a check-out "
        "(with the Attendances app).",
    )
    command_ids = fields.One2many("canteen.terminal.command", "terminal_id", string="Commands")
    failure_ids = fields.One2many("canteen.terminal.failure", "terminal_id", string="Failures")

    _sql_constraints = [
        ("serial_uniq", "unique (serial)", "A terminal serial number must be unique."),
    ]

    def init(self):
        # Device numbers are unique per company; a cashier's virtual terminal borrows its device's.
        self.env.cr.execute(
            "ALTER TABLE canteen_terminal DROP CONSTRAINT IF EXISTS canteen_terminal_number_company_uniq"
        )
        self.env.cr.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS canteen_terminal_device_number_uniq "
            "ON canteen_terminal (company_id, number) WHERE kind != 'cashier'"
        )

    @api.constrains("number", "company_id", "kind")
    def _check_number(self):
        for terminal in self.filtered(lambda t: t.kind != "cashier"):
            if self.sudo().search_count(
                [
                    ("id", "!=", terminal.id),
                    ("company_id", "=", terminal.company_id.id),
                    ("number", "=", terminal.number),
                    ("kind", "!=", "cashier"),
                ]
            ):
                raise ValidationError(
                    self.env._(
                        "A terminal number must be unique per company: %(number)s is taken.",
                        number=terminal.number,
                    )
                )
            if not 1 <= terminal.number <= 999:
                raise ValidationError(
                    self.env._("Terminal number %(number)s is outside 1 to 999.", number=terminal.number)
                )

    @api.constrains("topup_amounts", "topup_journal_id", "company_id")
    def _check_topup_settings(self):
        for terminal in self:
            if terminal.topup_amounts:
                terminal._topup_amount_list()
            journal = terminal.topup_journal_id
            if journal and (
                journal.type not in ("cash", "bank") or journal.company_id != terminal.company_id
            ):
                raise ValidationError(
                    self.env._(
                        "The top-up journal of %(terminal)s must be a cash or bank journal of %(company)s.",
                        terminal=terminal.name,
                        company=terminal.company_id.name,
                    )
                )

    def _topup_amount_list(self):
        """The kiosk's top-up amounts as Decimals; ValidationError when one is not an amount."""
        self.ensure_one()
        amounts = []
        for part in (self.topup_amounts or "").split(","):
            try:
                amounts.append(ledger_core.to_amount(part.strip()))
            except ledger_core.LedgerError as error:
                raise ValidationError(
                    self.env._(
                        "Top-up amounts are positive amounts separated by commas, e.g. 50,100,200: "
                        "%(part)s is not one.",
                        part=part.strip() or '""',
                    )
                ) from error
        return amounts

    @api.depends("last_seen")
    def _compute_online_state(self):
        now = fields.Datetime.now()
        for terminal in self:
            if not terminal.last_seen:
                terminal.online_state = "never"
            else:
                terminal.online_state = "online" if now - terminal.last_seen <= OFFLINE_AFTER else "offline"

    def _compute_list_behind(self):
        self.env.flush_all()
        for terminal in self:
            if not terminal.id or not terminal.list_cursor or terminal.list_reset:
                terminal.list_behind = 0  # a snapshot is due, not the changes
                continue
            self.env.cr.execute(
                served_sql.BEHIND, {"cursor": terminal.list_cursor or 0, "terminal": terminal.id}
            )
            terminal.list_behind = self.env.cr.fetchone()[0]

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            vals["secret"] = self._new_secret()
        return super().create(vals_list)

    def write(self, vals):
        if not {"merchant_id", "company_id"} & set(vals):
            return super().write(vals)
        # Another merchant or company: the terminal may serve other companies' cards now.
        before = self._canteen_served_company_ids()
        result = super().write(vals)
        self._canteen_served_changed(before)
        return result

    @api.model
    def _new_secret(self):
        return secrets.token_hex(32)

    def _cashier_terminal(self, user):
        """The virtual terminal of `user` charging at this device (made on first use): backend
        charges get their own idempotency space, never a device's sequence numbers."""
        self.ensure_one()
        serial = f"CASHIER-{self.id}-{user.id}"
        Terminal = self.sudo().with_context(active_test=False)
        terminal = Terminal.search([("serial", "=", serial)], limit=1)
        return terminal or Terminal.create(
            {
                "name": self.env._("%(user)s at %(device)s", user=user.name, device=self.name),
                "number": self.number,
                "serial": serial,
                "kind": "cashier",
                "mode": self.mode,
                "company_id": self.company_id.id,
                "merchant_id": self.merchant_id.id,
                "enabled": False,
                "cashier_user_id": user.id,
                "device_id": self.id,
            }
        )

    def action_show_secret(self):
        """Show the secret generated at registration, once."""
        self.ensure_one()
        if self.secret_shown:
            raise UserError(self.env._("The secret was shown already; rotate it to get a new one."))
        self.secret_shown = True
        return self._action_show_secret(self.sudo().secret)

    # Cards served ---------------------------------------------------------------------------
    def _canteen_served_company_ids(self):
        """{terminal id: set of company ids}: the companies whose cards (and faces) each terminal
        serves, read in SQL by the rule the bridge uses (tools/served_sql.py)."""
        served = {terminal_id: set() for terminal_id in self.ids}
        if not served:
            return served
        self.env.flush_all()
        self.env.cr.execute(served_sql.TERMINALS_COMPANIES, [list(served)])
        for terminal_id, company_id in self.env.cr.fetchall():
            served[terminal_id].add(company_id)
        return served

    def _canteen_served_changed(self, before):
        """After a change of which companies' cards these terminals serve (`before`, from
        _canteen_served_company_ids): each terminal whose companies changed reloads its whole
        list at its next poll (as with Resend Full List: a snapshot, starting with list.reset),
        woken now; _canteen_on_served_change tells the rest (faces). Returns {terminal: (company
        ids added, company ids removed)}."""
        after = self._canteen_served_company_ids()
        changed = {}
        for terminal in self.sudo().filtered(lambda t: t.kind != "cashier"):
            old, new = before.get(terminal.id, set()), after.get(terminal.id, set())
            if old != new:
                changed[terminal] = (new - old, old - new)
        if changed:
            terminals = self.sudo().browse([terminal.id for terminal in changed])
            terminals.write({"list_reset": True})
            self.env.cr.execute(
                SQL("SELECT pg_notify(%s, %s)", NOTIFY_CHANNEL, ",".join(map(str, sorted(terminals.ids))))
            )
            self._canteen_on_served_change(changed)
        return changed

    def _canteen_on_served_change(self, changed):
        """Hook: {terminal: (company ids added, company ids removed)} whose cards it now serves or
        no longer serves (canteen_face sends or deletes their faces)."""
        return changed

    def action_resend_list(self):
        """Send the whole list again: the terminal's next poll gets a snapshot, then the changes."""
        check_caller(self.env, MANAGER_GROUP, self.company_id)
        self.sudo().write({"list_reset": True})
        self.env.cr.execute(SQL("SELECT pg_notify(%s, %s)", NOTIFY_CHANNEL, ",".join(map(str, self.ids))))
        return True

    @api.model
    def _cron_purge_delivered(self):
        """Forget list changes and done commands older than the retention days; a terminal whose
        cursor is older than what is kept gets a snapshot at its next poll."""
        days = int(self.env["ir.config_parameter"].sudo().get_param(RETENTION_PARAM, 30))
        self.env.cr.execute(
            SQL(
                """
                WITH gone AS (
                    DELETE FROM canteen_card_list_change
                     WHERE create_date < (now() AT TIME ZONE 'UTC') - make_interval(days => %(days)s)
                       AND position IS NOT NULL
                    RETURNING position
                )
                SELECT MAX(position) FROM gone
                """,
                days=days,
            )
        )
        purged = self.env.cr.fetchone()[0]
        if purged:
            Param = self.env["ir.config_parameter"].sudo()
            Param.set_param(PURGED_PARAM, max(purged, int(Param.get_param(PURGED_PARAM, 0))))
        self.env.cr.execute(
            SQL(
                "DELETE FROM canteen_terminal_command WHERE state = 'done' "
                "AND create_date < (now() AT TIME ZONE 'UTC') - make_interval(days => %s)",
                days,
            )
        )
        return purged

    def action_rotate_secret(self):
        """Give the terminal a new secret and show it once."""
        self.ensure_one()
        secret = self._new_secret()
        self.sudo().write({"secret": secret, "secret_shown": True})
        return self._action_show_secret(secret)

    def _action_show_secret(self, secret):
        wizard = self.env["canteen.terminal.secret.wizard"].create({"terminal_id": self.id, "secret": secret})
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Terminal Secret"),
            "res_model": wizard._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }

    @api.model
    def _cron_alert_silent_terminals(self):
        """Schedule an activity on enabled terminals silent for 5 minutes during working hours."""
        now = fields.Datetime.now()
        silent = self.search(
            [
                ("enabled", "=", True),
                ("last_seen", "!=", False),
                ("last_seen", "<", now - timedelta(minutes=5)),
            ]
        )
        activity_type = self.env.ref("mail.mail_activity_data_warning", raise_if_not_found=False)
        for terminal in silent.filtered(lambda t: t._in_working_hours(now)):
            if terminal.activity_ids.filtered(lambda a: a.activity_type_id == activity_type):
                continue
            terminal.activity_schedule(
                activity_type_id=activity_type.id if activity_type else False,
                summary=self.env._("Terminal %(name)s is silent", name=terminal.name),
                note=self.env._("No request since %(time)s.", time=terminal.last_seen),
                user_id=terminal.company_id.canteen_terminal_alert_user_id.id
                or self.env.ref("base.user_admin").id,
            )
        return silent

    def _in_working_hours(self, when):
        calendar = self.company_id.resource_calendar_id
        if not calendar:
            return True
        utc = fields.Datetime.to_datetime(when).replace(tzinfo=pytz.utc)
        intervals = calendar._work_intervals_batch(utc - timedelta(minutes=1), utc + timedelta(minutes=1))[
            False
        ]
        return bool(list(intervals))
