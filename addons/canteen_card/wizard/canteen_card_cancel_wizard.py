from odoo import Command, api, fields, models


class CanteenCardCancelWizard(models.TransientModel):
    """Cancel cards (注销), one person at the desk or many at once (批量冻结注销, no-card
    cancellation of graduates and leavers): card cost, refund of the cash left, withdrawal of
    the subsidy, and optionally the resigned pool."""

    _name = "canteen.card.cancel.wizard"
    _inherit = ["canteen.amount.input.mixin"]
    _canteen_amount_fields = ("card_cost",)
    _description = "Cancel Cards"

    employee_ids = fields.Many2many("hr.employee", string="Cardholders", required=True)
    card_returned = fields.Boolean(
        default=True,
        help="The card is back at the desk and may be issued again. Unticked (no-card cancellation), "
        "the card is scrapped: its UID is never issued again.",
    )
    use_card_type_cost = fields.Boolean(
        string="Card Type's Card Cost",
        default=True,
        help="Charge each person the card cost of their card type.",
    )
    currency_id = fields.Many2one("res.currency", default=lambda self: self.env.company.currency_id)
    card_cost = fields.Monetary(help="Card cost charged to each person instead, at most the cash they have.")
    to_resigned_pool = fields.Boolean(string="Move to Resigned Pool")
    payment_journal_id = fields.Many2one(
        "account.journal",
        string="Cash or Bank Journal",
        domain="[('type', 'in', ('cash', 'bank'))]",
        help="Where the refunds are paid from. Empty: each company's default top-up journal.",
    )
    note = fields.Char()

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if self.env.context.get("active_model") == "hr.employee" and "employee_ids" in fields_list:
            values["employee_ids"] = [Command.set(self.env.context.get("active_ids", []))]
        return values

    def action_confirm(self):
        self.ensure_one()
        operations = self.employee_ids._canteen_cancel(
            card_cost=None if self.use_card_type_cost else self.card_cost,
            resign=self.to_resigned_pool,
            card_returned=self.card_returned,
            payment_journal=self.payment_journal_id,
            note=self.note,
        )
        return operations._action_open()
