from dataclasses import dataclass
from decimal import Decimal

from odoo import SUPERUSER_ID, fields, models
from odoo.tools import SQL

from ..tools.ledger_core import ZERO, BatchMovement
from .canteen_import_mixin import RowError

SUBSIDY_MODES = {"1": "accumulate", "累加": "accumulate", "2": "replace", "清零": "replace"}


@dataclass
class TopupRow:
    employee: object
    card: object
    cash: Decimal
    subsidy: Decimal
    mode: str
    expiry_date: object
    version: int


class CanteenTopupImportWizard(models.TransientModel):
    """Batch top-up from Excel (批量导入充值): columns department, employee number, name, card
    number, cash, subsidy, subsidy mode (1/累加 adds, 2/清零 replaces what is left), subsidy
    expiry, import version. The version must be greater than the last one imported for the
    person, so the same file imported twice is refused the second time and changes nothing."""

    _name = "canteen.topup.import.wizard"
    _inherit = ["canteen.import.mixin"]
    _description = "Import Top-ups"

    payment_journal_id = fields.Many2one(
        "account.journal",
        string="Cash or Bank Journal",
        domain="[('type', 'in', ('cash', 'bank')), ('company_id', '=', company_id)]",
        help="Where the cash was received. Empty: the company's default top-up journal.",
    )
    note = fields.Char()

    def _template_headers(self):
        return [
            self.env._("Department"),
            self.env._("Employee Number"),
            self.env._("Name"),
            self.env._("Card Number"),
            self.env._("Cash"),
            self.env._("Subsidy"),
            self.env._("Subsidy Mode (1 add, 2 replace)"),
            self.env._("Subsidy Expiry"),
            self.env._("Import Version"),
        ]

    def _template_examples(self):
        return [["", "100001", "", "", 100, 0, 1, None, 1], ["", "100002", "", "", 0, 50, 2, "2030-12-31", 1]]

    def _template_basename(self):
        return "topup_import"

    def _check_row(self, cells, number, by_number, seen):
        employee = self._person(number, cells, by_number, seen)
        cash, subsidy = (
            self._amount(cells[4], self.env._("Cash")),
            self._amount(cells[5], self.env._("Subsidy")),
        )
        if not cash and not subsidy:
            raise RowError(self.env._("cash and subsidy are both 0."))
        mode_text = str(cells[6]).strip() if cells[6] is not None else "1"
        mode = SUBSIDY_MODES.get(mode_text)
        if not mode:
            raise RowError(self.env._("subsidy mode %(mode)s is not 1, 2, 累加 or 清零.", mode=mode_text))
        expiry_date = self._date(cells[7], self.env._("Subsidy Expiry"))
        if expiry_date and expiry_date < fields.Date.context_today(self):
            raise RowError(self.env._("the subsidy expiry %(date)s is in the past.", date=expiry_date))
        version = self._version(cells[8], self.env._("Import Version"))
        if version <= employee.canteen_topup_version:
            raise RowError(
                self.env._(
                    "import version %(version)s is not greater than %(last)s, the last one imported for "
                    "%(person)s.",
                    version=version,
                    last=employee.canteen_topup_version,
                    person=employee.name,
                )
            )
        card = self._check_active_card(employee) if cash else None
        self._check_wallets(employee, cash, subsidy)
        return TopupRow(employee, card, cash, subsidy, mode, expiry_date, version)

    def _check_wallets(self, employee, cash, subsidy):
        card_type = employee.card_type_id
        if card_type and ((cash and not card_type.use_cash) or (subsidy and not card_type.use_subsidy)):
            raise RowError(
                self.env._("the card type of %(person)s does not use this wallet.", person=employee.name)
            )
        maximum = Decimal(str(card_type.max_balance or 0))
        balance = Decimal(str(employee.cash_balance)) + cash
        if cash and maximum and balance > maximum:
            raise RowError(
                self.env._(
                    "this would bring the cash of %(person)s to %(balance)s, above the maximum of "
                    "%(maximum)s.",
                    person=employee.name,
                    balance=balance,
                    maximum=maximum,
                )
            )

    def _apply(self, plan):
        Operation = self.env["canteen.operation"]
        with self.env.cr.savepoint():
            cash_rows = [row for row in plan if row.cash]
            subsidy_rows = [row for row in plan if row.subsidy]
            if cash_rows:
                Operation._perform(
                    "topup",
                    "cash",
                    self._employees(cash_rows),
                    lambda operations: self._post_cash(operations, cash_rows),
                    payment_journal=self.payment_journal_id,
                    note=self.note,
                    batch=True,
                )
            if subsidy_rows:
                Operation._perform(
                    "subsidy_grant",
                    "subsidy",
                    self._employees(subsidy_rows),
                    lambda operations: self._post_subsidy(operations, subsidy_rows),
                    note=self.note,
                    batch=True,
                )
            self._store_versions(plan)
        cash = f"{sum((row.cash for row in plan), ZERO):.2f}"
        subsidy = f"{sum((row.subsidy for row in plan), ZERO):.2f}"
        return self.env._(
            "%(count)s rows imported: %(cash)s of cash and %(subsidy)s of subsidy.",
            count=len(plan),
            cash=cash,
            subsidy=subsidy,
        )

    def _employees(self, rows):
        return self.env["hr.employee"].browse([row.employee.id for row in rows])

    def _post_cash(self, operations, rows):
        operation_of = {op.company_id.id: op.id for op in operations}
        movements = [
            BatchMovement(
                row.employee.id,
                "cash",
                row.cash,
                "topup",
                {"operation_id": operation_of[row.employee.company_id.id], "note": self.note or None},
                card_id=row.card.id,
            )
            for row in rows
        ]
        self.env["canteen.ledger"]._post_batch(movements, on_date=fields.Date.context_today(self))

    def _post_subsidy(self, operations, rows):
        operation_of = {op.company_id.id: op.id for op in operations}
        movements = []
        for row in rows:
            values = {"operation_id": operation_of[row.employee.company_id.id], "note": self.note or None}
            left = Decimal(str(row.employee.subsidy_balance))
            if row.mode == "replace" and left > 0:
                movements.append(BatchMovement(row.employee.id, "subsidy", -left, "subsidy_expiry", values))
            movements.append(BatchMovement(row.employee.id, "subsidy", row.subsidy, "subsidy_grant", values))
        self.env["canteen.ledger"]._post_batch(movements)
        self._set_expiry_dates(rows)

    def _set_expiry_dates(self, rows):
        by_date = {}
        for row in rows:
            if row.expiry_date or row.mode == "replace":
                by_date.setdefault(row.expiry_date, []).append(row.employee.id)
        Wallet = self.env["canteen.wallet"].sudo()
        for expiry_date, employee_ids in by_date.items():
            Wallet.search([("employee_id", "in", employee_ids), ("kind", "=", "subsidy")]).write(
                {"expiry_date": expiry_date}
            )

    def _store_versions(self, plan):
        # One statement for the whole file: the version is bookkeeping of the import, not history.
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE hr_employee e SET canteen_topup_version = v.version, write_uid = %s, "
                "write_date = now() AT TIME ZONE 'UTC' "
                "FROM unnest(%s::int[], %s::int[]) AS v(id, version) WHERE e.id = v.id",
                self.env.uid or SUPERUSER_ID,
                [row.employee.id for row in plan],
                [row.version for row in plan],
            )
        )
        self.env["hr.employee"].invalidate_model(["canteen_topup_version"])
