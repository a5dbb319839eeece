from odoo import api, fields, models
from odoo.tools import SQL

from odoo.addons.canteen_card.tools.access import check_caller
from odoo.addons.canteen_card.tools.display import notification

from ..tools import delivery_sql, served_sql

COMMAND_TYPES = [
    ("blacklist.add", "Blacklist: add"),
    ("blacklist.remove", "Blacklist: remove"),
    ("whitelist.add", "Whitelist: add"),
    ("whitelist.remove", "Whitelist: remove"),
    ("params.update", "Parameters"),
    ("face.upsert", "Face: add or update"),
    ("face.delete", "Face: delete"),
    ("face.clear", "Face: clear"),
    ("time.sync", "Time sync"),
]
NOTIFY_CHANNEL = "canteen_terminal_command"
MANAGER_GROUP = "canteen_pos_bridge.group_terminal_manager"
# Payload keys that name what a command is about (a card, a person), shown in that order.
SUBJECT_KEYS = ("uid", "employee_no", "name")


class CanteenTerminalCommand(models.Model):
    """A command for one terminal (parameters, time sync, faces); black and white list changes
    are not copied here but read from canteen.card.list.change by every terminal of the tree.
    Both share the delivery position, the terminal's long-poll cursor (tools/delivery_sql.py)."""

    _name = "canteen.terminal.command"
    _inherit = ["canteen.protected.mixin"]
    _description = "Terminal Command"
    _order = "id"

    terminal_id = fields.Many2one("canteen.terminal", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="terminal_id.company_id", store=True)
    type = fields.Selection(COMMAND_TYPES, required=True)
    payload = fields.Json()
    state = fields.Selection(
        [("pending", "Pending"), ("delivered", "Delivered"), ("done", "Acknowledged"), ("failed", "Failed")],
        default="pending",
        required=True,
        index=True,
    )
    position = fields.Integer(
        string="Delivery Position",
        readonly=True,
        copy=False,
        aggregator=None,
        help="Given when the command's transaction commits, in commit order.",
    )
    delivered_at = fields.Datetime(readonly=True)
    acked_at = fields.Datetime(readonly=True)
    error = fields.Char(readonly=True)
    subject = fields.Char(
        string="About", compute="_compute_subject", help="The card or person the command is about."
    )

    @api.depends("type", "terminal_id")
    def _compute_display_name(self):
        labels = dict(self._fields["type"]._description_selection(self.env))
        for command in self:
            command.display_name = f"{labels.get(command.type, command.type or '')} #{command.id or ''}"

    @api.depends("payload")
    def _compute_subject(self):
        for command in self:
            payload = command.payload if isinstance(command.payload, dict) else {}
            command.subject = " ".join(str(payload[key]) for key in SUBJECT_KEYS if payload.get(key))

    def init(self):
        result = super().init()
        self.env.cr.execute(delivery_sql.FUNCTIONS)
        self.env.cr.execute(delivery_sql.TABLE_SETUP.format(table=self._table))
        self.env.cr.execute(delivery_sql.COMMAND_INDEXES)
        return result

    @api.model
    def _enqueue(self, terminals, command_type, payload):
        """Queue one command for each terminal and wake their long polls (after commit)."""
        return self._enqueue_many(
            [{"terminal_id": t.id, "type": command_type, "payload": payload} for t in terminals]
        )

    @api.model
    def _enqueue_many(self, vals_list):
        commands = self.sudo().create(vals_list)
        if commands:
            # pg_notify is delivered at commit: a poll never wakes for a command it cannot see.
            terminal_ids = ",".join(map(str, sorted(set(commands.terminal_id.ids))))
            self.env.cr.execute(SQL("SELECT pg_notify(%s, %s)", NOTIFY_CHANNEL, terminal_ids))
        return commands

    def action_resend(self):
        """Queue the commands again, as new commands with the same type and payload."""
        check_caller(self.env, MANAGER_GROUP, self.company_id)
        copies = self._enqueue_many(
            [{"terminal_id": c.terminal_id.id, "type": c.type, "payload": c.payload} for c in self.sudo()]
        )
        return notification(
            self.env._("%(count)s command(s) queued again.", count=len(copies)),
            title=self.env._("Commands Resent"),
        )

    @api.model
    def _terminals_for_company(self, company):
        """Enabled terminals that serve cardholders of `company`: its own and its parents', and
        those whose merchants its settings accept its cards at (tools/served_sql.py)."""
        self.env.flush_all()
        self.env.cr.execute(served_sql.TERMINALS_SERVING, [company.id])
        ids = [terminal_id for (terminal_id,) in self.env.cr.fetchall()]
        return self.env["canteen.terminal"].sudo().search([("id", "in", ids)])
