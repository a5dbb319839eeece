import contextlib
import operator as op
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from .canteen_wallet import WALLET_KIND_SELECTION

ENTRY_KIND_SELECTION = [
    ("topup", "Top-up"),
    ("refund", "Refund"),
    ("charge", "Charge"),
    ("subsidy_grant", "Subsidy Grant"),
    ("subsidy_expiry", "Subsidy Expiry"),
    ("correction", "Correction"),
    ("card_cost", "Card Cost"),
    ("transfer", "Transfer"),
    ("subsidy_withdrawal", "Subsidy Withdrawn"),
    ("claim_park", "Parked for Claim"),
    ("claim_return", "Old Card Balance Claimed"),
]
COMPARE = {">": op.gt, ">=": op.ge, "<": op.lt, "<=": op.le, "=": op.eq, "!=": op.ne}
# The meals of a day (餐别); canteen_pos_bridge's meal periods use the same keys.
MEAL_KIND_SELECTION = [
    ("breakfast", "Breakfast"),
    ("lunch", "Lunch"),
    ("dinner", "Dinner"),
    ("late_night", "Late Night"),
]


class CanteenLedgerEntry(models.Model):
    """An immutable movement of one wallet. Rows are inserted by the ledger core
    (tools/ledger_core.py) only; the database refuses to change or delete them, except for
    the clearing run stamping `clearing_id` once."""

    _name = "canteen.ledger.entry"
    _inherit = ["canteen.protected.mixin"]
    _description = "Ledger Entry"
    _order = "date desc, id desc"
    _rec_name = "id"

    date = fields.Datetime(required=True, readonly=True, index=True, help="When the money moved.")
    wallet_id = fields.Many2one(
        "canteen.wallet", required=True, readonly=True, index=True, ondelete="restrict"
    )
    wallet_kind = fields.Selection(WALLET_KIND_SELECTION, required=True, readonly=True)
    employee_id = fields.Many2one(
        "hr.employee", string="Cardholder", required=True, readonly=True, index=True, ondelete="restrict"
    )
    department_id = fields.Many2one(
        "hr.department", readonly=True, help="The cardholder's department when the money moved."
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    currency_id = fields.Many2one("res.currency", required=True, readonly=True)
    kind = fields.Selection(ENTRY_KIND_SELECTION, required=True, readonly=True, index=True)
    amount = fields.Monetary(
        required=True, readonly=True, help="Positive adds to the wallet, negative takes."
    )
    balance_after = fields.Monetary(required=True, readonly=True)
    overdraft = fields.Boolean(readonly=True, help="An offline record that took the wallet below its floor.")
    card_id = fields.Many2one("canteen.card", readonly=True, index="btree_not_null")
    merchant_id = fields.Many2one("canteen.merchant", readonly=True, index="btree_not_null")
    operation_id = fields.Many2one(
        "canteen.operation",
        readonly=True,
        index="btree_not_null",
        help="The desk operation this entry belongs to (top-up, refund, subsidy grant).",
    )
    move_id = fields.Many2one(related="operation_id.move_id", string="Journal Entry")
    transaction_ref = fields.Char(
        string="Transaction",
        readonly=True,
        index="btree_not_null",
        help="Terminal transaction id of a charge.",
    )
    terminal_ref = fields.Char(
        string="Terminal Number",
        readonly=True,
        help="The terminal a manual entry (补单) is recorded for, as typed at the card desk.",
    )
    correction_ids = fields.One2many(
        "canteen.ledger.entry", "related_entry_id", string="Corrections", readonly=True
    )
    related_entry_id = fields.Many2one(
        "canteen.ledger.entry",
        string="Corrects",
        readonly=True,
        index="btree_not_null",
        help="The charge this entry corrects.",
    )
    correctable_amount = fields.Monetary(
        string="Left to Correct",
        compute="_compute_correctable_amount",
        search="_search_correctable_amount",
        help="What corrections can still give back of a charge at a merchant: the amount charged "
        "less the corrections already made. 0 for a charge corrected in full and for other movements.",
    )
    clearing_id = fields.Many2one("canteen.clearing", readonly=True, index="btree_not_null")
    note = fields.Char(readonly=True)
    business_date = fields.Date(
        readonly=True,
        index=True,
        help="The local day the money moved: the terminal's day for a terminal charge, the "
        "company's day otherwise. Reports group by it.",
    )
    meal_kind = fields.Selection(
        MEAL_KIND_SELECTION,
        string="Meal",
        readonly=True,
        help="The meal of a charge (a correction: of the charge it corrects); empty at a shop "
        "without meal periods and for other movements.",
    )
    charge_count = fields.Integer(
        readonly=True,
        aggregator="sum",
        help="1 on the first entry of a charge, 0 otherwise: a charge paid from both wallets "
        "is two entries, and the sum of this column counts charges (meals).",
    )

    @api.depends("kind", "merchant_id", "amount", "correction_ids.amount")
    def _compute_correctable_amount(self):
        charges = self.filtered(lambda e: e.kind == "charge" and e.merchant_id and isinstance(e.id, int))
        corrected = dict(
            self.sudo()._read_group(
                [("related_entry_id", "in", charges.ids), ("kind", "=", "correction")],
                ["related_entry_id"],
                ["amount:sum"],
            )
        )
        for entry in self:
            rest = -entry.amount - corrected.get(entry, 0.0) if entry in charges else 0.0
            entry.correctable_amount = max(entry.currency_id.round(rest) if entry.currency_id else rest, 0.0)

    def _search_correctable_amount(self, operator, value):
        """Charges by what is left to correct, read from the corrections (few) rather than by
        computing every charge: a charge without corrections has its whole amount left."""
        comparisons = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "=": "=", "!=": "!="}
        if operator not in comparisons:
            raise UserError(self.env._("Charges cannot be searched by what is left to correct that way."))
        value = float(value or 0.0)
        corrected = SQL(
            "(SELECT related_entry_id FROM canteen_ledger_entry "
            "WHERE kind = 'correction' AND related_entry_id IS NOT NULL)"
        )
        matching = SQL(
            """(SELECT r.id FROM canteen_ledger_entry r
                  JOIN canteen_ledger_entry c ON c.related_entry_id = r.id AND c.kind = 'correction'
                 GROUP BY r.id, r.amount
                HAVING GREATEST(-r.amount - SUM(c.amount), 0) %s %s)""",
            SQL(operator),
            value,
        )
        charge = ["&", ("kind", "=", "charge"), ("merchant_id", "!=", False)]
        # A charge's amount is negative: "-amount > v" is "amount < -v".
        uncorrected = ["&", ("id", "not in", corrected), ("amount", comparisons[operator], -value)]
        domain = [*charge, "|", *uncorrected, ("id", "in", matching)]
        if COMPARE[operator](0.0, value):
            # Every other movement has nothing to correct (0).
            domain = ["|", "|", ("kind", "!=", "charge"), ("merchant_id", "=", False), *domain]
        return domain

    def init(self):
        # Immutability is enforced by PostgreSQL itself, whatever path a write takes.
        self.env.cr.execute(
            SQL(
                """
                CREATE OR REPLACE FUNCTION canteen_ledger_entry_immutable() RETURNS trigger AS $$
                BEGIN
                    IF TG_OP = 'DELETE' THEN
                        RAISE EXCEPTION 'canteen ledger entries cannot be deleted';
                    END IF;
                    IF OLD.clearing_id IS NOT NULL
                       OR (to_jsonb(NEW) - 'clearing_id' - 'write_date' - 'write_uid')
                          IS DISTINCT FROM (to_jsonb(OLD) - 'clearing_id' - 'write_date' - 'write_uid')
                    THEN
                        RAISE EXCEPTION 'canteen ledger entries cannot be changed';
                    END IF;
                    RETURN NEW;
                END;
                $$ LANGUAGE plpgsql;
                DROP TRIGGER IF EXISTS canteen_ledger_entry_immutable ON canteen_ledger_entry;
                CREATE TRIGGER canteen_ledger_entry_immutable
                    BEFORE UPDATE OR DELETE ON canteen_ledger_entry
                    FOR EACH ROW EXECUTE FUNCTION canteen_ledger_entry_immutable();
                """
            )
        )
        self._backfill_report_columns()

    def _backfill_report_columns(self):
        """Fill business_date, meal_kind and charge_count on entries written before they existed
        (once: the index on business_date finds the rows without one)."""
        cr = self.env.cr
        cr.execute("SELECT 1 FROM canteen_ledger_entry WHERE business_date IS NULL LIMIT 1")
        if not cr.fetchone():
            return
        meal = "NULL"
        cr.execute("SELECT to_regclass('canteen_transaction') IS NOT NULL")
        if cr.fetchone()[0]:
            meal = """(SELECT t.meal_kind FROM canteen_transaction t
                        WHERE t.name = e.transaction_ref ORDER BY t.id LIMIT 1)"""
        cr.execute(
            SQL(
                """
                ALTER TABLE canteen_ledger_entry DISABLE TRIGGER canteen_ledger_entry_immutable;
                UPDATE canteen_ledger_entry e
                   SET business_date = (e.date AT TIME ZONE 'UTC' AT TIME ZONE COALESCE(
                           (SELECT COALESCE(rc.tz, p.tz) FROM res_company c
                              JOIN res_partner p ON p.id = c.partner_id
                              LEFT JOIN resource_calendar rc ON rc.id = c.resource_calendar_id
                             WHERE c.id = e.company_id), 'Asia/Shanghai'))::date,
                       meal_kind = CASE WHEN e.kind = 'charge' AND e.transaction_ref IS NOT NULL
                                        THEN %s END,
                       charge_count = CASE WHEN e.kind = 'charge' AND NOT EXISTS (
                           SELECT 1 FROM canteen_ledger_entry o
                            WHERE o.kind = 'charge' AND o.employee_id = e.employee_id
                              AND o.date = e.date AND o.id < e.id) THEN 1 ELSE 0 END
                 WHERE e.business_date IS NULL;
                UPDATE canteen_ledger_entry e SET meal_kind = r.meal_kind
                  FROM canteen_ledger_entry r
                 WHERE e.kind = 'correction' AND e.meal_kind IS NULL AND r.id = e.related_entry_id
                   AND r.meal_kind IS NOT NULL;
                ALTER TABLE canteen_ledger_entry ENABLE TRIGGER canteen_ledger_entry_immutable;
                """,
                SQL(meal),
            )
        )

    @api.model
    def _period_domain(self, date_from, date_to):
        """The entries of the business days `date_from` to `date_to` (inclusive): the one
        definition of a period that the bills and the reports share. A period is cut at the local
        business day (`business_date`: the terminal's or the company's day), never at midnight
        UTC, so an entry at 01:00 on the 1st in Shanghai belongs to that month everywhere."""
        return [("business_date", ">=", date_from), ("business_date", "<=", date_to)]

    @api.model
    def _month_period(self, month, today):
        """The first and last business day of the month `month` ("YYYY-MM"); of the month of
        `today` when `month` is empty or not a month."""
        first = today.replace(day=1)
        if month:
            with contextlib.suppress(TypeError, ValueError):
                first = fields.Date.to_date(f"{month}-01")
        following = (first + timedelta(days=32)).replace(day=1)
        return first, following - timedelta(days=1)

    def action_correct(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Correct a Charge"),
            "res_model": "canteen.correction.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_entry_id": self.id},
        }

    @api.depends("kind", "amount")
    def _compute_display_name(self):
        labels = dict(self._fields["kind"]._description_selection(self.env))
        for entry in self:
            entry.display_name = f"#{entry.id} {labels.get(entry.kind, '')} {entry.amount:.2f}"

    @api.model_create_multi
    def create(self, vals_list):  # pylint: disable=method-required-super
        raise UserError(self.env._("Ledger entries are written by ledger operations only."))

    def write(self, vals):  # pylint: disable=method-required-super
        raise UserError(self.env._("Ledger entries cannot be changed; post a correction instead."))

    def unlink(self):  # pylint: disable=method-required-super
        raise UserError(self.env._("Ledger entries cannot be deleted."))
