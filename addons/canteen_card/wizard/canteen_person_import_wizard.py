from odoo import models

from ..tools import excel
from .canteen_import_mixin import RowError


class CanteenPersonImportWizard(models.TransientModel):
    """People from Excel (人员资料): columns employee number, name, department (its name, or its
    code when names repeat). Employee numbers are unique per company, in the file and against
    the people already there (a resigned person is re-hired from the resigned pool instead)."""

    _name = "canteen.person.import.wizard"
    _inherit = ["canteen.import.mixin"]
    _description = "Import People"

    def _template_headers(self):
        return [self.env._("Employee Number"), self.env._("Name"), self.env._("Department")]

    def _template_examples(self):
        return [["100001", "Zhang San", "Production"], ["100002", "Li Si", "00201"]]

    def _template_basename(self):
        return "person_import"

    def _check_rows(self, rows, errors):
        existing = self._employees_by_number()
        departments = (
            self.env["hr.department"]
            .with_context(active_test=False)
            .search([("company_id", "=", self.company_id.id)])
        )
        by_code = {d.code: d for d in departments if d.code}
        by_name = {}
        for department in departments:
            by_name.setdefault(department.name, []).append(department)
        plan, seen = [], {}
        for number, cells in rows:
            try:
                plan.append(self._check_row(cells, number, existing, (by_code, by_name), seen))
            except RowError as error:
                errors.append((number, str(error)))
        return plan

    def _check_row(self, cells, number, existing, departments, seen):
        by_code, by_name = departments
        employee_no, name, department = (excel.as_text(cell) for cell in cells[:3])
        if not employee_no:
            raise RowError(self.env._("the employee number is missing."))
        if employee_no in seen:
            raise RowError(
                self.env._(
                    "employee number %(number)s appears again (first on row %(row)s).",
                    number=employee_no,
                    row=seen[employee_no],
                )
            )
        seen[employee_no] = number
        if employee_no in existing:
            person = existing[employee_no]
            if person.cardholder_state == "resigned":
                raise RowError(
                    self.env._(
                        "%(person)s (%(number)s) is in the resigned pool: re-hire them there.",
                        person=person.name,
                        number=employee_no,
                    )
                )
            raise RowError(
                self.env._(
                    "employee number %(number)s is already %(person)s.",
                    number=employee_no,
                    person=person.name,
                )
            )
        if not name:
            raise RowError(self.env._("the name is missing."))
        if not department:
            raise RowError(self.env._("the department is missing."))
        found = [by_code[department]] if department in by_code else by_name.get(department, [])
        if not found:
            raise RowError(self.env._("unknown department %(department)s.", department=department))
        if len(found) > 1:
            raise RowError(
                self.env._(
                    "several departments are named %(department)s: use its code.", department=department
                )
            )
        return {
            "employee_no": employee_no,
            "name": name,
            "department_id": found[0].id,
            "company_id": self.company_id.id,
        }

    def _apply(self, plan):
        employees = self.env["hr.employee"].create(plan)
        self.env["canteen.operation.log"]._record("import_person", employees, note=self.filename)
        return self.env._("%(count)s people imported.", count=len(employees))
