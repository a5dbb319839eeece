from odoo import fields, models


class CanteenClearing(models.Model):
    _inherit = "canteen.clearing"

    settlement_id = fields.Many2one(
        "canteen.settlement",
        readonly=True,
        index="btree_not_null",
        copy=False,
        help="The merchant statement that settled this clearing; set once by the settlement run.",
    )
