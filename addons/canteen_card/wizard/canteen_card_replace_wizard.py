from odoo import api, fields, models
from odoo.exceptions import UserError


class CanteenCardReplaceWizard(models.TransientModel):
    """Replace a lost card (补办新卡): the new card starts empty; the old balance is claimed
    after the grey-record waiting days (see canteen.card.replacement)."""

    _name = "canteen.card.replace.wizard"
    _inherit = ["canteen.amount.input.mixin"]
    _canteen_amount_fields = ("card_cost",)
    _description = "Replace a Lost Card"

    old_card_id = fields.Many2one(
        "canteen.card", string="Lost Card", required=True, domain="[('state', '=', 'lost')]"
    )
    employee_id = fields.Many2one(related="old_card_id.employee_id", string="Cardholder")
    kind = fields.Selection(
        [("physical", "Physical"), ("virtual", "Virtual")], required=True, default="physical"
    )
    uid = fields.Char(
        string="New Card UID", help="Read the new card on the desk reader. Virtual cards are numbered."
    )
    currency_id = fields.Many2one(related="old_card_id.company_id.currency_id")
    card_cost = fields.Monetary(
        compute="_compute_card_cost",
        store=True,
        readonly=False,
        help="Taken from the cash wallet for the new card. Defaults to the card type's card cost.",
    )

    @api.depends("old_card_id")
    def _compute_card_cost(self):
        for wizard in self:
            wizard.card_cost = wizard.old_card_id.card_type_id.card_cost

    def action_replace(self):
        self.ensure_one()
        uid = (self.uid or "").strip().upper()
        if self.kind == "physical" and not uid:
            raise UserError(self.env._("Read or type the UID of the new physical card."))
        replacement = self.env["canteen.card.replacement"]._replace(
            self.old_card_id, {"kind": self.kind, "uid": uid or False}, card_cost=self.card_cost
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": "canteen.card.replacement",
            "res_id": replacement.id,
            "view_mode": "form",
            "target": "current",
        }
