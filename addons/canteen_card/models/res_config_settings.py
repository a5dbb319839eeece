from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    canteen_spend_cash_first = fields.Boolean(related="company_id.canteen_spend_cash_first", readonly=False)
    canteen_cash_journal_id = fields.Many2one(related="company_id.canteen_cash_journal_id", readonly=False)
    canteen_subsidy_journal_id = fields.Many2one(
        related="company_id.canteen_subsidy_journal_id", readonly=False
    )
    canteen_cash_liability_account_id = fields.Many2one(
        related="company_id.canteen_cash_liability_account_id", readonly=False
    )
    canteen_subsidy_liability_account_id = fields.Many2one(
        related="company_id.canteen_subsidy_liability_account_id", readonly=False
    )
    canteen_subsidy_expense_account_id = fields.Many2one(
        related="company_id.canteen_subsidy_expense_account_id", readonly=False
    )
    canteen_merchant_account_id = fields.Many2one(
        related="company_id.canteen_merchant_account_id", readonly=False
    )
    canteen_payment_journal_id = fields.Many2one(
        related="company_id.canteen_payment_journal_id", readonly=False
    )
    canteen_card_cost_account_id = fields.Many2one(
        related="company_id.canteen_card_cost_account_id", readonly=False
    )
    canteen_claim_account_id = fields.Many2one(related="company_id.canteen_claim_account_id", readonly=False)
    canteen_grey_wait_days = fields.Integer(related="company_id.canteen_grey_wait_days", readonly=False)
    canteen_correction_hours = fields.Integer(related="company_id.canteen_correction_hours", readonly=False)
    canteen_correction_manager_hours = fields.Integer(
        related="company_id.canteen_correction_manager_hours", readonly=False
    )
    canteen_cards_at_parent = fields.Boolean(related="company_id.canteen_cards_at_parent", readonly=False)
    canteen_cards_at_siblings = fields.Boolean(related="company_id.canteen_cards_at_siblings", readonly=False)
    canteen_cards_at_branches = fields.Boolean(related="company_id.canteen_cards_at_branches", readonly=False)
    canteen_ic_payable_account_id = fields.Many2one(
        related="company_id.canteen_ic_payable_account_id", readonly=False
    )
    canteen_ic_receivable_account_id = fields.Many2one(
        related="company_id.canteen_ic_receivable_account_id", readonly=False
    )
