"""Reading the first sheet of an .xls (xlrd 1.2) or .xlsx (openpyxl) file, writing templates.

Cells come back as Python values: str, int (whole numbers), float, date or datetime, None.
"""

import datetime
import io

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0"


class ExcelError(Exception):
    """The file is not a readable Excel workbook."""


def read_rows(content):
    """[(row number, [cell values])] of the first sheet, header row included, empty rows left out."""
    if content.startswith(XLSX_MAGIC):
        rows = _read_xlsx(content)
    elif content.startswith(XLS_MAGIC):
        rows = _read_xls(content)
    else:
        raise ExcelError("not an Excel file")
    return [
        (number, [_clean(value) for value in row])
        for number, row in enumerate(rows, start=1)
        if any(value not in (None, "") for value in row)
    ]


def _read_xlsx(content):
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise ExcelError(str(exc)) from exc
    try:
        sheet = workbook.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _read_xls(content):
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=content)
    except Exception as exc:  # xlrd raises many kinds for a damaged file
        raise ExcelError(str(exc)) from exc
    sheet = book.sheet_by_index(0)
    rows = []
    for index in range(sheet.nrows):
        row = []
        for cell in sheet.row(index):
            if cell.ctype == xlrd.XL_CELL_DATE:
                row.append(xlrd.xldate_as_datetime(cell.value, book.datemode))
            elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                row.append(None)
            else:
                row.append(cell.value)
        rows.append(row)
    return rows


def _clean(value):
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def as_text(value):
    """A code or number cell as text: 100001.0 typed as a number reads 100001."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return str(value).strip()


def write_xlsx(headers, examples=()):
    """An .xlsx template: bold headers, then example rows."""
    import openpyxl
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in examples:
        sheet.append(list(row))
    for column in sheet.columns:
        sheet.column_dimensions[column[0].column_letter].width = 16
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
