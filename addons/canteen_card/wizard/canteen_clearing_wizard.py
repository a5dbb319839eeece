from datetime import timedelta

from odoo import fields, models

from ..tools.access import FINANCE, check_caller


class CanteenClearingWizard(models.TransientModel):
    """Run the merchant clearing now, for the companies the user works in."""

    _name = "canteen.clearing.wizard"
    _description = "Run Merchant Clearing"

    until = fields.Date(
        string="Clear Up To",
        required=True,
        default=lambda self: fields.Date.context_today(self) - timedelta(days=1),
        help="Consumption of this day and before is cleared.",
    )

    def action_run(self):
        self.ensure_one()
        check_caller(self.env, FINANCE, self.env.companies)
        clearings = self.env["canteen.clearing"].sudo()._run(self.env.companies, self.until).sudo(False)
        action = self.env["ir.actions.act_window"]._for_xml_id("canteen_card.canteen_clearing_action")
        action["domain"] = [("id", "in", clearings.ids)]
        return action
