"""Reading demand files for the text engine: columns by name from CSV/xlsx, and dates in the formats seen in the wild.

Hotline exports and old registers mix "2019/2/14  20:00:00", "2020-01-03 09:12", "2019年2月14日", Excel's own
datetimes and even Excel day numbers ("43510.83") in one column; `parse_datetime` reads them all as aware
Asia/Shanghai datetimes and returns None for an empty or unreadable cell.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from ningju.core.errors import ApplicationError
from ningju.core.tables import read_table

SHANGHAI = ZoneInfo("Asia/Shanghai")
EXCEL_EPOCH = datetime(1899, 12, 30)
_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]+(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2})(?:\.\d+)?)?\s*秒?)?\s*$"
)
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:\s*(\d{2}):?(\d{2})(?::?(\d{2}))?)?$")
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")


def parse_datetime(value: object) -> datetime | None:
    """An aware datetime (Asia/Shanghai) from a cell, or None if it is empty or not a date."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)
    text = str(value).strip().replace("\u3000", " ")
    if not text:
        return None
    match = _DATE.match(text) or _COMPACT.match(text)
    try:
        if match:
            year, month, day, hour, minute, second = (int(p) if p else 0 for p in match.groups())
            return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)
        if _SERIAL.match(text):
            # Excel's day number (1900 date system, with its leap-year bug absorbed by the 1899-12-30 epoch)
            days = float(text)
            if 20_000 <= days <= 80_000:
                moment = EXCEL_EPOCH + timedelta(days=days)
                return moment.replace(microsecond=0, tzinfo=SHANGHAI)
            return None
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=SHANGHAI)


@dataclass
class DemandRows:
    """The rows of a demand file: joined text and its fields, and id, label and time when asked for."""

    texts: list[str]
    fields: list[tuple[str, ...]]
    ids: list[str]
    labels: list[str]
    times: list[datetime | None]
    row_numbers: list[int]


def read_demands(
    path: str | Path,
    *,
    text_cols: list[str],
    id_col: str = "",
    label_col: str = "",
    time_col: str = "",
) -> DemandRows:
    """Read the named columns of a CSV/xlsx file; a missing column is an ApplicationError naming it.

    Rows whose text, id and label are all empty are skipped; the texts of several columns are joined with "。"."""
    table = read_table(Path(path))
    wanted = [c for c in [*text_cols, id_col, label_col, time_col] if c]
    for column in wanted:
        if column not in table.headers:
            raise ApplicationError(
                _("文件中没有“%(column)s”列；找到的列：%(found)s")
                % {"column": column, "found": "、".join(h for h in table.headers if h) or _("（无）")}
            )
    rows = DemandRows([], [], [], [], [], [])
    for number, cells in table.rows:
        text = "。".join(cells.get(c, "") for c in text_cols if cells.get(c, ""))
        identifier = cells.get(id_col, "") if id_col else ""
        label = cells.get(label_col, "") if label_col else ""
        if not (text or identifier or label):
            continue
        rows.texts.append(text)
        rows.fields.append(tuple(cells.get(c, "") for c in text_cols))
        rows.ids.append(identifier)
        rows.labels.append(label)
        rows.times.append(parse_datetime(cells.get(time_col, "")) if time_col else None)
        rows.row_numbers.append(number)
    return rows
