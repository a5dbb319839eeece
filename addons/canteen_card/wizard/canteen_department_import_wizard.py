import re

from odoo import models

from ..tools import excel
from .canteen_import_mixin import RowError

CODE = re.compile(r"^\d(\d\d)*$")


class CanteenDepartmentImportWizard(models.TransientModel):
    """Departments from Excel (组织资料): columns code, name. Each code extends its parent's by two
    digits (0, 001, 00301); a parent comes from the company or from the file itself. A code that
    exists already with the same name is left as it is."""

    _name = "canteen.department.import.wizard"
    _inherit = ["canteen.import.mixin"]
    _description = "Import Departments"

    def _template_headers(self):
        return [self.env._("Department Code"), self.env._("Department Name")]

    def _template_examples(self):
        return [["0", "Company"], ["001", "HR"], ["002", "Production"], ["00201", "Production Line 1"]]

    def _template_basename(self):
        return "department_import"

    def _check_rows(self, rows, errors):
        existing = {
            d.code: d
            for d in self.env["hr.department"]
            .with_context(active_test=False)
            .search([("company_id", "=", self.company_id.id), ("code", "!=", False)])
        }
        in_file = {excel.as_text(cells[0]): number for number, cells in rows}
        plan, seen = [], {}
        for number, cells in rows:
            try:
                row = self._check_row(cells, number, existing, in_file, seen)
            except RowError as error:
                errors.append((number, str(error)))
                continue
            if row:
                plan.append(row)
        return sorted(plan, key=lambda row: len(row[0]))

    def _check_row(self, cells, number, existing, in_file, seen):
        code, name = excel.as_text(cells[0]), excel.as_text(cells[1])
        if not CODE.match(code):
            raise RowError(
                self.env._("code %(code)s is not 1 digit, or its parent's code and 2 more digits.", code=code)
            )
        if not name:
            raise RowError(self.env._("the name is missing."))
        if code in seen:
            raise RowError(
                self.env._("code %(code)s appears again (first on row %(row)s).", code=code, row=seen[code])
            )
        seen[code] = number
        if code in existing:
            if existing[code].name != name:
                raise RowError(
                    self.env._(
                        "code %(code)s is already department %(name)s.", code=code, name=existing[code].name
                    )
                )
            return None
        parent_code = code[:-2]
        if parent_code and parent_code not in existing and parent_code not in in_file:
            raise RowError(
                self.env._(
                    "parent code %(code)s is neither in the company nor in the file.", code=parent_code
                )
            )
        return (code, name)

    def _apply(self, plan):
        Department = self.env["hr.department"]
        by_code = {
            d.code: d
            for d in Department.with_context(active_test=False).search(
                [("company_id", "=", self.company_id.id), ("code", "!=", False)]
            )
        }
        # Level by level, so that every parent exists before its children.
        for length in sorted({len(code) for code, _name in plan}):
            level = [(code, name) for code, name in plan if len(code) == length]
            created = Department.create(
                [
                    {
                        "code": code,
                        "name": name,
                        "company_id": self.company_id.id,
                        "parent_id": by_code[code[:-2]].id if len(code) > 1 else False,
                    }
                    for code, name in level
                ]
            )
            by_code.update({d.code: d for d in created})
        self.env["canteen.operation.log"].sudo().create(
            {"action": "import_department", "company_id": self.company_id.id, "note": self.filename}
        )
        return self.env._("%(count)s departments imported.", count=len(plan))
