from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import delivery_sql
from .canteen_terminal_command import NOTIFY_CHANNEL


class CanteenCardListChange(models.Model):
    """A list change is stored once, for the card's company: every terminal of that company or
    of a parent reads it by long poll (tools/delivery.py), at its delivery position."""

    _inherit = "canteen.card.list.change"

    position = fields.Integer(
        string="Delivery Position",
        readonly=True,
        copy=False,
        aggregator=None,
        help="Given when the change's transaction commits, in commit order: terminals read the changes "
        "after their cursor by this position, so a change committed late is never skipped.",
    )

    def init(self):
        result = super().init()
        self.env.cr.execute(delivery_sql.FUNCTIONS)
        self.env.cr.execute(delivery_sql.TABLE_SETUP.format(table=self._table))
        self.env.cr.execute(delivery_sql.LIST_CHANGE_INDEXES)
        return result

    @api.model_create_multi
    def create(self, vals_list):
        changes = super().create(vals_list)
        if changes:
            # Delivered at commit: a poll never wakes for a change it cannot see.
            self.env.cr.execute(SQL("SELECT pg_notify(%s, '*')", NOTIFY_CHANNEL))
        return changes
