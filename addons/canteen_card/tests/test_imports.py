import base64
import datetime
import io

import openpyxl
import xlwt

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import CanteenCardCase

TOPUP_HEADER = ["部门", "工号", "姓名", "卡号", "现金", "补贴", "补贴方式", "补贴有效日期", "导入版本号"]


def xlsx(rows):
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xls(rows):
    workbook = xlwt.Workbook()
    sheet = workbook.add_sheet("Sheet1")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, datetime.date):
                sheet.write(r, c, value, date_style)
            elif value is not None:
                sheet.write(r, c, value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@tagged("post_install", "-at_install")
class TestImports(CanteenCardCase):
    def run_import(self, model, content, filename="file.xlsx", **values):
        wizard = self.env[model].create(
            dict({"file": base64.b64encode(content), "filename": filename}, **values)
        )
        return wizard.action_import()

    def assertRowErrors(self, model, content, expected):
        """The import is refused; each (row, reason fragment) is in the message."""
        with self.assertRaises(UserError) as caught:
            self.run_import(model, content)
        message = str(caught.exception)
        self.assertIn("Nothing was imported", message)
        for row, fragment in expected:
            self.assertRegex(message, f"Row {row}: [^\n]*{fragment}")
        self.assertEqual(message.count("\nRow "), len(expected), message)

    # departments and people --------------------------------------------------------------------
    def test_departments_with_parents_from_the_file(self):
        content = xlsx([["组织编号", "组织名称"], ["00101", "Line 1"], ["0", "Plant"], ["001", "Production"]])
        self.run_import("canteen.department.import.wizard", content)
        line = self.env["hr.department"].search(
            [("code", "=", "00101"), ("company_id", "=", self.company.id)]
        )
        self.assertEqual(line.parent_id.name, "Production")
        self.assertEqual(line.parent_id.parent_id.code, "0")
        # The same file again: the departments exist with the same names, nothing changes.
        self.run_import("canteen.department.import.wizard", content)
        self.assertEqual(self.env["hr.department"].search_count([("company_id", "=", self.company.id)]), 3)

    def test_bad_department_rows(self):
        self.run_import("canteen.department.import.wizard", xlsx([["code", "name"], ["0", "Plant"]]))
        content = xlsx(
            [
                ["code", "name"],
                ["0", "Other"],
                ["12", "Bad code"],
                ["00305", "No parent"],
                ["001", None],
                ["002", "A"],
                ["002", "B"],
            ]
        )
        self.assertRowErrors(
            "canteen.department.import.wizard",
            content,
            [
                (2, "already department Plant"),
                (3, "not 1 digit"),
                (4, "parent code 003"),
                (5, "name is missing"),
                (7, "appears again"),
            ],
        )
        self.assertEqual(self.env["hr.department"].search_count([("company_id", "=", self.company.id)]), 1)

    def test_people_by_department_name_or_code(self):
        self.run_import(
            "canteen.department.import.wizard",
            xlsx([["code", "name"], ["0", "Plant"], ["001", "Shop"], ["00101", "Shop"]]),
        )
        self.run_import(
            "canteen.person.import.wizard",
            xls([["工号", "姓名", "部门"], [100001, "Zhang San", "Plant"], ["100002", "Li Si", "00101"]]),
            filename="people.xls",
        )
        zhang = self.env["hr.employee"].search(
            [("employee_no", "=", "100001"), ("company_id", "=", self.company.id)]
        )
        self.assertEqual((zhang.name, zhang.department_id.code), ("Zhang San", "0"))
        self.assertEqual(
            self.env["hr.employee"]
            .search([("employee_no", "=", "100002"), ("company_id", "=", self.company.id)])
            .department_id.code,
            "00101",
        )

    def test_bad_people_rows(self):
        self.run_import(
            "canteen.department.import.wizard",
            xlsx([["c", "n"], ["0", "Plant"], ["001", "Shop"], ["002", "Shop"]]),
        )
        self.alice.cardholder_state = "resigned"
        content = xlsx(
            [
                ["工号", "姓名", "部门"],
                ["200001", "Ok", "Plant"],
                ["200001", "Twice", "Plant"],
                ["B002", "Bob", "Plant"],
                ["A001", "Alice", "Plant"],
                ["200003", "X", "Nowhere"],
                ["200004", "Y", "Shop"],
                [None, "Z", "Plant"],
                ["200005", None, "Plant"],
            ]
        )
        self.assertRowErrors(
            "canteen.person.import.wizard",
            content,
            [
                (3, "appears again"),
                (4, "already Bob"),
                (5, "resigned pool"),
                (6, "unknown department"),
                (7, "several departments"),
                (8, "number is missing"),
                (9, "name is missing"),
            ],
        )
        self.assertFalse(
            self.env["hr.employee"].search(
                [("employee_no", "=", "200001"), ("company_id", "=", self.company.id)]
            )
        )

    # top-ups -------------------------------------------------------------------------------------
    def test_topup_file_cash_and_subsidy_modes(self):
        self.grant(20, employees=self.bob)
        content = xlsx(
            [
                TOPUP_HEADER,
                [None, "A001", "Alice", "UIDA001", 100, 10.5, "累加", None, 1],
                [None, "B002", None, None, 0, 30, "清零", "2030-12-31", 1],
            ]
        )
        self.run_import("canteen.topup.import.wizard", content)
        self.assertEqual(self.balances(self.alice), (100.0, 10.5))
        self.assertEqual(self.balances(self.bob), (0.0, 30.0))
        self.assertEqual(
            str(self.bob.wallet_ids.filtered(lambda w: w.kind == "subsidy").expiry_date), "2030-12-31"
        )
        self.assertEqual(self.alice.canteen_topup_version, 1)
        operations = self.env["canteen.operation"].search(
            [("kind", "in", ("topup", "subsidy_grant"))], order="id desc", limit=2
        )
        self.assertTrue(all(operations.mapped("move_id")))
        # The same file twice changes nothing: every row's version is refused.
        self.assertRowErrors(
            "canteen.topup.import.wizard", content, [(2, "not greater than 1"), (3, "not greater than 1")]
        )
        self.assertEqual(self.balances(self.alice), (100.0, 10.5))
        # A next version goes through.
        self.run_import(
            "canteen.topup.import.wizard", xlsx([TOPUP_HEADER, [None, "A001", None, None, 5, 0, 1, None, 2]])
        )
        self.assertEqual(self.balances(self.alice), (105.0, 10.5))

    def test_topup_xls_file_with_a_date_cell(self):
        content = xls([TOPUP_HEADER, ["", "A001", "", "", 12.34, 5, 2, datetime.date(2030, 1, 31), 7]])
        self.run_import("canteen.topup.import.wizard", content, filename="topup.xls")
        self.assertEqual(self.balances(self.alice), (12.34, 5.0))
        self.assertEqual(
            str(self.alice.wallet_ids.filtered(lambda w: w.kind == "subsidy").expiry_date), "2030-01-31"
        )

    def test_bad_topup_rows_import_nothing(self):
        carol = self.env["hr.employee"].create(
            {"name": "Carol", "employee_no": "C003", "company_id": self.company.id}
        )
        self.alice.current_card_id.action_report_loss()
        content = xlsx(
            [
                TOPUP_HEADER,
                [None, "B002", "Bob", None, 10, 0, 1, None, 1],  # good
                [None, "Z999", None, None, 10, 0, 1, None, 1],  # unknown person
                [None, "B002", None, None, 10, 0, 1, None, 2],  # duplicate number
                [None, "C003", None, None, "ten", 0, 1, None, 1],  # bad amount
                [None, "C003", None, None, 1.005, 0, 1, None, 1],  # 3 decimals (already seen: duplicate)
                [None, "A001", None, None, 10, 0, 1, None, 1],  # lost card
                [None, "C003", "Caroline", None, 10, 0, 1, None, 1],  # wrong name (duplicate)
                [None, None, None, None, 10, 0, 1, None, 1],  # no number
                [None, "C003", None, None, 0, 0, 1, None, 1],  # dup
            ]
        )
        self.assertRowErrors(
            "canteen.topup.import.wizard",
            content,
            [
                (3, "unknown employee number Z999"),
                (4, "appears again"),
                (5, "Cash ten is not an amount"),
                (6, "appears again"),
                (7, "Alice has no active card"),
                (8, "appears again"),
                (9, "number is missing"),
                (10, "appears again"),
            ],
        )
        self.assertEqual(self.balances(self.bob), (0.0, 0.0))
        self.assertEqual(self.bob.canteen_topup_version, 0)
        self.assertFalse(carol.wallet_ids.filtered("balance"))

    def test_more_bad_topup_rows(self):
        carol = self._make_cardholder("Carol", "C003", self.company)
        dave = self._make_cardholder("Dave", "D004", self.company)
        erin = self._make_cardholder("Erin", "E005", self.company)
        self.run_import(
            "canteen.topup.import.wizard", xlsx([TOPUP_HEADER, [None, "E005", None, None, 1, 0, 1, None, 5]])
        )
        content = xlsx(
            [
                TOPUP_HEADER,
                [None, "A001", None, None, 1.005, 0, 1, None, 1],  # 3 decimals
                [None, "B002", None, "WRONG", 10, 0, 1, None, 1],  # not their card
                [None, "C003", None, None, 0, 0, 1, None, 1],  # nothing
                [None, "D004", None, None, 0, 10, 3, None, 1],  # bad mode
                [None, "E005", None, None, 10, 0, 1, None, 5],  # version not greater
                [None, "A001x", None, None, 10, 0, 1, None, "v2"],  # unknown person first
            ]
        )
        self.assertRowErrors(
            "canteen.topup.import.wizard",
            content,
            [
                (2, "not an amount"),
                (3, "not the card of Bob"),
                (4, "both 0"),
                (5, "subsidy mode 3"),
                (6, "not greater than 5"),
                (7, "unknown employee number"),
            ],
        )
        self.assertEqual([self.balances(p) for p in (carol, dave)], [(0.0, 0.0), (0.0, 0.0)])
        self.assertEqual(self.balances(erin), (1.0, 0.0))

    def test_topup_above_maximum_balance_is_a_bad_row(self):
        content = xlsx([TOPUP_HEADER, [None, "A001", None, None, 1000.01, 0, 1, None, 1]])
        self.assertRowErrors("canteen.topup.import.wizard", content, [(2, "above the maximum of 1000")])

    def test_not_an_excel_file(self):
        with self.assertRaisesRegex(UserError, "not a readable"):
            self.run_import("canteen.topup.import.wizard", b"department,number\n")

    def test_template_download(self):
        wizard = self.env["canteen.topup.import.wizard"].create({})
        action = wizard.action_download_template()
        self.assertIn("/template_file/", action["url"])
        sheet = openpyxl.load_workbook(io.BytesIO(base64.b64decode(wizard.template_file))).active
        self.assertEqual(sheet.max_column, 9)

    # refunds -------------------------------------------------------------------------------------
    def test_refund_file(self):
        self.topup(self.alice | self.bob, 50)
        header = ["部门", "工号", "姓名", "卡号", "金额", "导入版本号"]
        content = xlsx([header, [None, "A001", None, None, 20, 1], [None, "B002", None, None, 50, 1]])
        self.run_import("canteen.refund.import.wizard", content)
        self.assertEqual(self.balances(self.alice), (30.0, 0.0))
        self.assertEqual(self.balances(self.bob), (0.0, 0.0))
        self.assertRowErrors(
            "canteen.refund.import.wizard", content, [(2, "not greater"), (3, "not greater")]
        )
        too_much = xlsx([header, [None, "A001", None, None, 30.01, 2]])
        self.assertRowErrors("canteen.refund.import.wizard", too_much, [(2, "only 30.00 of cash")])
        self.assertEqual(self.balances(self.alice), (30.0, 0.0))
