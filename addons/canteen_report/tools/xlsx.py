"""Report tables to .xlsx with xlsxwriter in constant-memory mode: each row is written to the
file as it comes and forgotten, so a month of charge details never sits in memory. Real numbers
with a money format, a frozen header, a totals row, one sheet per report."""

import io
from decimal import Decimal

import xlsxwriter

MONEY = "#,##0.00"
# A sheet name may not hold these and has at most 31 characters.
_SHEET_FORBIDDEN = str.maketrans(dict.fromkeys("[]:*?/\\", " "))


def workbook(target=None):
    """A workbook writing to `target` (a path or a file object; a BytesIO when None)."""
    target = io.BytesIO() if target is None else target
    book = xlsxwriter.Workbook(target, {"constant_memory": True, "in_memory": False, "remove_timezone": True})
    return book, target


def _formats(book):
    return {
        "title": book.add_format({"bold": True, "font_size": 14}),
        "header": book.add_format(
            {"bold": True, "align": "center", "valign": "vcenter", "border": 1, "bg_color": "#EEEEEE"}
        ),
        "money": book.add_format({"num_format": MONEY}),
        "int": book.add_format({"num_format": "0"}),
        "date": book.add_format({"num_format": "yyyy-mm-dd"}),
        "datetime": book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
        "total_label": book.add_format({"bold": True, "top": 1}),
        "total_money": book.add_format({"bold": True, "top": 1, "num_format": MONEY}),
        "total_int": book.add_format({"bold": True, "top": 1, "num_format": "0"}),
    }


def sheet_name(title, used=()):
    name = title.translate(_SHEET_FORBIDDEN)[:31] or "Sheet"
    number = 2
    while name in used:
        suffix = f" {number}"
        name = name[: 31 - len(suffix)] + suffix
        number += 1
    return name


def write_summary(book, table, subtitle=""):
    """A summary table (canteen.report._summary) on its own sheet: title, the two header rows
    (meal or group, then its columns), the rows, the totals row."""
    fmt = _formats(book)
    sheet = book.add_worksheet(sheet_name(table["title"], [s.name for s in book.worksheets()]))
    sheet.write(0, 0, table["title"], fmt["title"])
    sheet.write(1, 0, subtitle)
    keys = table["keys"]
    top, sub = 3, 4
    for column, label in enumerate(keys):
        sheet.write(top, column, label, fmt["header"])
        sheet.write(sub, column, "", fmt["header"])
    column = len(keys)
    for label, labels in table["groups"]:
        for offset, sublabel in enumerate(labels):
            sheet.write(top, column + offset, label if offset == 0 else "", fmt["header"])
            sheet.write(sub, column + offset, sublabel, fmt["header"])
        column += len(labels)
    sheet.freeze_panes(sub + 1, len(keys))
    sheet.set_column(0, len(keys) - 1, 16)
    sheet.set_column(len(keys), column, 11)
    row = sub + 1
    for key, values in table["rows"]:
        for position, value in enumerate(key):
            sheet.write(row, position, value)
        _write_values(sheet, row, len(keys), values, table["money"], fmt["money"], fmt["int"])
        row += 1
    sheet.write(row, 0, _total_label(table), fmt["total_label"])
    for position in range(1, len(keys)):
        sheet.write(row, position, "", fmt["total_label"])
    _write_values(
        sheet, row, len(keys), table["totals"], table["money"], fmt["total_money"], fmt["total_int"]
    )
    return sheet


def _total_label(table):
    return table.get("total_label") or "Total"


def _write_values(sheet, row, first, values, money, money_format, int_format):  # noqa: PLR0917
    for offset, (value, is_money) in enumerate(zip(values, money, strict=True)):
        number = float(value) if isinstance(value, Decimal) else value
        sheet.write_number(row, first + offset, number, money_format if is_money else int_format)


def write_details(book, title, headers, batches, *, total_label="Total", progress=None):
    """Detail rows (lists whose last two cells are the amount and the balance after) on a
    sheet, streamed batch by batch; a totals row sums the amounts. Returns (rows, total)."""
    fmt = _formats(book)
    sheet = book.add_worksheet(sheet_name(title, [s.name for s in book.worksheets()]))
    for column, label in enumerate(headers):
        sheet.write(0, column, label, fmt["header"])
    sheet.freeze_panes(1, 0)
    sheet.set_column(0, 0, 19)
    sheet.set_column(1, len(headers) - 1, 13)
    amount_column = len(headers) - 2
    row, total = 1, Decimal("0.00")
    for batch in batches:
        for values in batch:
            sheet.write_datetime(row, 0, values[0], fmt["datetime"])
            sheet.write_datetime(row, 1, values[1], fmt["date"])
            for column in range(2, amount_column):
                if values[column]:  # an empty cell is left unwritten: a month has 800,000 rows
                    sheet.write_string(row, column, values[column])
            sheet.write_number(row, amount_column, float(values[amount_column]), fmt["money"])
            sheet.write_number(row, amount_column + 1, float(values[amount_column + 1]), fmt["money"])
            total += values[amount_column]
            row += 1
        if progress:
            progress(row - 1)
    sheet.write(row, 0, total_label, fmt["total_label"])
    sheet.write_number(row, amount_column, float(total), fmt["total_money"])
    return row - 1, total
