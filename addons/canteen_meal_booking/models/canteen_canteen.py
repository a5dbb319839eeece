from odoo import fields, models


class CanteenCanteen(models.Model):
    _name = "canteen.canteen"
    _description = "Canteen"
    _order = "company_id, sequence, name"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    manager_ids = fields.Many2many(
        "res.users",
        string="Managers",
        check_company=True,
        help="Users who publish this canteen's menus and see its bookings.",
    )
    active = fields.Boolean(default=True)
