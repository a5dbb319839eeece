import re

from odoo import api, fields, models
from odoo.exceptions import ValidationError

CODE_PATTERN = re.compile(r"^\d+$")
# Each level below the root adds two digits to its parent's code: 0, 001, 00301.
LEVEL_WIDTH = 2


class HrDepartment(models.Model):
    _inherit = "hr.department"

    code = fields.Char(
        copy=False,
        index=True,
        help="Hierarchical code: a top-level department has one digit, each child "
        "extends its parent's code by two digits (0, 001, 00301). Left empty, it is generated.",
    )

    _sql_constraints = [
        (
            "canteen_code_company_uniq",
            "unique (company_id, code)",
            "A department code must be unique within its company.",
        ),
    ]

    @api.depends_context("hierarchical_naming", "lang")
    def _compute_display_name(self):
        """The full name (Company / Sales / East) from the names in the user's language: the
        stored complete name is in the language it was computed in."""
        if not self.env.context.get("hierarchical_naming", True):
            return super()._compute_display_name()
        for department in self:
            names, node = [], department
            while node:
                names.append(node.name or "")
                node = node.parent_id
            department.display_name = " / ".join(reversed(names))
        return None

    @api.constrains("code", "parent_id")
    def _check_code(self):
        for department in self.filtered("code"):
            if not CODE_PATTERN.match(department.code):
                raise ValidationError(
                    self.env._("Department code %(code)s must contain digits only.", code=department.code)
                )
            parent_code = department.parent_id.code
            if parent_code and not (
                department.code.startswith(parent_code)
                and len(department.code) == len(parent_code) + LEVEL_WIDTH
            ):
                raise ValidationError(
                    self.env._(
                        "Department code %(code)s must be its parent's code %(parent)s "
                        "followed by %(width)s digits.",
                        code=department.code,
                        parent=parent_code,
                        width=LEVEL_WIDTH,
                    )
                )
            if not department.parent_id and len(department.code) != 1:
                raise ValidationError(
                    self.env._(
                        "A top-level department code has one digit, not %(code)s.", code=department.code
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        departments = super().create(vals_list)
        for department in departments.filtered(lambda d: not d.code):
            department.code = department._next_free_code()
        return departments

    def _next_free_code(self):
        """The first unused code under this department's parent, in its company."""
        self.ensure_one()
        parent_code = self.parent_id.code or ""
        if self.parent_id and not parent_code:
            return False
        width = LEVEL_WIDTH if self.parent_id else 1
        siblings = self.with_context(active_test=False).search(
            [("company_id", "=", self.company_id.id), ("code", "=like", parent_code + "_" * width)]
        )
        used = set(siblings.mapped("code"))
        # Children are numbered from 01: a child code never ends in 00.
        for number in range(1 if self.parent_id else 0, 10**width):
            candidate = f"{parent_code}{number:0{width}d}"
            if candidate not in used:
                return candidate
        raise ValidationError(
            self.env._("No department code is left under %(parent)s.", parent=self.parent_id.display_name)
        )

    @api.model
    def _search_display_name(self, operator, value):
        # Operators and imports find a department by its code as well as its name.
        domain = super()._search_display_name(operator, value)
        if isinstance(value, str) and value and operator in ("ilike", "="):
            code_domain = [("code", "=like", value + "%")] if operator == "ilike" else [("code", "=", value)]
            domain = ["|", *code_domain, *domain]
        return domain
