import base64
import datetime
from decimal import Decimal

from odoo import fields, models
from odoo.exceptions import UserError

from ..tools import excel, ledger_core
from ..tools.access import OPERATOR, check_caller


class RowError(Exception):
    """A bad cell of one row; its message is translated and shown with the row number."""


class CanteenImportMixin(models.AbstractModel):
    """An Excel import (.xls or .xlsx, first sheet, one header row) with a downloadable template.

    All or nothing: every row is checked first; if any is wrong, the wizard lists each bad row
    with its number and reason and imports nothing. Subclasses define `_template_headers`,
    `_template_examples`, `_check_rows` (returns a plan, appends errors) and `_apply`.
    """

    _name = "canteen.import.mixin"
    _description = "Excel Import"
    _canteen_group = OPERATOR  # who may import: checked with the chosen company before anything

    file = fields.Binary(string="Excel File", help="An .xls or .xlsx file laid out as the template.")
    filename = fields.Char()
    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        help="The company whose departments and employee numbers the file refers to.",
    )
    template_file = fields.Binary(readonly=True, attachment=False)
    template_name = fields.Char(readonly=True)

    def _template_headers(self):
        raise NotImplementedError

    def _template_examples(self):
        return []

    def _template_basename(self):
        return "template"

    def _check_rows(self, rows, errors):
        """The plan of rows about people (one `_check_row` each); bad rows go to `errors`."""
        by_number, seen, plan = self._employees_by_number(), {}, []
        for number, cells in rows:
            try:
                plan.append(self._check_row(cells, number, by_number, seen))
            except RowError as error:
                errors.append((number, str(error)))
        return plan

    def _check_row(self, cells, number, by_number, seen):
        raise NotImplementedError

    def _apply(self, plan):
        raise NotImplementedError

    def action_download_template(self):
        self.ensure_one()
        content = excel.write_xlsx(self._template_headers(), self._template_examples())
        self.template_file = base64.b64encode(content)
        self.template_name = f"{self._template_basename()}.xlsx"
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self._name}/{self.id}/template_file/{self.template_name}?download=true",
            "target": "self",
        }

    def action_import(self):
        self.ensure_one()
        check_caller(self.env, self._canteen_group, self.company_id)
        return self.sudo()._apply_or_draft(self._checked_plan())

    def _checked_plan(self):
        """Read the file and check every row: the plan, or a UserError listing the bad rows."""
        rows = self._read_file()
        errors = []
        plan = self._check_rows(rows, errors)
        if errors:
            raise UserError(self._errors_message(errors))
        return plan

    def _apply_or_draft(self, plan):
        """Called as superuser once the caller is checked: imports the plan. canteen_approval
        drafts an approval request instead when the company asks for one; the approved request
        then calls `_import_checked`."""
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Import done"),
                "message": self._apply(plan),
                "type": "success",
                "sticky": False,
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _import_checked(self):
        """Check the file again (balances and versions may have moved since) and import it: the
        one posting path of an import; returns its message."""
        return self._apply(self._checked_plan())

    def _read_file(self):
        if not self.file:
            raise UserError(self.env._("Choose the Excel file to import."))
        try:
            rows = excel.read_rows(base64.b64decode(self.file))
        except excel.ExcelError as error:
            raise UserError(
                self.env._("%(file)s is not a readable .xls or .xlsx file.", file=self.filename or "")
            ) from error
        data = rows[1:]  # the first row is the header
        if not data:
            raise UserError(self.env._("The file has no rows below its header."))
        width = len(self._template_headers())
        return [(number, (cells + [None] * width)[:width]) for number, cells in data]

    def _errors_message(self, errors):
        lines = [
            self.env._("Row %(row)s: %(reason)s", row=number, reason=reason)
            for number, reason in sorted(errors)
        ]
        header = self.env._(
            "Nothing was imported: %(count)s rows are wrong. Correct them and import the file again.",
            count=len({number for number, _reason in errors}),
        )
        return "\n".join([header, *lines])

    # cell parsers: each returns a value or raises RowError with a translated reason -------------
    def _amount(self, value, label):
        """An amount in yuan: 0 or positive, at most 2 decimals; empty is 0."""
        if value is None:
            return Decimal("0.00")
        try:
            amount = ledger_core.to_amount(value, allow_zero=True)
        except ledger_core.LedgerError:
            amount = None
        if amount is None:
            raise RowError(
                self.env._(
                    "%(column)s %(value)s is not an amount in yuan with at most 2 decimals.",
                    column=label,
                    value=value,
                )
            )
        return amount

    def _version(self, value, label):
        text = excel.as_text(value)
        if not text.isdigit() or int(text) <= 0:
            raise RowError(
                self.env._("%(column)s %(value)s is not a positive whole number.", column=label, value=text)
            )
        return int(text)

    def _date(self, value, label):
        if value is None:
            return False
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        try:
            return datetime.date.fromisoformat(excel.as_text(value).replace("/", "-"))
        except ValueError as error:
            raise RowError(
                self.env._("%(column)s %(value)s is not a date (YYYY-MM-DD).", column=label, value=value)
            ) from error

    # cardholder rows (top-ups, refunds) ---------------------------------------------------------
    def _employees_by_number(self):
        employees = (
            self.env["hr.employee"]
            .with_context(active_test=False)
            .search([("company_id", "=", self.company_id.id), ("employee_no", "!=", False)])
        )
        return {employee.employee_no: employee for employee in employees}

    def _person(self, number, cells, by_number, seen):
        """The cardholder of a row (department, number, name, card number): known, unique in the
        file, still active, and matching the name and card number when they are given."""
        number_text = excel.as_text(cells[1])
        if not number_text:
            raise RowError(self.env._("the employee number is missing."))
        if number_text in seen:
            raise RowError(
                self.env._(
                    "employee number %(number)s appears again (first on row %(row)s).",
                    number=number_text,
                    row=seen[number_text],
                )
            )
        seen[number_text] = number
        employee = by_number.get(number_text)
        if not employee:
            raise RowError(self.env._("unknown employee number %(number)s.", number=number_text))
        if employee.cardholder_state != "active":
            raise RowError(self.env._("%(person)s has resigned.", person=employee.name))
        name = excel.as_text(cells[2])
        if name and name != employee.name:
            raise RowError(
                self.env._(
                    "name %(name)s does not match %(person)s, the holder of number %(number)s.",
                    name=name,
                    person=employee.name,
                    number=number_text,
                )
            )
        card_number = excel.as_text(cells[3]).upper()
        if card_number and card_number != (employee.current_card_id.uid or "").upper():
            raise RowError(
                self.env._(
                    "card number %(card)s is not the card of %(person)s.",
                    card=card_number,
                    person=employee.name,
                )
            )
        return employee

    def _check_active_card(self, employee):
        card = employee.current_card_id
        if not card or card.state != "active":
            raise RowError(self.env._("%(person)s has no active card.", person=employee.name))
        return card
