"""Working days on the Chinese calendar: public holidays and make-up working days (调休) included.

The `chinesecalendar` package knows the years the State Council has announced (the next year's arrangement is
published around December). For a year it does not know, a street administrator enters the official arrangement
(`WorkdayOverride` rows and a `CalendarYear` marked as entered); until then weekends-only applies, and every page
that depends on it shows `calendar_warning()`.
"""

import time
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar
from django.db.models import Count, Max
from django.utils.translation import gettext as _

from ningju.core import bounds
from ningju.core.models import CalendarYear, WorkdayOverride


class YearSource:
    PACKAGE = "package"  # announced, shipped in chinesecalendar
    ENTERED = "entered"  # entered by a street administrator
    WEEKENDS_ONLY = "weekends_only"  # unknown: Monday–Friday, with a warning


@lru_cache(maxsize=64)
def _package_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=64)
def _year_table(year: int) -> tuple[str, frozenset[date], frozenset[date]]:
    """(source, extra working days, extra days off) for a year; cached until `forget_overrides()`."""
    entered = CalendarYear.objects.filter(year=year, entered=True).exists()
    overrides = WorkdayOverride.objects.filter(day__year=year).values_list("day", "is_workday")
    workdays = frozenset(day for day, is_workday in overrides if is_workday)
    days_off = frozenset(day for day, is_workday in overrides if not is_workday)
    if entered:
        return YearSource.ENTERED, workdays, days_off
    if _package_knows(year):
        return YearSource.PACKAGE, workdays, days_off
    return YearSource.WEEKENDS_ONLY, workdays, days_off


def forget_overrides() -> None:
    """Call after changing `WorkdayOverride`/`CalendarYear` rows (the services do)."""
    global _stamp, _checked_at
    _year_table.cache_clear()
    _stamp = None
    _checked_at = time.monotonic()  # just emptied: the next reads come from the database anyway


# Other processes (gunicorn workers, the task worker) notice an entered year within this many seconds: the cache
# is dropped when the tables' fingerprint changes, checked at most this often.
RECHECK_SECONDS = 30.0
_checked_at = 0.0
_stamp: tuple[object, ...] | None = None


def _table(year: int) -> tuple[str, frozenset[date], frozenset[date]]:
    global _checked_at, _stamp
    now = time.monotonic()
    if now - _checked_at > RECHECK_SECONDS:
        _checked_at = now
        stamp = (
            *CalendarYear.objects.aggregate(Max("entered_at"), Count("pk")).values(),
            *WorkdayOverride.objects.aggregate(Max("pk"), Count("pk")).values(),
        )
        if stamp != _stamp:
            _year_table.cache_clear()
            _stamp = stamp
    return _year_table(year)


def year_source(year: int) -> str:
    return _table(year)[0]


def is_workday(day: date) -> bool:
    source, workdays, days_off = _table(day.year)
    if day in workdays:
        return True
    if day in days_off:
        return False
    if source == YearSource.PACKAGE:
        return bool(chinese_calendar.is_workday(day))
    return day.weekday() < 5


def _check_span(start: date, days: int) -> None:
    """Refuse absurd input before walking the calendar: a caller that lets it through has missed a bound."""
    if not bounds.MIN_DATE <= start <= bounds.MAX_DATE:
        raise ValueError(f"date {start} outside {bounds.MIN_DATE} … {bounds.MAX_DATE}")
    if days > bounds.MAX_SPAN_DAYS:
        raise ValueError(f"span of {days} days exceeds {bounds.MAX_SPAN_DAYS}")


def workdays_between(start: date, end: date) -> list[date]:
    """Working days from `start` to `end`, both included (a span of at most `bounds.MAX_SPAN_DAYS`)."""
    if end >= start:
        _check_span(start, (end - start).days)
    return [
        start + timedelta(days=n) for n in range((end - start).days + 1) if is_workday(start + timedelta(days=n))
    ]


def iter_workdays(start: date) -> Iterator[date]:
    day = start
    while True:
        if is_workday(day):
            yield day
        day += timedelta(days=1)


def add_workdays(start: date, count: int) -> date:
    """The `count`-th working day after `start` (0: `start` itself if it is a working day, else the next one).

    `count` is at most `bounds.MAX_WORKDAYS`: a billion would walk the calendar for seconds and overflow the date.
    """
    if not 0 <= count <= bounds.MAX_WORKDAYS:
        raise ValueError(f"working days must be 0 … {bounds.MAX_WORKDAYS}, got {count}")
    _check_span(start, 0)
    days = iter_workdays(start + timedelta(days=1) if count > 0 else start)
    for _n in range(max(count - 1, 0)):
        next(days)
    return next(days)


def unknown_years(days: Iterable[date]) -> list[int]:
    return sorted({day.year for day in days if year_source(day.year) == YearSource.WEEKENDS_ONLY})


def calendar_warning(*days: date) -> str:
    """A warning for pages whose dates fall in a year with no official arrangement yet, else ''."""
    years = unknown_years(days)
    if not years:
        return ""
    return _(
        "%(years)s年的法定节假日和调休安排尚未录入，目前按“周一至周五为工作日”计算。请街道管理员在“工作日历”中录入官方安排。"
    ) % {"years": "、".join(str(y) for y in years)}
