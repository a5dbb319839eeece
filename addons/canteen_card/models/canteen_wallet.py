from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import UserError

WALLET_KIND_SELECTION = [("cash", "Cash"), ("subsidy", "Subsidy")]


class CanteenWallet(models.Model):
    """One row per cardholder and wallet kind. Its balance changes only through the ledger
    service (tools/ledger_core.py), which writes it with SQL under a row lock."""

    _name = "canteen.wallet"
    _inherit = ["canteen.protected.mixin"]
    _description = "Wallet"
    _order = "employee_id, kind"
    _check_company_auto = True

    employee_id = fields.Many2one(
        "hr.employee", string="Cardholder", required=True, readonly=True, index=True, ondelete="restrict"
    )
    kind = fields.Selection(WALLET_KIND_SELECTION, required=True, readonly=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    currency_id = fields.Many2one("res.currency", required=True, readonly=True)
    balance = fields.Monetary(readonly=True, default=0.0)
    expiry_date = fields.Date(
        string="Subsidy Expires On",
        readonly=True,
        help="The subsidy left on this date is withdrawn by the daily expiry run.",
    )
    entry_ids = fields.One2many("canteen.ledger.entry", "wallet_id", string="Ledger Entries", readonly=True)

    _sql_constraints = [
        ("employee_kind_uniq", "unique (employee_id, kind)", "A cardholder has one wallet of each kind."),
    ]

    def init(self):
        # Every charge rewrites its wallets' rows. Room left on each page lets PostgreSQL put the
        # new version beside the old one (a HOT update: no new index entries, the old version
        # pruned in passing); on full pages each update moved the row and added to every index.
        self.env.cr.execute("ALTER TABLE canteen_wallet SET (fillfactor = 50)")

    @api.depends("employee_id", "kind")
    def _compute_display_name(self):
        labels = dict(self._fields["kind"]._description_selection(self.env))
        for wallet in self:
            wallet.display_name = f"{wallet.employee_id.name} - {labels.get(wallet.kind, '')}"

    def write(self, vals):
        # The balance is written by the ledger core only (in SQL); the expiry date by the desk
        # operations, as superuser after their checks (canteen.protected.mixin refuses others).
        if "balance" in vals:
            raise UserError(
                self.env._("Wallets change only through ledger operations (top-up, refund, charge).")
            )
        return super().write(vals)

    def unlink(self):  # pylint: disable=method-required-super
        raise UserError(self.env._("Wallets cannot be deleted; their history is kept."))

    def action_view_entries(self):
        action = self.env["ir.actions.act_window"]._for_xml_id("canteen_card.canteen_ledger_entry_action")
        action["domain"] = [("wallet_id", "in", self.ids)]
        return action

    @api.model
    def _cron_expire_subsidies(self):
        """Daily: withdraw what is left of subsidies whose expiry date has passed."""
        expired = self.search(
            [("kind", "=", "subsidy"), ("expiry_date", "<", fields.Date.context_today(self))]
        )
        ledger = self.env["canteen.ledger"]

        def apply(operation, employee):
            wallet = expired.filtered(lambda w: w.employee_id == employee)
            if wallet.balance > 0:
                ledger._debit(
                    employee,
                    "subsidy",
                    Decimal(str(wallet.balance)),
                    "subsidy_expiry",
                    operation=operation,
                    note=self.env._("Expired on %(date)s", date=wallet.expiry_date),
                )
            wallet.sudo().expiry_date = False

        return self.env["canteen.operation"]._perform("subsidy_expiry", "subsidy", expired.employee_id, apply)
