"""Entering the official holiday arrangement for a year the calendar package does not know yet, and reading any
year's arrangement back (for the working-day calendar page).

The administrator copies the State Council notice as lines: holiday periods ("2027-01-01 2027-01-03 元旦", or one
day "2027-04-05 清明") and make-up working days ("2027-02-07 春节调休"). Every line is checked first; a bad line is
reported with its number and nothing is written.
"""

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

import chinese_calendar
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ningju.core import scoping
from ningju.core.errors import ApplicationError
from ningju.core.models import CalendarYear, User, WorkdayOverride
from ningju.core.workdays import YearSource, forget_overrides, workdays_between, year_source

MAX_HOLIDAY_DAYS = 15  # the longest official break (Spring Festival with weekends) is 9 days; more is a typo
DATE_TOKEN = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$")
RANGE_MARKS = re.compile(r"\s*(?:至|到|~|～|—|–)\s*")
WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


@dataclass(frozen=True, slots=True)
class Period:
    """A run of consecutive days with one name: a holiday period, or a single make-up working day."""

    start: date
    end: date
    name: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(slots=True)
class Arrangement:
    """A year's days off and make-up working days, read from the form or from the database."""

    holidays: list[Period] = field(default_factory=list)
    workdays: list[Period] = field(default_factory=list)

    def overrides(self) -> list[WorkdayOverride]:
        rows = [
            WorkdayOverride(day=p.start + timedelta(days=n), is_workday=False, name=p.name)
            for p in self.holidays
            for n in range(p.days)
        ]
        rows.extend(WorkdayOverride(day=p.start, is_workday=True, name=p.name) for p in self.workdays)
        return rows


def _parse_date(token: str) -> date | None:
    if not DATE_TOKEN.match(token):
        return None
    year, month, day = (int(part) for part in re.split(r"[-/.]", token))
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_arrangement(year: int, holidays_text: str, workdays_text: str) -> tuple[Arrangement, list[str]]:
    """The arrangement in two texts, and every problem found, each naming its list and line number."""
    arrangement = Arrangement()
    errors: list[str] = []
    seen: dict[date, str] = {}  # day → where it was listed, to catch a day listed twice

    def where(kind: str, number: int) -> str:
        return _("%(list)s第%(n)d行") % {"list": kind, "n": number}

    holiday_list, workday_list = _("节假日"), _("调休上班日")
    for number, _line, tokens in _lines(holidays_text):
        here = where(holiday_list, number)
        start = _parse_date(tokens[0])
        if start is None:
            errors.append(_date_error(here, tokens[0]))
            continue
        end, name_tokens = start, tokens[1:]
        if name_tokens and DATE_TOKEN.match(name_tokens[0]):
            parsed_end = _parse_date(name_tokens[0])
            if parsed_end is None:
                errors.append(_date_error(here, name_tokens[0]))
                continue
            end, name_tokens = parsed_end, name_tokens[1:]
        period = Period(start, end, " ".join(name_tokens) or _("法定节假日"))
        problem = _period_problem(year, period)
        if problem:
            errors.append(f"{here}：{problem}")
            continue
        clash = next((seen[d] for d in _days(period) if d in seen), None)
        if clash:
            errors.append(_("%(here)s：与%(other)s的日期重复。") % {"here": here, "other": clash})
            continue
        seen.update(dict.fromkeys(_days(period), here))
        arrangement.holidays.append(period)

    for number, line, tokens in _lines(workdays_text):
        here = where(workday_list, number)
        day = _parse_date(tokens[0])
        if day is None:
            errors.append(_date_error(here, tokens[0]))
            continue
        if len(tokens) > 1 and DATE_TOKEN.match(tokens[1]):
            errors.append(_("%(here)s：调休上班日每行只写一天（“%(line)s”）。") % {"here": here, "line": line})
            continue
        period = Period(day, day, " ".join(tokens[1:]) or _("调休上班"))
        problem = _period_problem(year, period)
        if problem:
            errors.append(f"{here}：{problem}")
        elif day.weekday() < 5:
            errors.append(
                _("%(here)s：%(day)s是%(weekday)s，本来就是工作日；调休上班日应是周六或周日。")
                % {"here": here, "day": day.isoformat(), "weekday": WEEKDAYS[day.weekday()]}
            )
        elif day in seen:
            errors.append(_("%(here)s：与%(other)s的日期重复。") % {"here": here, "other": seen[day]})
        else:
            seen[day] = here
            arrangement.workdays.append(period)

    if not arrangement.holidays and not errors:
        errors.append(_("请至少填写一个节假日（每行：开始日期 结束日期 名称）。"))
    return arrangement, errors


def _lines(text: str) -> list[tuple[int, str, list[str]]]:
    """(line number, line, tokens) of the non-empty lines; "#" starts a comment."""
    result = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if line:
            result.append((number, line, RANGE_MARKS.sub(" ", line).replace("，", " ").replace(",", " ").split()))
    return result


def _date_error(here: str, token: str) -> str:
    return _("%(here)s：无法识别日期“%(token)s”，请写成 2027-01-01 这样的格式。") % {"here": here, "token": token}


def _period_problem(year: int, period: Period) -> str:
    if period.start.year != year or period.end.year != year:
        return _("日期应在%(year)d年内。") % {"year": year}
    if period.end < period.start:
        return _("结束日期早于开始日期。")
    if period.days > MAX_HOLIDAY_DAYS:
        return _("一段假期不应超过%(n)d天，请检查日期。") % {"n": MAX_HOLIDAY_DAYS}
    if len(period.name) > WorkdayOverride._meta.get_field("name").max_length:  # type: ignore[operator]
        return _("名称太长。")
    return ""


def _days(period: Period) -> list[date]:
    return [period.start + timedelta(days=n) for n in range(period.days)]


def calendar_year_enter(
    *, user: User, year: int, holidays_text: str, workdays_text: str, notice: str = ""
) -> CalendarYear:
    """Enter (or correct) the official arrangement of a year the package does not know: replaces that year's
    override rows and marks the year entered, in one transaction. Nothing is written if any line is wrong."""
    scoping.require_street_admin(user)
    if not 2000 <= year <= 2100:
        raise ApplicationError(_("年份应在2000到2100之间。"))
    if year_source(year) == YearSource.PACKAGE:
        raise ApplicationError(
            _("%(year)d年的安排已由日历组件（chinesecalendar）提供，无需录入。") % {"year": year}
        )
    arrangement, errors = parse_arrangement(year, holidays_text, workdays_text)
    if errors:
        raise ApplicationError(_("录入内容有误，未保存任何数据。"), extra={"errors": errors})
    with transaction.atomic():
        WorkdayOverride.objects.filter(day__year=year).delete()
        WorkdayOverride.objects.bulk_create(arrangement.overrides())
        entered, _created = CalendarYear.objects.update_or_create(
            year=year,
            defaults={
                "entered": True,
                "notice": notice.strip()[:200],
                "entered_by": user,
                "entered_at": timezone.now(),
            },
        )
        # Other processes read the calendar through their own cache: they forget it when this commits.
        transaction.on_commit(forget_overrides)
    forget_overrides()
    return entered


def holiday_names() -> dict[str, str]:
    """The package's holidays by its English key, named in the user's language (the package names them in
    Chinese only)."""
    names = {
        "new_years_day": _("元旦"),
        "spring_festival": _("春节"),
        "tomb_sweeping_day": _("清明"),
        "labour_day": _("劳动节"),
        "dragon_boat_festival": _("端午"),
        "national_day": _("国庆节"),
        "mid_autumn_festival": _("中秋"),
    }
    return {h.value: names.get(h.name, h.chinese) for h in chinese_calendar.Holiday}


def package_arrangement(year: int) -> Arrangement:
    """What the calendar package says about an announced year, in the same shape as an entered one."""
    names = holiday_names()
    holidays = sorted((d, names.get(n, n)) for d, n in chinese_calendar.holidays.items() if d.year == year)
    workdays = sorted(
        (d, _("%(name)s调休") % {"name": names.get(n, n)})
        for d, n in chinese_calendar.workdays.items()
        if d.year == year and d.weekday() >= 5
    )
    return Arrangement(holidays=_runs(holidays), workdays=[Period(d, d, n) for d, n in workdays])


def stored_arrangement(year: int) -> Arrangement:
    rows = list(
        WorkdayOverride.objects.filter(day__year=year).order_by("day").values_list("day", "is_workday", "name")
    )
    return Arrangement(
        holidays=_runs([(d, n) for d, w, n in rows if not w]),
        workdays=[Period(d, d, n) for d, w, n in rows if w],
    )


def _runs(days: list[tuple[date, str]]) -> list[Period]:
    """Consecutive days with the same name joined into periods."""
    periods: list[Period] = []
    for day, name in days:
        last = periods[-1] if periods else None
        if last and last.name == name and last.end + timedelta(days=1) == day:
            periods[-1] = Period(last.start, day, name)
        else:
            periods.append(Period(day, day, name))
    return periods


def arrangement_texts(arrangement: Arrangement) -> tuple[str, str]:
    """The two texts of the entry form for an arrangement, so an entered year can be corrected later."""
    holidays = "\n".join(
        f"{p.start.isoformat()} {p.name}" if p.days == 1 else f"{p.start.isoformat()} {p.end.isoformat()} {p.name}"
        for p in arrangement.holidays
    )
    workdays = "\n".join(f"{p.start.isoformat()} {p.name}" for p in arrangement.workdays)
    return holidays, workdays


@dataclass(slots=True)
class YearView:
    year: int
    source: str
    record: CalendarYear | None
    arrangement: Arrangement
    working_days: int

    @property
    def editable(self) -> bool:
        return self.source != YearSource.PACKAGE


def year_view(year: int) -> YearView:
    """One year as the calendar page shows it: where it comes from, its holidays and its working-day count."""
    source = year_source(year)
    arrangement = package_arrangement(year) if source == YearSource.PACKAGE else stored_arrangement(year)
    return YearView(
        year=year,
        source=source,
        record=CalendarYear.objects.filter(year=year).select_related("entered_by").first(),
        arrangement=arrangement,
        working_days=len(workdays_between(date(year, 1, 1), date(year, 12, 31))),
    )
