from datetime import timedelta

from odoo import Command, api, fields, models
from odoo.tools import SQL

from ..tools.ledger_core import CONSUMPTION_KINDS


class CanteenClearing(models.Model):
    """What one merchant's customers spent from one wallet kind on one day, booked as one
    journal entry: the wallet liability is debited, the merchant's account credited."""

    _name = "canteen.clearing"
    _inherit = ["canteen.protected.mixin"]
    _description = "Merchant Clearing"
    _order = "date desc, id desc"
    _check_company_auto = True

    name = fields.Char(compute="_compute_name", store=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    merchant_id = fields.Many2one(
        "canteen.merchant", required=True, readonly=True, index=True, check_company=True
    )
    date = fields.Date(
        required=True, readonly=True, help="The day of the consumption, in the company's time zone."
    )
    wallet_kind = fields.Selection([("cash", "Cash"), ("subsidy", "Subsidy")], required=True, readonly=True)
    amount = fields.Monetary(readonly=True, help="Consumption cleared: charges less corrections.")
    entry_count = fields.Integer(readonly=True)
    move_id = fields.Many2one("account.move", string="Journal Entry", readonly=True, check_company=True)
    entry_ids = fields.One2many("canteen.ledger.entry", "clearing_id", string="Ledger Entries", readonly=True)

    @api.depends("merchant_id", "date", "wallet_kind")
    def _compute_name(self):
        for clearing in self:
            clearing.name = f"{clearing.merchant_id.name} {clearing.date} {clearing.wallet_kind}"

    @api.model
    def _run(self, companies=None, until=None):
        """Clear every uncleared consumption entry of these companies up to `until` (a day,
        inclusive; default yesterday): one journal entry per company, merchant, day and wallet kind."""
        companies = companies or self.env["res.company"].search([])  # pylint: disable=no-search-all
        clearings = self.browse()
        for company in companies:
            clearings |= self._run_company(
                company, until or fields.Date.context_today(self) - timedelta(days=1)
            )
        return clearings

    def _run_company(self, company, until):
        # One clearing run per company at a time; a concurrent one waits and then finds nothing.
        self.env.cr.execute(SQL("SELECT pg_advisory_xact_lock(%s, %s)", 7301, company.id))
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT merchant_id, (date AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date AS day, wallet_kind,
                       array_agg(id ORDER BY id), -SUM(amount)
                  FROM canteen_ledger_entry
                 WHERE company_id = %(company)s AND clearing_id IS NULL AND merchant_id IS NOT NULL
                   AND kind IN %(kinds)s
                   AND (date AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date <= %(until)s
                 GROUP BY 1, 2, 3
                 ORDER BY 2, 1, 3
                """,
                tz=company._canteen_timezone(),
                company=company.id,
                kinds=CONSUMPTION_KINDS,
                until=until,
            )
        )
        clearings = self.browse()
        for merchant_id, day, wallet_kind, entry_ids, amount in self.env.cr.fetchall():
            clearing = self.create(
                {
                    "company_id": company.id,
                    "merchant_id": merchant_id,
                    "date": day,
                    "wallet_kind": wallet_kind,
                    "amount": amount,
                    "entry_count": len(entry_ids),
                }
            )
            clearing.move_id = clearing._book()
            # The one change the ledger's trigger allows: stamping uncleared entries once.
            self.env.cr.execute(
                SQL(
                    "UPDATE canteen_ledger_entry SET clearing_id = %s "
                    "WHERE id = ANY(%s) AND clearing_id IS NULL",
                    clearing.id,
                    entry_ids,
                )
            )
            clearings |= clearing
        self.env["canteen.ledger.entry"].invalidate_model(["clearing_id"])
        return clearings

    def _book(self):
        self.ensure_one()
        if self.currency_id.is_zero(self.amount):
            return self.env["account.move"]
        journal, liability = self.company_id._canteen_wallet_accounting(self.wallet_kind)
        amount = float(self.amount)
        label = self.env._("Clearing %(merchant)s %(day)s", merchant=self.merchant_id.name, day=self.date)
        lines = [
            {"account_id": liability.id, "name": label, "debit": max(amount, 0), "credit": max(-amount, 0)},
            {
                "account_id": self.merchant_id.account_id.id
                or self.company_id.canteen_merchant_account_id.id,
                "partner_id": self.merchant_id.partner_id.id,
                "name": label,
                "debit": max(-amount, 0),
                "credit": max(amount, 0),
            },
        ]
        move = (
            self.env["account.move"]
            .sudo()
            .create(
                {
                    "move_type": "entry",
                    "journal_id": journal.id,
                    "company_id": self.company_id.id,
                    "date": self.date,
                    "ref": label,
                    "canteen_locked": True,
                    "line_ids": [Command.create(line) for line in lines],
                }
            )
        )
        move.action_post()
        return move

    @api.model
    def _cron_clear(self):
        self._run()
