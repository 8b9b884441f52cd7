"""Spreadsheets in and out: read xlsx/CSV as rows of text, write xlsx safely (no formula injection).

Community workers keep their registers in Excel; files arrive as xlsx or as CSV saved by Excel (UTF-8 with BOM, or
GB18030 from older Chinese Excel). Every reader yields `(row_number, {header: text})`, row numbers as Excel shows them.
"""

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils.exceptions import InvalidFileException

from ningju.core.errors import ApplicationError

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class Table:
    """A read spreadsheet: its headers and its data rows (all cells as stripped text)."""

    def __init__(self, headers: list[str], rows: list[tuple[int, dict[str, str]]]) -> None:
        self.headers = headers
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (
            value.strftime("%Y-%m-%d %H:%M:%S")
            if (value.hour, value.minute, value.second) != (0, 0, 0)
            else (value.strftime("%Y-%m-%d"))
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(source: IO[bytes] | Path | str, filename: str = "") -> Table:
    """Read an xlsx or CSV file; the first non-empty row is the header. Raises ApplicationError if unreadable."""
    name = (filename or str(getattr(source, "name", source))).lower()
    data = Path(source).read_bytes() if isinstance(source, (str, Path)) else source.read()
    if name.endswith((".xlsx", ".xlsm")):
        raw_rows = _xlsx_rows(data)
    elif name.endswith((".csv", ".txt")):
        raw_rows = _csv_rows(data)
    else:
        raise ApplicationError(_("不支持的文件类型：请上传 .xlsx 或 .csv 文件。"))
    headers: list[str] = []
    rows: list[tuple[int, dict[str, str]]] = []
    for number, cells in raw_rows:
        texts = [cell_text(c) for c in cells]
        if not any(texts):
            continue
        if not headers:
            headers = [t.replace("\n", "").strip() for t in texts]
            continue
        texts += [""] * (len(headers) - len(texts))
        rows.append((number, {h: t for h, t in zip(headers, texts, strict=False) if h}))
    if not headers:
        raise ApplicationError(_("文件是空的：没有找到表头行。"))
    return Table(headers, rows)


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, Sequence[Any]]]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise ApplicationError(_("无法读取该 Excel 文件：文件损坏或不是 xlsx 格式。")) from error
    sheet = workbook.worksheets[0]
    yield from enumerate(sheet.iter_rows(values_only=True), start=1)
    workbook.close()


def _csv_rows(data: bytes) -> Iterator[tuple[int, Sequence[Any]]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ApplicationError(_("无法识别 CSV 文件的编码：请另存为 UTF-8 编码。"))
    yield from enumerate(csv.reader(io.StringIO(text)), start=1)


def safe_text(value: Any) -> Any:
    """A value as it may go into a cell: text that Excel would run as a formula is kept as text."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_xlsx(
    target: IO[bytes] | Path | str, sheets: Iterable[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]
) -> int:
    """Write sheets of (title, headers, rows) in streaming mode; returns the number of data rows written.

    Every string cell is stored as text (data_type 's'), and text starting like a formula gets a leading
    apostrophe, so a name such as "=HYPERLINK(...)" can never become a live formula (CSV/formula injection)."""
    workbook = Workbook(write_only=True)
    count = 0
    for title, headers, rows in sheets:
        sheet = workbook.create_sheet(title=title[:31])
        header_cells = []
        for header in headers:
            cell = WriteOnlyCell(sheet, value=header)
            cell.font = Font(bold=True)
            header_cells.append(cell)
        sheet.append(header_cells)
        for row in rows:
            cells = []
            for value in row:
                cell = WriteOnlyCell(sheet, value=safe_text(value))
                if isinstance(value, str):
                    cell.data_type = "s"
                cells.append(cell)
            sheet.append(cells)
            count += 1
    workbook.save(target)
    return count
