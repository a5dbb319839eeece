import json
from collections import defaultdict
from decimal import Decimal

from odoo import fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.canteen_card.models.canteen_ledger_entry import MEAL_KIND_SELECTION
from odoo.addons.canteen_card.tools.ledger_core import CONSUMPTION_KINDS

ZERO = Decimal("0.00")
SUMMARY_KINDS = ("daily_meal", "person_meal", "department_meal", "daily_topup", "merchant_day", "person_bill")
# Details (明细): the entry kinds each one lists.
DETAIL_KINDS = {
    "detail_charge": ("charge", "correction"),
    "detail_topup": ("topup",),
    "detail_refund": ("refund",),
    "detail_card_cost": ("card_cost",),
    "detail_subsidy": ("subsidy_grant", "subsidy_expiry", "subsidy_withdrawal"),
    "detail_correction": ("correction",),
    # A balance parked at a card replacement and claimed later (old rows: "transfer").
    "detail_transfer": ("transfer", "claim_park", "claim_return"),
    # Every entry of a person's month, as the portal's monthly bill lists them.
    "detail_bill": None,
}
# The details' reference and note differ on every row: written inline, not as shared strings.
DETAIL_INLINE_COLUMNS = (11, 12)
TOPUP_KINDS = ("topup", "refund", "subsidy_grant", "subsidy_expiry", "subsidy_withdrawal")
# Rows of a details export fetched at a time from a server-side cursor: memory stays flat.
FETCH_ROWS = 20000


class CanteenReport(models.AbstractModel):
    """The report engine: every figure is a sum over `canteen.ledger.entry` rows, read through
    the ORM's search (the caller's record rules: a branch sees itself and below) and summed by
    PostgreSQL, grouped by the entries' business day, meal, merchant, department and wallet.
    There is no copy of the ledger that could drift (see docs/reports.md).

    `filters` is a dict: date_from, date_to (business days, inclusive), company_ids,
    department_id (and the departments below it), employee_id, card_id, merchant_ids,
    canteen_ids (the canteens' merchants: a canteen takes its payments through its merchant),
    terminal_id, meal_kind, operator_id.
    """

    _name = "canteen.report"
    _description = "Canteen Report Engine"

    # ------------------------------------------------------------------------------------------
    # the query
    # ------------------------------------------------------------------------------------------
    def _domain(self, filters, kinds):
        if not filters.get("date_from") or not filters.get("date_to"):
            raise UserError(self.env._("Choose the first and the last day of the report."))
        if filters["date_from"] > filters["date_to"]:
            raise UserError(self.env._("The report's first day is after its last day."))
        # the ledger's one definition of a period (the portal's bill cuts its months with it too)
        domain = self.env["canteen.ledger.entry"]._period_domain(filters["date_from"], filters["date_to"])
        if kinds is not None:  # None: every kind of entry
            domain.append(("kind", "in", list(kinds)))
        optional = {
            "company_ids": ("company_id", "child_of"),
            "department_id": ("department_id", "child_of"),
            "employee_id": ("employee_id", "="),
            "card_id": ("card_id", "="),
            "merchant_ids": ("merchant_id", "in"),
            "canteen_ids": ("merchant_id", "in"),
            "terminal_id": ("terminal_id", "="),
            "meal_kind": ("meal_kind", "="),
            "operator_id": ("create_uid", "="),
        }
        for key, (field_name, operator) in optional.items():
            if filters.get(key):
                domain.append((field_name, operator, filters[key]))
        return domain

    def _query(self, filters, kinds):
        """(FROM, WHERE) of the entries the report covers, with the caller's record rules."""
        query = self.env["canteen.ledger.entry"]._search(self._domain(filters, kinds))
        return query.from_clause, query.where_clause or SQL("TRUE")

    def _grouped(self, filters, kinds, keys, extra_from=None):
        """[(key values..., charges, amount as Decimal)] of the entries grouped by `keys` (SQL
        expressions on the table alias canteen_ledger_entry)."""
        from_clause, where_clause = self._query(filters, kinds)
        extra_from = extra_from or SQL()
        groupby = SQL(", ").join(keys)
        self.env.cr.execute(
            SQL(
                "SELECT %s, SUM(canteen_ledger_entry.charge_count), SUM(canteen_ledger_entry.amount)::text "
                "FROM %s %s WHERE %s GROUP BY %s ORDER BY %s",
                groupby,
                from_clause,
                extra_from,
                where_clause,
                groupby,
                groupby,
            )
        )
        return [(*row[:-2], int(row[-2] or 0), Decimal(row[-1])) for row in self.env.cr.fetchall()]

    def _names(self, model, ids):
        """{id: display name} of records the report's rows name (rows the caller may read)."""
        ids = [i for i in set(ids) if i]
        records = self.env[model].sudo().with_context(active_test=False).browse(ids)
        return {record.id: record.display_name for record in records}

    def _meal_labels(self):
        """The meals as column headers, in the report's own words (早餐, 午餐, 晚餐, 夜宵)."""
        labels = {
            "breakfast": self.env._("Breakfast"),
            "lunch": self.env._("Lunch"),
            "dinner": self.env._("Dinner"),
            "late_night": self.env._("Late Night"),
        }
        return [(kind, labels[kind]) for kind, _label in MEAL_KIND_SELECTION]

    # ------------------------------------------------------------------------------------------
    # summaries
    # ------------------------------------------------------------------------------------------
    def _summary(self, kind, filters):
        """The summary `kind` as a table: {title, keys: [labels], groups: [(label, [labels])],
        money: [bool per value column], rows: [(key values, value columns)], totals}."""
        if kind not in SUMMARY_KINDS:
            raise UserError(self.env._("Unknown report."))
        return getattr(self, f"_summary_{kind}")(filters)

    def _meal_table(self, title, keys, grouped, key_of):
        """Rows of `keys` (key_of(row) -> tuple of labels) with, for each meal (and "Other" for
        charges without one, at a shop), the count and the cash and subsidy consumed, then the
        totals. `grouped` rows: (*key ids, meal_kind, wallet_kind, count, amount)."""
        meals = self._meal_labels()
        if any(row[-4] is None for row in grouped):
            meals.append((None, self.env._("Other")))
        index = {meal: position for position, (meal, _label) in enumerate(meals)}
        width = 3 * len(meals) + 4
        rows = defaultdict(lambda: [0, ZERO, ZERO] * len(meals) + [0, ZERO, ZERO, ZERO])
        for row in grouped:
            *key, meal, wallet, count, amount = row
            values = rows[key_of(key)]
            consumed = -amount  # consumption is what left the wallets
            base = 3 * index[meal]
            wallet_column = 1 if wallet == "cash" else 2
            values[base] += count
            values[base + wallet_column] += consumed
            values[width - 4] += count
            values[width - 4 + wallet_column] += consumed
            values[width - 1] += consumed
        cash, subsidy = self.env._("Cash"), self.env._("Subsidy")
        count = self.env._("Count")
        groups = [(label, [count, cash, subsidy]) for _meal, label in meals]
        groups.append((self.env._("Total"), [count, cash, subsidy, self.env._("Amount")]))
        money = [column % 3 != 0 for column in range(3 * len(meals))] + [False, True, True, True]
        return self._as_table(title, keys, groups, money, sorted(rows.items()))

    def _as_table(self, title, keys, groups, money, rows):
        totals = [
            sum((values[column] for _key, values in rows), 0 if not is_money else ZERO)
            for column, is_money in enumerate(money)
        ]
        return {
            "title": title,
            "keys": keys,
            "groups": groups,
            "money": money,
            "rows": [(list(key), values) for key, values in rows],
            "totals": totals,
            "total_label": self.env._("Grand Total"),
        }

    def _summary_daily_meal(self, filters):
        grouped = self._grouped(
            filters,
            CONSUMPTION_KINDS,
            [
                SQL("canteen_ledger_entry.business_date"),
                SQL("canteen_ledger_entry.merchant_id"),
                SQL("canteen_ledger_entry.meal_kind"),
                SQL("canteen_ledger_entry.wallet_kind"),
            ],
        )
        merchants = self._names("canteen.merchant", [row[1] for row in grouped])
        return self._meal_table(
            self.env._("Daily Consumption by Meal"),
            [self.env._("Date"), self.env._("Merchant")],
            grouped,
            lambda key: (fields.Date.to_string(key[0]), merchants.get(key[1], "")),
        )

    def _summary_person_meal(self, filters):
        grouped = self._grouped(
            filters,
            CONSUMPTION_KINDS,
            [
                SQL("canteen_ledger_entry.employee_id"),
                SQL("canteen_ledger_entry.meal_kind"),
                SQL("canteen_ledger_entry.wallet_kind"),
            ],
        )
        people = self._people({row[0] for row in grouped})
        return self._meal_table(
            self.env._("Consumption per Person and Meal"),
            [self.env._("Employee Number"), self.env._("Name"), self.env._("Department")],
            grouped,
            lambda key: people.get(key[0], ("", "", "")),
        )

    def _summary_department_meal(self, filters):
        grouped = self._grouped(
            filters,
            CONSUMPTION_KINDS,
            [
                SQL("canteen_ledger_entry.department_id"),
                SQL("canteen_ledger_entry.meal_kind"),
                SQL("canteen_ledger_entry.wallet_kind"),
            ],
        )
        departments = self._names("hr.department", [row[0] for row in grouped])
        return self._meal_table(
            self.env._("Consumption per Department and Meal"),
            [self.env._("Department")],
            grouped,
            lambda key: (departments.get(key[0], self.env._("No department")),),
        )

    def _summary_daily_topup(self, filters):
        """Per day and payment journal: cash topped up and refunded, subsidy granted and expired."""
        grouped = self._grouped(
            filters,
            TOPUP_KINDS,
            [
                SQL("canteen_ledger_entry.business_date"),
                SQL("canteen_report_operation.payment_journal_id"),
                SQL("canteen_ledger_entry.kind"),
                SQL("canteen_ledger_entry.wallet_kind"),
            ],
            SQL(
                "LEFT JOIN canteen_operation canteen_report_operation "
                "ON canteen_report_operation.id = canteen_ledger_entry.operation_id"
            ),
        )
        journals = self._names("account.journal", [row[1] for row in grouped])
        columns = {
            ("topup", "cash"): 0,
            ("refund", "cash"): 1,
            ("topup", "subsidy"): 2,
            ("refund", "subsidy"): 3,
            ("subsidy_grant", "subsidy"): 4,
            ("subsidy_expiry", "subsidy"): 5,
            ("subsidy_withdrawal", "subsidy"): 5,  # taken back at a card cancellation
        }
        rows = defaultdict(lambda: [ZERO] * 8)
        for day, journal, kind, wallet, _count, amount in grouped:
            values = rows[(fields.Date.to_string(day), journals.get(journal, ""))]
            column = columns.get((kind, wallet))
            if column is not None:
                values[column] += abs(amount)
            values[6 if wallet == "cash" else 7] += amount
        groups = [
            (self.env._("Cash"), [self.env._("Top-ups"), self.env._("Refunds")]),
            (
                self.env._("Subsidy"),
                [
                    self.env._("Top-ups"),
                    self.env._("Refunds"),
                    self.env._("Granted"),
                    self.env._("Expired or Withdrawn"),
                ],
            ),
            (self.env._("Net"), [self.env._("Cash"), self.env._("Subsidy")]),
        ]
        return self._as_table(
            self.env._("Daily Top-ups"),
            [self.env._("Date"), self.env._("Payment Journal")],
            groups,
            [True] * 8,
            sorted(rows.items()),
        )

    def _summary_merchant_day(self, filters):
        """Per merchant and day: charges (count, amount), cleared, not yet cleared, and the
        clearing journal entries."""
        grouped = self._grouped(
            filters,
            CONSUMPTION_KINDS,
            [
                SQL("canteen_ledger_entry.merchant_id"),
                SQL("canteen_ledger_entry.business_date"),
                SQL("canteen_report_clearing.move_id"),
            ],
            SQL(
                "LEFT JOIN canteen_clearing canteen_report_clearing "
                "ON canteen_report_clearing.id = canteen_ledger_entry.clearing_id"
            ),
        )
        merchants = self._names("canteen.merchant", [row[0] for row in grouped])
        moves = self._names("account.move", [row[2] for row in grouped])
        rows, entries = defaultdict(lambda: [0, ZERO, ZERO, ZERO]), defaultdict(list)
        for merchant, day, move, count, amount in grouped:
            key = (merchants.get(merchant, ""), fields.Date.to_string(day))
            values = rows[key]
            values[0] += count
            values[1] -= amount
            values[2 if move else 3] -= amount
            if move:
                entries[key].append(moves.get(move, ""))
        table = self._as_table(
            self.env._("Merchant Reconciliation"),
            [self.env._("Merchant"), self.env._("Date"), self.env._("Clearing Entries")],
            [
                (self.env._("Charges"), [self.env._("Count"), self.env._("Amount")]),
                (self.env._("Clearing"), [self.env._("Cleared"), self.env._("Not Cleared")]),
            ],
            [False, True, True, True],
            sorted(rows.items()),
        )
        table["rows"] = [
            ([*key, ", ".join(sorted(entries[tuple(key)]))], values) for key, values in table["rows"]
        ]
        return table

    def _summary_person_bill(self, filters):
        """Per person, the monthly bill the portal shows: every entry of the period (top-ups,
        grants, charges, refunds, corrections, card costs...), what came into and what went out of
        each wallet, the charges counted and the net."""
        grouped = self._grouped(
            filters,
            None,
            [
                SQL("canteen_ledger_entry.employee_id"),
                SQL("canteen_ledger_entry.wallet_kind"),
                SQL("canteen_ledger_entry.amount > 0"),
            ],
        )
        people = self._people({row[0] for row in grouped})
        rows = defaultdict(lambda: [0, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO])
        for employee, wallet, incoming, count, amount in grouped:
            values = rows[people.get(employee, ("", "", ""))]
            values[0] += count
            base = 1 if wallet == "cash" else 3
            if incoming:
                values[base] += amount
                values[5] += amount
            else:
                values[base + 1] -= amount
                values[6] -= amount
            values[7] += amount
        received, spent = self.env._("Received"), self.env._("Spent")
        return self._as_table(
            self.env._("Monthly Bill per Person"),
            [self.env._("Employee Number"), self.env._("Name"), self.env._("Department")],
            [
                (self.env._("Charges"), [self.env._("Count")]),
                (self.env._("Cash"), [received, spent]),
                (self.env._("Subsidy"), [received, spent]),
                (self.env._("Total"), [received, spent, self.env._("Net")]),
            ],
            [False] + [True] * 7,
            sorted(rows.items()),
        )

    def _people(self, employee_ids):
        """{employee id: (number, name, department)} of the people a report's rows name."""
        return {
            employee.id: (
                employee.employee_no or "",
                employee.name or "",
                employee.department_id.display_name or "",
            )
            for employee in self.env["hr.employee"]
            .sudo()
            .with_context(active_test=False)
            .browse(employee_ids)
        }

    # ------------------------------------------------------------------------------------------
    # details
    # ------------------------------------------------------------------------------------------
    def _detail_headers(self):
        return [
            self.env._("Date"),
            self.env._("Business Day"),
            self.env._("Employee Number"),
            self.env._("Name"),
            self.env._("Department"),
            self.env._("Kind"),
            self.env._("Wallet"),
            self.env._("Merchant"),
            self.env._("Meal"),
            self.env._("Terminal"),
            self.env._("Card"),
            self.env._("Reference"),
            self.env._("Note"),
            self.env._("Amount"),
            self.env._("Balance After"),
        ]

    def _detail_count(self, kind, filters):
        from_clause, where_clause = self._query(filters, DETAIL_KINDS[kind])
        self.env.cr.execute(SQL("SELECT COUNT(*) FROM %s WHERE %s", from_clause, where_clause))
        return self.env.cr.fetchone()[0]

    def _detail_rows(self, kind, filters):
        """Yield batches of detail rows in date order, read through a server-side cursor so a
        month of charges never sits in memory at once. PostgreSQL makes every cell: the moment
        and the business day as Excel serial numbers (text), the names joined in, the kinds,
        wallets and meals as labels, the amount and the balance after as decimal text. Python
        only passes the rows on (a month is 800,000 rows: per-row work in Python is what made
        the export slow)."""
        if kind not in DETAIL_KINDS:
            raise UserError(self.env._("Unknown report."))
        from_clause, where_clause = self._query(filters, DETAIL_KINDS[kind])
        Entry = self.env["canteen.ledger.entry"]
        labels = {
            name: dict(Entry._fields[name]._description_selection(self.env))
            for name in ("kind", "wallet_kind", "meal_kind")
        }
        cr = self.env.cr
        cr.execute(
            SQL(
                """DECLARE canteen_report_details NO SCROLL CURSOR FOR
                   SELECT round((EXTRACT(EPOCH FROM canteen_ledger_entry.date AT TIME ZONE 'UTC'
                                                    AT TIME ZONE %(tz)s) / 86400 + 25569)::numeric,
                                8)::text,
                          (canteen_ledger_entry.business_date - DATE '1899-12-30')::text,
                          COALESCE(report_employee.employee_no, ''), COALESCE(report_employee.name, ''),
                          COALESCE(report_department.complete_name, ''),
                          COALESCE(%(kinds)s::jsonb ->> canteen_ledger_entry.kind::text, ''),
                          COALESCE(%(wallets)s::jsonb ->> canteen_ledger_entry.wallet_kind::text, ''),
                          COALESCE(report_merchant.name, ''),
                          COALESCE(%(meals)s::jsonb ->> canteen_ledger_entry.meal_kind::text, ''),
                          COALESCE(report_terminal.name, ''), COALESCE(report_card.uid, ''),
                          COALESCE(canteen_ledger_entry.transaction_ref,
                                   canteen_ledger_entry.terminal_ref, ''),
                          COALESCE(canteen_ledger_entry.note, ''),
                          canteen_ledger_entry.amount::text, canteen_ledger_entry.balance_after::text
                     FROM %(from)s
                     LEFT JOIN hr_employee report_employee
                            ON report_employee.id = canteen_ledger_entry.employee_id
                     LEFT JOIN hr_department report_department
                            ON report_department.id = canteen_ledger_entry.department_id
                     LEFT JOIN canteen_merchant report_merchant
                            ON report_merchant.id = canteen_ledger_entry.merchant_id
                     LEFT JOIN canteen_terminal report_terminal
                            ON report_terminal.id = canteen_ledger_entry.terminal_id
                     LEFT JOIN canteen_card report_card ON report_card.id = canteen_ledger_entry.card_id
                    WHERE %(where)s
                    ORDER BY canteen_ledger_entry.business_date, canteen_ledger_entry.date,
                             canteen_ledger_entry.id""",
                tz=self.env.user.tz or "Asia/Shanghai",
                kinds=json.dumps(labels["kind"]),
                wallets=json.dumps(labels["wallet_kind"]),
                meals=json.dumps(labels["meal_kind"]),
                **{"from": from_clause, "where": where_clause},
            )
        )
        try:
            while True:
                cr.execute(SQL("FETCH FORWARD %s FROM canteen_report_details", FETCH_ROWS))
                batch = cr.fetchall()
                if not batch:
                    break
                yield batch
        finally:
            cr.execute("CLOSE canteen_report_details")
