from datetime import date, datetime
from decimal import Decimal

from odoo.tests import TransactionCase, tagged

from ..tools.sql_unit import array_text


@tagged("post_install", "-at_install")
class TestArrayText(TransactionCase):
    """The bridge sends every batch column as the text of an array literal: whatever a terminal
    sends, PostgreSQL must read back exactly the list, element for element."""

    def round_trip(self, values, sql_type):
        self.env.cr.execute(f"SELECT %s::{sql_type}[]", [array_text(values)])
        return self.env.cr.fetchone()[0]

    def test_strings_that_need_quoting_or_escaping(self):
        awkward = ['a"b', "back\\slash", "a,b", "{x}", " spaced ", "NULL", "", "中文", "it's", "tab\there"]
        self.assertEqual(self.round_trip(awkward, "varchar"), awkward)
        plain = ["card", "employee", "0042AB"]
        self.assertEqual(self.round_trip(plain, "varchar"), plain)
        self.assertEqual(self.round_trip(["only", None], "varchar"), ["only", None])
        self.assertEqual(self.round_trip([], "varchar"), [])

    def test_numbers_booleans_and_dates(self):
        self.assertEqual(self.round_trip([1, None, -7, 2**31 - 1], "int"), [1, None, -7, 2**31 - 1])
        amounts = [Decimal("12.50"), Decimal("-0.01"), None, Decimal("1000000.00")]
        self.env.cr.execute("SELECT %s::numeric[]::text[]", [array_text(amounts)])
        self.assertEqual(self.env.cr.fetchone()[0], ["12.50", "-0.01", None, "1000000.00"])
        self.assertEqual(self.round_trip([True, False, None], "bool"), [True, False, None])
        moment = datetime(2026, 11, 26, 12, 30, 5, 123456)
        self.assertEqual(self.round_trip([moment, None], "timestamp"), [moment, None])
        self.assertEqual(self.round_trip([date(2026, 1, 2)], "date"), [date(2026, 1, 2)])

    def test_a_nul_character_cannot_split_an_element(self):
        # PostgreSQL refuses NUL in text; the fast path must not turn it into two elements.
        with self.assertRaises(ValueError):
            self.env.cr._obj.mogrify("SELECT %s::varchar[]", [array_text(["a\x00b", "c"])])
