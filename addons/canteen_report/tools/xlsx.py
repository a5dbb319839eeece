"""Report tables to .xlsx with xlsxwriter in constant-memory mode: each row is written to the
file as it comes and forgotten, so a month of charge details never sits in memory. Real numbers
with a money format, a frozen header, a totals row, one sheet per report."""

import io
import re
import threading
import zipfile
from decimal import Decimal

import xlsxwriter
import xlsxwriter.workbook

MONEY = "#,##0.00"
# A sheet name may not hold these and has at most 31 characters.
_SHEET_FORBIDDEN = str.maketrans(dict.fromkeys("[]:*?/\\", " "))


def workbook(target=None):
    """A workbook writing to `target` (a path or a file object; a BytesIO when None)."""
    target = io.BytesIO() if target is None else target
    book = xlsxwriter.Workbook(target, {"constant_memory": True, "in_memory": False, "remove_timezone": True})
    return book, target


class _FastZipFile(zipfile.ZipFile):
    """A zip deflating at zlib's fastest level: four times faster than the default level on a
    sheet's XML, for a file about a quarter larger."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("compresslevel", 1)
        super().__init__(*args, **kwargs)


_CLOSING = threading.Lock()


def close(book):
    """Close (write) the workbook, deflating its parts at the fastest level. xlsxwriter has no
    option for the level, so its module's ZipFile is swapped while this workbook closes; the
    lock keeps two closing exports from restoring each other's swap."""
    with _CLOSING:
        original = xlsxwriter.workbook.ZipFile
        xlsxwriter.workbook.ZipFile = _FastZipFile
        try:
            book.close()
        finally:
            xlsxwriter.workbook.ZipFile = original


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


def write_details(book, title, headers, batches, *, total_label="Total", progress=None, inline_columns=()):
    """Detail rows (sequences of text: the moment and the business day as Excel serial numbers,
    text cells, then the amount and the balance after as decimal numbers) on a sheet, streamed
    batch by batch; a totals row sums the amounts. Returns (rows, total). `progress(rows)` is
    called after each batch.

    xlsxwriter spends about 15 µs on each cell it writes on this machine (a namedtuple, a
    format lookup, the XML escaping, one file write per cell): a month of charges is 10 million
    cells. In constant-memory mode a worksheet streams its rows' XML to a file of its own, so the
    body rows are written there directly, one string per row: the cell styles are looked up
    once, the dates (Excel serial numbers, with a date format) and the amounts (decimal text) come
    made by PostgreSQL, and each distinct text becomes a shared string once. The header, the
    frozen pane, the column widths and the totals row still go through xlsxwriter."""
    fmt = _formats(book)
    sheet = book.add_worksheet(sheet_name(title, [s.name for s in book.worksheets()]))
    for column, label in enumerate(headers):
        sheet.write(0, column, label, fmt["header"])
    sheet.freeze_panes(1, 0)
    sheet.set_column(0, 0, 19)
    sheet.set_column(1, len(headers) - 1, 13)
    amount_column = len(headers) - 2
    if getattr(sheet, "constant_memory", False) and hasattr(sheet, "_write_single_row"):
        row, total = _stream_rows(sheet, fmt, len(headers), batches, progress, set(inline_columns))
    else:
        row, total = _write_rows(sheet, fmt, amount_column, batches, progress)
    sheet.write(row, 0, total_label, fmt["total_label"])
    sheet.write_number(row, amount_column, float(total), fmt["total_money"])
    return row - 1, total


def _write_rows(sheet, fmt, amount_column, batches, progress):
    """The cell-by-cell way (a workbook not in constant-memory mode)."""
    row, total = 1, Decimal("0.00")
    for batch in batches:
        for values in batch:
            sheet.write_number(row, 0, float(values[0]), fmt["datetime"])
            sheet.write_number(row, 1, float(values[1]), fmt["date"])
            for column in range(2, amount_column):
                if values[column]:
                    sheet.write_string(row, column, values[column])
            sheet.write_number(row, amount_column, float(values[amount_column]), fmt["money"])
            sheet.write_number(row, amount_column + 1, float(values[amount_column + 1]), fmt["money"])
            total += Decimal(values[amount_column])
            row += 1
        if progress:
            progress(row - 1)
    return row, total


_ESCAPES = re.compile(r"[&<>\x00-\x08\x0b-\x1f]|_x[0-9a-fA-F]{4}_|^\s|\s$|\ufffe|\uffff")


def _inline(text):
    """The <is> of an inline string cell, escaped as xlsxwriter does."""
    if not _ESCAPES.search(text):
        return f"<is><t>{text}</t></is>"
    text = re.sub("(_x[0-9a-fA-F]{4}_)", r"_x005F\1", text)
    text = re.sub(r"([\x00-\x08\x0b-\x1f])", lambda match: f"_x{ord(match.group(1)):04X}_", text)
    text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    return f"<is><t{space}>{text}</t></is>"


def _stream_rows(sheet, fmt, width, batches, progress, inline_columns):  # noqa: PLR0917
    """The body rows as XML, straight into the constant-memory worksheet's row file, one string
    per row. Texts that repeat (names, departments, kinds, merchants) go to the workbook's shared
    strings, so their cell is a constant made once per text; those of `inline_columns`
    (references, notes) differ on every row and are written inline. Cells carry no reference:
    a cell without one is in the column after the previous cell (ECMA-376 18.3.1.4), so an empty
    cell is an empty <c/>."""
    amount_column = width - 2
    datetime_style = fmt["datetime"]._get_xf_index()
    date_style = fmt["date"]._get_xf_index()
    money_style = fmt["money"]._get_xf_index()
    strings = sheet.str_table
    cells = {"": "<c/>"}  # text: its shared-string cell

    def add(text):
        cell = cells[text] = f'<c t="s"><v>{strings._get_shared_string_index(text)}</v></c>'
        return cell

    first_inline = min(inline_columns or [amount_column])
    if any(column < first_inline for column in inline_columns) or max(inline_columns or [0]) >= amount_column:
        raise ValueError("inline columns must be the last text columns")
    head = f'<c s="{datetime_style}"><v>'
    day = f'</v></c><c s="{date_style}"><v>'
    money = f'<c s="{money_style}"><v>'
    sheet._write_single_row(1)  # the header row goes to the file; row 1 is next
    write = sheet.fh.write
    row, total = 1, Decimal("0.00")
    for batch in batches:
        chunk = []
        for values in batch:
            shared = "".join([cells[text] if text in cells else add(text) for text in values[2:first_inline]])
            inline = "".join(
                [
                    f'<c t="inlineStr">{_inline(text)}</c>' if text else "<c/>"
                    for text in values[first_inline:amount_column]
                ]
            )
            chunk.append(
                f'<row r="{row + 1}">{head}{values[0]}{day}{values[1]}</v></c>{shared}{inline}'
                f"{money}{values[amount_column]}</v></c>{money}{values[amount_column + 1]}</v></c></row>"
            )
            row += 1
        total += sum(map(Decimal, [values[amount_column] for values in batch]), Decimal("0.00"))
        write("".join(chunk))
        if progress:
            progress(row - 1)
    # The table counts every use of a shared string (empty cells included here: an upper bound).
    strings.count += (row - 1) * (first_inline - 2) - (len(cells) - 1)
    # xlsxwriter's own bookkeeping: the sheet's extent, and the row it writes next (the totals).
    if row > 1:
        sheet._check_dimensions(row - 1, width - 1)
    sheet.previous_row = row
    return row, total
