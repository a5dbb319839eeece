from psycopg2 import IntegrityError

from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger


@tagged("post_install", "-at_install")
class TestDepartmentCode(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env["res.company"].create({"name": "Code Test Co"})
        cls.Department = cls.env["hr.department"].with_company(cls.company)

    def _department(self, name, parent=None, code=None):
        vals = {"name": name, "company_id": self.company.id, "parent_id": parent and parent.id}
        if code:
            vals["code"] = code
        return self.Department.create(vals)

    def test_codes_are_generated_level_by_level(self):
        root = self._department("Root")
        first = self._department("First", root)
        second = self._department("Second", root)
        grandchild = self._department("Grandchild", second)
        self.assertEqual([root.code, first.code, second.code, grandchild.code], ["0", "001", "002", "00201"])

    def test_generated_code_skips_used_codes(self):
        root = self._department("Root", code="0")
        self._department("Explicit", root, code="001")
        self.assertEqual(self._department("Next", root).code, "002")

    def test_child_code_must_extend_parent(self):
        root = self._department("Root", code="0")
        for bad in ("101", "0001", "01", "00a"):
            with self.subTest(code=bad), self.assertRaises(ValidationError):
                self._department("Bad", root, code=bad)

    def test_top_level_code_has_one_digit(self):
        with self.assertRaises(ValidationError):
            self._department("Root", code="00")

    @mute_logger("odoo.sql_db")
    def test_code_unique_per_company(self):
        self._department("Root", code="0")
        other_company = self.env["res.company"].create({"name": "Other Co"})
        other = self.env["hr.department"].create(
            {"name": "Root", "company_id": other_company.id, "code": "0"}
        )
        self.assertEqual(other.code, "0")
        with self.assertRaises(IntegrityError), self.cr.savepoint():
            self._department("Duplicate", code="0")

    def test_department_found_by_code(self):
        root = self._department("Root")
        child = self._department("Kitchen", root)
        found = self.Department.name_search(child.code, [("company_id", "=", self.company.id)])
        self.assertIn(child.id, [rec_id for rec_id, _name in found])
