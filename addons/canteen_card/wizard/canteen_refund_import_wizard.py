from dataclasses import dataclass
from decimal import Decimal

from odoo import SUPERUSER_ID, fields, models
from odoo.tools import SQL

from ..tools.ledger_core import ZERO, BatchMovement
from .canteen_import_mixin import RowError


@dataclass
class RefundRow:
    employee: object
    card: object
    amount: Decimal
    version: int


class CanteenRefundImportWizard(models.TransientModel):
    """Batch cash refund from Excel (Excel 导入退款): columns department, employee number, name,
    card number, amount, import version. As for top-ups, the version must grow per person."""

    _name = "canteen.refund.import.wizard"
    _inherit = ["canteen.import.mixin"]
    _description = "Import Refunds"

    payment_journal_id = fields.Many2one(
        "account.journal",
        string="Cash or Bank Journal",
        domain="[('type', 'in', ('cash', 'bank')), ('company_id', '=', company_id)]",
        help="Where the refunds are paid from. Empty: the company's default top-up journal.",
    )
    note = fields.Char()

    def _template_headers(self):
        return [
            self.env._("Department"),
            self.env._("Employee Number"),
            self.env._("Name"),
            self.env._("Card Number"),
            self.env._("Amount"),
            self.env._("Import Version"),
        ]

    def _template_examples(self):
        return [["", "100001", "", "", 20, 1]]

    def _template_basename(self):
        return "refund_import"

    def _check_row(self, cells, number, by_number, seen):
        employee = self._person(number, cells, by_number, seen)
        amount = self._amount(cells[4], self.env._("Amount"))
        if not amount:
            raise RowError(self.env._("the amount is 0."))
        version = self._version(cells[5], self.env._("Import Version"))
        if version <= employee.canteen_refund_version:
            raise RowError(
                self.env._(
                    "import version %(version)s is not greater than %(last)s, the last one imported for "
                    "%(person)s.",
                    version=version,
                    last=employee.canteen_refund_version,
                    person=employee.name,
                )
            )
        card = self._check_active_card(employee)
        cash = Decimal(str(employee.cash_balance))
        if amount > cash:
            cash_text = f"{cash:.2f}"
            raise RowError(
                self.env._(
                    "%(person)s has only %(cash)s of cash to refund.",
                    person=employee.name,
                    cash=cash_text,
                )
            )
        return RefundRow(employee, card, amount, version)

    def _apply(self, plan):
        employees = self.env["hr.employee"].browse([row.employee.id for row in plan])
        with self.env.cr.savepoint():
            self.env["canteen.operation"]._perform(
                "refund",
                "cash",
                employees,
                lambda operations: self._post(operations, plan),
                payment_journal=self.payment_journal_id,
                note=self.note,
                batch=True,
            )
            self.env.flush_all()
            self.env.cr.execute(
                SQL(
                    "UPDATE hr_employee e SET canteen_refund_version = v.version, write_uid = %s, "
                    "write_date = now() AT TIME ZONE 'UTC' "
                    "FROM unnest(%s::int[], %s::int[]) AS v(id, version) WHERE e.id = v.id",
                    self.env.uid or SUPERUSER_ID,
                    [row.employee.id for row in plan],
                    [row.version for row in plan],
                )
            )
            self.env["hr.employee"].invalidate_model(["canteen_refund_version"])
        total = f"{sum((row.amount for row in plan), ZERO):.2f}"
        return self.env._(
            "%(count)s rows imported: %(amount)s refunded.",
            count=len(plan),
            amount=total,
        )

    def _post(self, operations, rows):
        operation_of = {op.company_id.id: op.id for op in operations}
        movements = [
            BatchMovement(
                row.employee.id,
                "cash",
                -row.amount,
                "refund",
                {"operation_id": operation_of[row.employee.company_id.id], "note": self.note or None},
                card_id=row.card.id,
            )
            for row in rows
        ]
        self.env["canteen.ledger"]._post_batch(movements, on_date=fields.Date.context_today(self))
