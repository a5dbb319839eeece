from odoo import api, models


class CanteenCardListChange(models.Model):
    _inherit = "canteen.card.list.change"

    @api.model_create_multi
    def create(self, vals_list):
        changes = super().create(vals_list)
        changes._queue_for_terminals()
        return changes

    def _queue_for_terminals(self):
        """Every enabled terminal serving the card's company (its own and its parents') gets the change."""
        Command = self.env["canteen.terminal.command"]
        vals_list = []
        for company in self.company_id:
            terminals = Command._terminals_for_company(company)
            for change in self.filtered(lambda c, co=company: c.company_id == co):
                payload = {"uid": change.uid, "reason": change.reason}
                vals_list += [
                    {"terminal_id": t.id, "type": change.change, "payload": payload} for t in terminals
                ]
        return Command._enqueue_many(vals_list)
