from datetime import timedelta

from odoo import Command, api, fields, models
from odoo.tools import SQL

from ..tools.ledger_core import CONSUMPTION_KINDS


class CanteenClearing(models.Model):
    """What one merchant's customers of one company spent from one wallet kind on one day,
    booked in the cardholders' company (the company of the wallets and of the clearing): the
    wallet liability is debited, the merchant's account credited.

    At a merchant of another company of the group (cards accepted across companies), the
    clearing posts in both companies: in the cardholders' company the wallet liability against
    the intercompany payable to the merchant's company, in the merchant's company the
    intercompany receivable from the cardholders' company against the merchant's account. Each
    company's entry balances on its own; the intercompany balances are netted and settled
    periodically (canteen_settlement)."""

    _name = "canteen.clearing"
    _inherit = ["canteen.protected.mixin"]
    _description = "Merchant Clearing"
    _order = "date desc, id desc"
    _check_company_auto = True

    name = fields.Char(compute="_compute_name", store=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    # Not check_company: the merchant may be another company's of the group (intercompany).
    merchant_id = fields.Many2one("canteen.merchant", required=True, readonly=True, index=True)
    merchant_company_id = fields.Many2one(
        "res.company",
        related="merchant_id.company_id",
        store=True,
        string="Merchant's Company",
        help="The company of the merchant; when it is not the clearing's company, the clearing is "
        "intercompany and posts in both companies.",
    )
    date = fields.Date(
        required=True, readonly=True, help="The day of the consumption, in the company's time zone."
    )
    wallet_kind = fields.Selection([("cash", "Cash"), ("subsidy", "Subsidy")], required=True, readonly=True)
    amount = fields.Monetary(readonly=True, help="Consumption cleared: charges less corrections.")
    entry_count = fields.Integer(readonly=True)
    move_id = fields.Many2one(
        "account.move",
        string="Journal Entry",
        readonly=True,
        check_company=True,
        help="The entry in the cardholders' company.",
    )
    merchant_move_id = fields.Many2one(
        "account.move",
        string="Merchant Company Entry",
        readonly=True,
        help="Intercompany clearings only: the entry in the merchant's company (intercompany "
        "receivable against the merchant's account).",
    )
    correction_move_id = fields.Many2one(
        "account.move",
        string="Intercompany Correction",
        readonly=True,
        check_company=True,
        help="Intercompany clearings made before clearings posted in both companies only: the entry in "
        "the cardholders' company that moved the amount from the merchant's account to the intercompany "
        "payable when the database was upgraded (the entry in the merchant's company is the Merchant "
        "Company Entry).",
    )
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
            clearing.move_id, clearing.merchant_move_id = clearing._book()
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
        """(entry in the clearing's company, entry in the merchant's company or nothing)."""
        self.ensure_one()
        Move = self.env["account.move"]
        if self.currency_id.is_zero(self.amount):
            return Move, Move
        company, merchant = self.company_id, self.merchant_id
        merchant_company = merchant.company_id
        journal, liability = company._canteen_wallet_accounting(self.wallet_kind)
        label = self.env._("Clearing %(merchant)s %(day)s", merchant=merchant.name, day=self.date)
        merchant_line = {
            "account_id": merchant.account_id.id or merchant_company.canteen_merchant_account_id.id,
            "partner_id": merchant.partner_id.id,
        }
        if merchant_company == company:
            return self._post(company, journal, label, {"account_id": liability.id}, merchant_line), Move
        # Intercompany: each company's entry balances on its own, the partners name each other.
        payable = company._canteen_intercompany_accounts()[0]
        receivable = merchant_company._canteen_intercompany_accounts()[1]
        merchant_journal = merchant_company._canteen_wallet_accounting(self.wallet_kind)[0]
        label = self.env._(
            "Intercompany clearing %(merchant)s %(day)s (cards of %(company)s)",
            merchant=merchant.name,
            day=self.date,
            company=company.name,
        )
        own = self._post(
            company,
            journal,
            label,
            {"account_id": liability.id},
            {"account_id": payable.id, "partner_id": merchant_company.partner_id.id},
        )
        theirs = self._post(
            merchant_company,
            merchant_journal,
            label,
            {"account_id": receivable.id, "partner_id": company.partner_id.id},
            merchant_line,
        )
        return own, theirs

    def _post(self, company, journal, label, debit_line, credit_line, *, date=None):
        """Post the clearing's amount in `company` on `date` (default the clearing's day): debited
        on `debit_line`'s account, credited on `credit_line`'s (the other way round for a negative
        amount)."""
        amount = float(self.amount)
        lines = [
            dict(debit_line, name=label, debit=max(amount, 0), credit=max(-amount, 0)),
            dict(credit_line, name=label, debit=max(-amount, 0), credit=max(amount, 0)),
        ]
        move = (
            self.env["account.move"]
            .sudo()
            .with_company(company)
            .create(
                {
                    "move_type": "entry",
                    "journal_id": journal.id,
                    "company_id": company.id,
                    "date": date or self.date,
                    "ref": label,
                    "canteen_locked": True,
                    "line_ids": [Command.create(line) for line in lines],
                }
            )
        )
        move.action_post()
        return move

    # upgrade of clearings made before intercompany clearing (migrations/18.0.1.1.0) ------------
    @api.model
    def _old_intercompany_clearings(self):
        """Clearings at another company's merchant booked the old way: one entry in the
        cardholders' company, wallet liability against the merchant's account, and nothing in the
        merchant's company (before clearings posted in both companies)."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT c.id
                  FROM canteen_clearing c
                  JOIN canteen_merchant m ON m.id = c.merchant_id
                 WHERE m.company_id != c.company_id
                   AND c.move_id IS NOT NULL
                   AND c.merchant_move_id IS NULL
                 ORDER BY c.id
                """
            )
        )
        return self.sudo().browse(row[0] for row in self.env.cr.fetchall())

    @api.model
    def _migrate_old_intercompany_clearings(self):
        """Give each old intercompany clearing the books a clearing gets today, by a correcting
        pair of entries dated on the clearing's day (or the first day after a lock date):

        - in the cardholders' company, the merchant's account that the old entry credited is
          debited back, against the intercompany payable to the merchant's company: with the old
          entry, wallet liability against intercompany payable, as today;
        - in the merchant's company, the entry it gets today: intercompany receivable from the
          cardholders' company against the merchant's account (the clearing's Merchant Company
          Entry), so that the merchant's statement settles it there once.

        Old clearings were never settled (a statement took only its own company's clearings).
        Idempotent: a clearing with a Merchant Company Entry is never taken again. Returns the
        clearings corrected."""
        clearings = self._old_intercompany_clearings()
        for clearing in clearings:
            clearing._correct_old_intercompany()
        return clearings

    def _correct_old_intercompany(self):
        self.ensure_one()
        self.env.cr.execute(SQL("SELECT id FROM canteen_clearing WHERE id = %s FOR UPDATE", self.id))
        self.invalidate_recordset(["merchant_move_id"])
        if self.merchant_move_id or ("settlement_id" in self._fields and self.settlement_id):
            return
        company, merchant_company = self.company_id, self.merchant_id.company_id
        sign = 1 if self.amount > 0 else -1
        # The old entry's merchant side: the line on the other side of the wallet liability.
        old_lines = self.move_id.line_ids.filtered(lambda line: line.balance * sign < 0)
        if len(old_lines) != 1:
            return  # not an entry of the old clearing: left alone, and found again by the check
        old = old_lines
        journal = company._canteen_wallet_accounting(self.wallet_kind)[0]
        merchant_journal = merchant_company._canteen_wallet_accounting(self.wallet_kind)[0]
        payable = company._canteen_intercompany_accounts()[0]
        receivable = merchant_company._canteen_intercompany_accounts()[1]
        label = self.env._(
            "Intercompany clearing %(merchant)s %(day)s (cards of %(company)s), correcting %(entry)s",
            merchant=self.merchant_id.name,
            day=self.date,
            company=company.name,
            entry=self.move_id.name,
        )
        own = self._post(
            company,
            journal,
            label,
            {"account_id": old.account_id.id, "partner_id": old.partner_id.id},
            {"account_id": payable.id, "partner_id": merchant_company.partner_id.id},
            date=self._open_date(company, journal),
        )
        theirs = self._post(
            merchant_company,
            merchant_journal,
            label,
            {"account_id": receivable.id, "partner_id": company.partner_id.id},
            {
                "account_id": self.merchant_id.account_id.id
                or merchant_company.canteen_merchant_account_id.id,
                "partner_id": self.merchant_id.partner_id.id,
            },
            date=self._open_date(merchant_company, merchant_journal),
        )
        self.write({"correction_move_id": own.id, "merchant_move_id": theirs.id})

    def _open_date(self, company, journal):
        """The clearing's day, or the first day after the company's lock date."""
        lock = company._get_user_fiscal_lock_date(journal)
        return max(self.date, lock + timedelta(days=1)) if lock else self.date

    @api.model
    def _cron_clear(self):
        self._run()
