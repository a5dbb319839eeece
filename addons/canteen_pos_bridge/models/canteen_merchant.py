from odoo import fields, models


class CanteenMerchant(models.Model):
    _inherit = "canteen.merchant"

    meal_period_ids = fields.One2many("canteen.meal.period", "merchant_id", string="Meal Periods")
    menu_item_ids = fields.One2many("canteen.menu.item", "merchant_id", string="Menu")
    terminal_ids = fields.One2many("canteen.terminal", "merchant_id", string="Terminals")

    def write(self, vals):
        if "company_id" not in vals:
            return super().write(vals)
        # The merchant's company decides which companies' cards its terminals accept (the
        # Cards Across the Group rule): those whose cards change reload their lists, and face
        # terminals get or lose the faces concerned, as when a terminal changes merchant.
        terminals = self.env["canteen.terminal"].sudo().with_context(active_test=False)
        terminals = terminals.search([("merchant_id", "in", self.ids)])
        before = terminals._canteen_served_company_ids()
        result = super().write(vals)
        terminals._canteen_served_changed(before)
        return result
