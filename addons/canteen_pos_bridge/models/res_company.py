from odoo import fields, models

# The settings that say where a company's cards are accepted (canteen_card's res.company).
ACCEPTANCE_FIELDS = ("canteen_cards_at_parent", "canteen_cards_at_siblings", "canteen_cards_at_branches")


class ResCompany(models.Model):
    _inherit = "res.company"

    canteen_dedup_window = fields.Integer(
        string="Deduplication Window (s)",
        default=60,
        help="The same person charged again within this time by an automatic terminal (fixed or "
        "count mode, face auto-charge) of the same merchant is approved without a second charge. "
        "A cashier-entered or menu amount is never deduplicated.",
    )
    canteen_offline_max_days = fields.Integer(
        string="Offline Records Accepted For (days)",
        default=7,
        help="An offline record older than this is rejected (invalid_time); none may be dated in the "
        "future beyond the 300 s clock window.",
    )
    canteen_terminal_alert_user_id = fields.Many2one(
        "res.users", string="Terminal Alerts To", help="Who gets an activity when a terminal falls silent."
    )

    def write(self, vals):
        if not any(name in vals for name in ACCEPTANCE_FIELDS):
            return super().write(vals)
        # Where these companies' cards are accepted changes which cards terminals of their
        # groups serve: those affected reload their lists (canteen.terminal._canteen_served_changed).
        terminals = (
            self.env["canteen.terminal"]
            .sudo()
            .with_context(active_test=False)
            .search([("company_id", "child_of", self.sudo().root_id.ids), ("kind", "!=", "cashier")])
        )
        before = terminals._canteen_served_company_ids()
        result = super().write(vals)
        terminals._canteen_served_changed(before)
        return result

    def _canteen_served_companies(self):
        """The companies whose cards (and faces) are served at this company: those of its group
        whose settings accept their cards at its merchants (_canteen_accepts_cards_at; its own,
        always). What a terminal of this company at one of its own merchants serves
        (tools/served_sql.py, the same rule in SQL)."""
        self.ensure_one()
        company = self.sudo()
        group = company.search([("id", "child_of", company.root_id.id)])
        return group.filtered(lambda other: other._canteen_accepts_cards_at(company))
