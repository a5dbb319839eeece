from odoo import api, fields, models
from odoo.tools import SQL

from ..tools.ledger_core import CONSUMPTION_KINDS


class CanteenReconciliation(models.Model):
    """Per company and wallet kind: do the wallets, the ledger and the books agree?

    balances = sum of ledger entries = liability account balance - consumption not yet cleared.
    Both differences are zero when the books are right.
    """

    _name = "canteen.reconciliation"
    _description = "Wallet Reconciliation"
    _auto = False
    _order = "company_id, wallet_kind"

    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    wallet_kind = fields.Selection([("cash", "Cash"), ("subsidy", "Subsidy")], readonly=True)
    liability_account_id = fields.Many2one("account.account", readonly=True)
    balance_total = fields.Monetary(string="Wallet Balances", readonly=True)
    entry_total = fields.Monetary(string="Ledger Entries", readonly=True)
    liability_balance = fields.Monetary(readonly=True)
    uncleared_total = fields.Monetary(string="Consumption Not Cleared", readonly=True)
    entry_difference = fields.Monetary(
        readonly=True,
        help="Ledger entries minus wallet balances: 0 unless a balance was changed outside the ledger.",
    )
    difference = fields.Monetary(
        readonly=True, help="Liability account minus uncleared consumption minus wallet balances: must be 0."
    )

    def init(self):
        self.env.cr.execute(SQL("DROP VIEW IF EXISTS %s", SQL.identifier(self._table)))
        self.env.cr.execute(
            SQL(
                """
                CREATE VIEW %(table)s AS
                WITH kinds(kind) AS (VALUES ('cash'), ('subsidy')),
                balances AS (
                    SELECT company_id, kind, SUM(balance) AS total FROM canteen_wallet GROUP BY 1, 2
                ),
                entries AS (
                    SELECT company_id, wallet_kind AS kind, SUM(amount) AS total,
                           -SUM(amount) FILTER (WHERE clearing_id IS NULL AND kind IN %(consumption)s
                                                AND merchant_id IS NOT NULL) AS uncleared
                      FROM canteen_ledger_entry GROUP BY 1, 2
                ),
                accounts AS (
                    SELECT c.id AS company_id, k.kind,
                           CASE k.kind WHEN 'cash' THEN c.canteen_cash_liability_account_id
                                       ELSE c.canteen_subsidy_liability_account_id END AS account_id
                      FROM res_company c CROSS JOIN kinds k
                ),
                liabilities AS (
                    SELECT a.company_id, a.kind, SUM(l.credit - l.debit) AS total
                      FROM accounts a
                      JOIN account_move_line l ON l.account_id = a.account_id AND l.company_id = a.company_id
                     WHERE l.parent_state = 'posted'
                     GROUP BY 1, 2
                )
                SELECT row_number() OVER (ORDER BY a.company_id, a.kind) AS id,
                       a.company_id, c.currency_id, a.kind AS wallet_kind,
                       a.account_id AS liability_account_id,
                       COALESCE(b.total, 0) AS balance_total,
                       COALESCE(e.total, 0) AS entry_total,
                       COALESCE(li.total, 0) AS liability_balance,
                       COALESCE(e.uncleared, 0) AS uncleared_total,
                       COALESCE(e.total, 0) - COALESCE(b.total, 0) AS entry_difference,
                       COALESCE(li.total, 0) - COALESCE(e.uncleared, 0) - COALESCE(b.total, 0) AS difference
                  FROM accounts a
                  JOIN res_company c ON c.id = a.company_id
                  LEFT JOIN balances b ON b.company_id = a.company_id AND b.kind = a.kind
                  LEFT JOIN entries e ON e.company_id = a.company_id AND e.kind = a.kind
                  LEFT JOIN liabilities li ON li.company_id = a.company_id AND li.kind = a.kind
                """,
                table=SQL.identifier(self._table),
                consumption=CONSUMPTION_KINDS,
            )
        )

    @api.model
    def _differences(self, companies=None):
        """{(company, wallet kind): (entry difference, difference)} for rows that are not zero."""
        self.env.flush_all()
        domain = [("company_id", "in", companies.ids)] if companies else []
        rows = self.search(domain)
        return {
            (row.company_id.name, row.wallet_kind): (row.entry_difference, row.difference)
            for row in rows
            if not (row.currency_id.is_zero(row.entry_difference) and row.currency_id.is_zero(row.difference))
        }
