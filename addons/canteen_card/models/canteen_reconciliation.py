from odoo import api, fields, models
from odoo.tools import SQL

from ..tools.ledger_core import CONSUMPTION_KINDS

LINE_KIND_SELECTION = [
    ("cash", "Cash Wallets"),
    ("subsidy", "Subsidy Wallets"),
    ("claim", "Balances Awaiting Claim"),
    ("card_cost", "Card Costs"),
    ("subsidy_expense", "Subsidy Expense"),
]
# The ledger entry kinds behind each line, for the drill-down (wallet lines: every entry of
# the wallet kind).
LINE_ENTRY_KINDS = {
    "claim": ["transfer", "claim_park", "claim_return"],
    "card_cost": ["card_cost"],
    "subsidy_expense": ["subsidy_grant", "subsidy_expiry", "subsidy_withdrawal"],
}


class CanteenReconciliation(models.Model):
    """Per company, every account the suite posts to against its sub-ledger.

    - wallet liabilities (cash, subsidy): balances = sum of ledger entries = liability account
      balance - consumption not yet cleared;
    - balances awaiting claim: the claim account = what waiting replacements hold parked =
      the transfer entries;
    - card costs: the card cost account = the card cost entries;
    - subsidy expense: the expense account = the subsidy grant, expiry and withdrawal entries.
    Both differences are zero when the books are right; a row drills down to the ledger entries
    and the journal items behind it.
    """

    _name = "canteen.reconciliation"
    _description = "Wallet Reconciliation"
    _auto = False
    _order = "company_id, id"  # the lines in the order of LINE_KIND_SELECTION

    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    line_kind = fields.Selection(
        LINE_KIND_SELECTION, string="Account Of", readonly=True, help="Which account and sub-ledger."
    )
    wallet_kind = fields.Selection(
        [("cash", "Cash"), ("subsidy", "Subsidy")],
        readonly=True,
        help="Empty for lines that are not wallets.",
    )
    liability_account_id = fields.Many2one("account.account", string="Account", readonly=True)
    balance_total = fields.Monetary(
        string="Sub-ledger",
        readonly=True,
        help="Wallet balances; the amounts waiting replacements hold parked; the entries of the kind.",
    )
    subledger_count = fields.Integer(
        string="Count",
        readonly=True,
        aggregator=None,
        help="Wallets holding money; replacements whose old card balance waits for its claim.",
    )
    check_rule = fields.Char(
        string="What Must Agree", compute="_compute_check_rule", help="How the row is checked."
    )
    entry_total = fields.Monetary(
        string="Ledger Entries", readonly=True, help="What the ledger entries behind the line add up to."
    )
    liability_balance = fields.Monetary(
        string="Account Balance",
        readonly=True,
        help="Posted journal items of the account in the company (credit minus debit; debit minus "
        "credit for the subsidy expense).",
    )
    uncleared_total = fields.Monetary(
        string="Consumption Not Cleared", readonly=True, help="Wallet lines only."
    )
    entry_difference = fields.Monetary(
        readonly=True,
        help="Ledger entries minus the sub-ledger: 0 unless a balance or a replacement was changed "
        "outside the ledger.",
    )
    difference = fields.Monetary(
        readonly=True,
        help="Account balance minus consumption not yet cleared minus the sub-ledger: must be 0.",
    )

    def init(self):
        self.env.cr.execute(SQL("DROP VIEW IF EXISTS %s", SQL.identifier(self._table)))
        self.env.cr.execute(
            SQL(
                """
                CREATE VIEW %(table)s AS
                WITH lines(kind, sign, seq) AS (
                    VALUES ('cash', 1, 1), ('subsidy', 1, 2), ('claim', 1, 3), ('card_cost', 1, 4),
                           ('subsidy_expense', -1, 5)
                ),
                balances AS (
                    SELECT company_id, kind, SUM(balance) AS total,
                           COUNT(*) FILTER (WHERE balance != 0) AS count
                      FROM canteen_wallet GROUP BY 1, 2
                ),
                entries AS (
                    SELECT company_id, wallet_kind AS kind, SUM(amount) AS total,
                           -SUM(amount) FILTER (WHERE clearing_id IS NULL AND kind IN %(consumption)s
                                                AND merchant_id IS NOT NULL) AS uncleared
                      FROM canteen_ledger_entry GROUP BY 1, 2
                    UNION ALL
                    SELECT company_id, 'claim', -SUM(amount), 0
                      FROM canteen_ledger_entry WHERE kind IN %(claim_kinds)s GROUP BY 1
                    UNION ALL
                    SELECT company_id, 'card_cost', -SUM(amount), 0
                      FROM canteen_ledger_entry WHERE kind = 'card_cost' GROUP BY 1
                    UNION ALL
                    SELECT company_id, 'subsidy_expense', SUM(amount), 0
                      FROM canteen_ledger_entry WHERE kind IN %(subsidy_kinds)s GROUP BY 1
                ),
                subledgers AS (
                    SELECT company_id, kind, total, count FROM balances
                    UNION ALL
                    SELECT company_id, 'claim', SUM(COALESCE(cash_amount, 0) + COALESCE(subsidy_amount, 0)),
                           COUNT(*)
                      FROM canteen_card_replacement WHERE state = 'waiting' GROUP BY 1
                ),
                accounts AS (
                    SELECT c.id AS company_id, l.kind, l.sign, l.seq,
                           CASE l.kind WHEN 'cash' THEN c.canteen_cash_liability_account_id
                                       WHEN 'subsidy' THEN c.canteen_subsidy_liability_account_id
                                       WHEN 'claim' THEN c.canteen_claim_account_id
                                       WHEN 'card_cost' THEN c.canteen_card_cost_account_id
                                       ELSE c.canteen_subsidy_expense_account_id END AS account_id
                      FROM res_company c CROSS JOIN lines l
                ),
                books AS (
                    SELECT a.company_id, a.kind, a.sign * SUM(l.credit - l.debit) AS total
                      FROM accounts a
                      JOIN account_move_line l ON l.account_id = a.account_id AND l.company_id = a.company_id
                     WHERE l.parent_state = 'posted'
                     GROUP BY a.company_id, a.kind, a.sign
                )
                SELECT row_number() OVER (ORDER BY a.company_id, a.seq) AS id,
                       a.company_id, c.currency_id, a.kind AS line_kind,
                       CASE WHEN a.kind IN ('cash', 'subsidy') THEN a.kind END AS wallet_kind,
                       a.account_id AS liability_account_id,
                       COALESCE(s.total, CASE WHEN a.kind IN ('card_cost', 'subsidy_expense')
                                              THEN e.total END, 0) AS balance_total,
                       s.count AS subledger_count,
                       COALESCE(e.total, 0) AS entry_total,
                       COALESCE(b.total, 0) AS liability_balance,
                       COALESCE(e.uncleared, 0) AS uncleared_total,
                       COALESCE(e.total, 0)
                           - COALESCE(s.total, CASE WHEN a.kind IN ('card_cost', 'subsidy_expense')
                                                    THEN e.total END, 0) AS entry_difference,
                       COALESCE(b.total, 0) - COALESCE(e.uncleared, 0)
                           - COALESCE(s.total, CASE WHEN a.kind IN ('card_cost', 'subsidy_expense')
                                                    THEN e.total END, 0) AS difference
                  FROM accounts a
                  JOIN res_company c ON c.id = a.company_id
                  LEFT JOIN subledgers s ON s.company_id = a.company_id AND s.kind = a.kind
                  LEFT JOIN entries e ON e.company_id = a.company_id AND e.kind = a.kind
                  LEFT JOIN books b ON b.company_id = a.company_id AND b.kind = a.kind
                """,
                table=SQL.identifier(self._table),
                consumption=CONSUMPTION_KINDS,
                claim_kinds=tuple(LINE_ENTRY_KINDS["claim"]),
                subsidy_kinds=tuple(LINE_ENTRY_KINDS["subsidy_expense"]),
            )
        )

    @api.depends("line_kind")
    def _compute_check_rule(self):
        rules = {
            "cash": self.env._(
                "Wallet balances = ledger entries = account balance − consumption not cleared"
            ),
            "subsidy": self.env._(
                "Wallet balances = ledger entries = account balance − consumption not cleared"
            ),
            "claim": self.env._(
                "Amounts parked by waiting replacements = parked minus claimed entries = account"
            ),
            "card_cost": self.env._("Card cost entries = income account"),
            "subsidy_expense": self.env._("Subsidy granted less withdrawn and expired = expense account"),
        }
        for row in self:
            row.check_rule = rules.get(row.line_kind, "")

    @api.model
    def _differences(self, companies=None):
        """{(company, line kind): (entry difference, difference)} for rows that are not zero."""
        self.env.flush_all()
        domain = [("company_id", "in", companies.ids)] if companies else []
        rows = self.search(domain)
        return {
            (row.company_id.name, row.line_kind): (row.entry_difference, row.difference)
            for row in rows
            if not (row.currency_id.is_zero(row.entry_difference) and row.currency_id.is_zero(row.difference))
        }

    def action_view_entries(self):
        """The ledger entries behind the row."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("canteen_card.canteen_ledger_entry_action")
        domain = [("company_id", "=", self.company_id.id)]
        if self.wallet_kind:
            domain.append(("wallet_kind", "=", self.wallet_kind))
        else:
            domain.append(("kind", "in", LINE_ENTRY_KINDS[self.line_kind]))
        action.update(domain=domain, context={})
        return action

    def action_view_difference_items(self):
        """What explains a difference on the account side: journal items of the row's account that
        the canteen ledger did not post (an accountant's manual entry, a reversal), in any state,
        and items of the ledger's entries that are not posted."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Journal Items Outside the Ledger"),
            "res_model": "account.move.line",
            "view_mode": "list,form",
            "domain": [
                ("account_id", "=", self.liability_account_id.id),
                ("company_id", "=", self.company_id.id),
                "|",
                ("move_id.canteen_locked", "=", False),
                ("parent_state", "!=", "posted"),
            ],
            "context": {"search_default_group_by_move": 1},
        }

    def action_view_unbooked_entries(self):
        """What explains a difference on the ledger side: ledger entries of the row whose desk
        operation or clearing has no posted journal entry."""
        self.ensure_one()
        self.env.flush_all()
        kind_filter = (
            SQL("e.wallet_kind = %s", self.wallet_kind)
            if self.wallet_kind
            else SQL("e.kind IN %s", tuple(LINE_ENTRY_KINDS[self.line_kind]))
        )
        self.env.cr.execute(
            SQL(
                """
                SELECT e.id
                  FROM canteen_ledger_entry e
                  LEFT JOIN canteen_operation o ON o.id = e.operation_id
                  LEFT JOIN canteen_clearing c ON c.id = e.clearing_id
                  LEFT JOIN account_move m ON m.id = COALESCE(c.move_id, o.move_id)
                 WHERE e.company_id = %s AND %s AND e.amount != 0
                   AND (e.operation_id IS NOT NULL OR e.clearing_id IS NOT NULL)
                   AND (m.id IS NULL OR m.state != 'posted')
                """,
                self.company_id.id,
                kind_filter,
            )
        )
        entry_ids = [row[0] for row in self.env.cr.fetchall()]
        action = self.env["ir.actions.act_window"]._for_xml_id("canteen_card.canteen_ledger_entry_action")
        action.update(
            name=self.env._("Ledger Entries Not Booked"), domain=[("id", "in", entry_ids)], context={}
        )
        return action

    def action_view_journal_items(self):
        """The posted journal items of the row's account in its company."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Journal Items"),
            "res_model": "account.move.line",
            "view_mode": "list,form",
            "domain": [
                ("account_id", "=", self.liability_account_id.id),
                ("company_id", "=", self.company_id.id),
                ("parent_state", "=", "posted"),
            ],
            "context": {"search_default_group_by_move": 1},
        }
