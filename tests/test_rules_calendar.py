"""Visit rules and the working-day calendar: which days count, which rule applies, when a visit is due, and the
pages where the street administrator edits rules and enters a year's official holiday arrangement."""

from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from ningju.core import calendar_services
from ningju.core.errors import ApplicationError
from ningju.core.models import CalendarYear, WorkdayOverride
from ningju.core.workdays import (
    YearSource,
    add_workdays,
    calendar_warning,
    forget_overrides,
    is_workday,
    workdays_between,
    year_source,
)
from ningju.registry.models import PatrolSite, PatrolSiteType, Street, Tag
from ningju.visits import rule_services
from ningju.visits.models import Interval, Visit, VisitMode, VisitRule, VisitSettings
from ningju.visits.rules import (
    RuleBook,
    due_reason,
    ensure_rules,
    household_tag_ids,
    is_overdue,
    last_household_visits,
    next_due,
    period,
)
from tests.conftest import World

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOLIDAYS_2027 = """# 国办发明电〔2026〕X号
2027-01-01 2027-01-03 元旦
2027-02-06 2027-02-13 春节
2027-10-01 至 2027-10-07 国庆节
"""
MAKE_UP_2027 = "2027-02-20 春节调休\n2027-10-09 国庆节调休\n"


@pytest.fixture(autouse=True)
def fresh_calendar() -> Iterator[None]:
    """The calendar caches each year; the test database rolls back, so the cache must be forgotten both ways."""
    forget_overrides()
    yield
    forget_overrides()


def enter_2027(world: World, holidays: str = HOLIDAYS_2027, workdays: str = MAKE_UP_2027) -> CalendarYear:
    return calendar_services.calendar_year_enter(
        user=world.admin, year=2027, holidays_text=holidays, workdays_text=workdays, notice="国办发明电〔2026〕X号"
    )


# --- working days ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_make_up_saturday_is_a_working_day() -> None:
    assert date(2026, 2, 14).weekday() == 5  # a Saturday, worked for the Spring Festival
    assert is_workday(date(2026, 2, 14))
    assert is_workday(date(2026, 1, 4))  # a Sunday worked for New Year
    assert not is_workday(date(2026, 2, 7))  # an ordinary Saturday


@pytest.mark.django_db
def test_national_day_week_is_not_worked_but_its_make_up_saturday_is() -> None:
    assert date(2026, 10, 1).weekday() == 3  # a Thursday
    assert not any(is_workday(date(2026, 10, day)) for day in range(1, 8))
    assert is_workday(date(2026, 10, 10))
    assert workdays_between(date(2026, 9, 30), date(2026, 10, 9)) == [
        date(2026, 9, 30),
        date(2026, 10, 8),
        date(2026, 10, 9),
    ]
    assert add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 8)


@pytest.mark.django_db
def test_announced_year_comes_from_the_package_without_warning() -> None:
    assert year_source(2026) == YearSource.PACKAGE
    assert calendar_warning(date(2026, 5, 1)) == ""


@pytest.mark.django_db
def test_unknown_year_is_weekends_only_with_a_warning_until_entered(world: World) -> None:
    assert year_source(2027) == YearSource.WEEKENDS_ONLY
    assert "2027" in calendar_warning(date(2027, 1, 1))
    assert is_workday(date(2027, 1, 1))  # a Friday: nobody knows yet that it is New Year's Day off
    assert not is_workday(date(2027, 2, 20))  # a Saturday

    enter_2027(world)

    assert year_source(2027) == YearSource.ENTERED
    assert calendar_warning(date(2027, 1, 1)) == ""
    assert not is_workday(date(2027, 1, 1))
    assert not is_workday(date(2027, 2, 8))  # a Monday in the Spring Festival break
    assert is_workday(date(2027, 2, 20))  # the make-up Saturday
    assert not is_workday(date(2027, 10, 4))
    assert is_workday(date(2027, 10, 8))
    assert CalendarYear.objects.get(year=2027).entered


@pytest.mark.django_db
def test_entering_with_a_bad_line_reports_its_number_and_writes_nothing(world: World) -> None:
    holidays = "2027-01-01 2027-01-03 元旦\n\n2027-13-01 春节\n"
    with pytest.raises(ApplicationError) as raised:
        enter_2027(world, holidays=holidays)
    errors = raised.value.extra["errors"]
    assert errors == ["节假日第3行：无法识别日期“2027-13-01”，请写成 2027-01-01 这样的格式。"]
    assert not WorkdayOverride.objects.exists()
    assert not CalendarYear.objects.exists()
    assert year_source(2027) == YearSource.WEEKENDS_ONLY


@pytest.mark.django_db
def test_make_up_day_on_a_weekday_and_a_day_listed_twice_are_refused_by_line(world: World) -> None:
    with pytest.raises(ApplicationError) as raised:
        enter_2027(world, workdays="2027-02-20 春节调休\n2027-02-22 春节调休\n2027-01-02 元旦调休\n")
    errors = raised.value.extra["errors"]
    assert any(e.startswith("调休上班日第2行") and "星期一" in e for e in errors)
    assert any(e.startswith("调休上班日第3行") and "节假日第2行" in e for e in errors)  # line 1 is a comment
    assert not WorkdayOverride.objects.exists()


@pytest.mark.django_db
def test_dates_outside_the_year_and_reversed_periods_are_refused(world: World) -> None:
    with pytest.raises(ApplicationError) as raised:
        enter_2027(world, holidays="2026-12-31 2027-01-02 元旦\n2027-05-05 2027-05-01 劳动节\n", workdays="")
    assert raised.value.extra["errors"] == [
        "节假日第1行：日期应在2027年内。",
        "节假日第2行：结束日期早于开始日期。",
    ]


@pytest.mark.django_db
def test_an_entered_year_can_be_corrected_later(world: World) -> None:
    enter_2027(world)
    holidays, workdays = calendar_services.arrangement_texts(calendar_services.stored_arrangement(2027))
    assert "2027-02-06 2027-02-13 春节" in holidays.splitlines()
    assert workdays.splitlines() == ["2027-02-20 春节调休", "2027-10-09 国庆节调休"]

    enter_2027(world, holidays="2027-01-01 元旦\n", workdays="")

    assert not is_workday(date(2027, 1, 1))
    assert is_workday(date(2027, 2, 8))  # the first entry's Spring Festival is gone
    assert not is_workday(date(2027, 2, 20))
    assert WorkdayOverride.objects.count() == 1


@pytest.mark.django_db
def test_a_year_the_package_knows_cannot_be_entered(world: World) -> None:
    with pytest.raises(ApplicationError, match="chinesecalendar"):
        calendar_services.calendar_year_enter(
            user=world.admin, year=2026, holidays_text="2026-01-01 元旦", workdays_text=""
        )


@pytest.mark.django_db
def test_only_a_street_administrator_enters_a_year(world: World) -> None:
    for user in (world.head, world.cadre):
        with pytest.raises(PermissionDenied):
            calendar_services.calendar_year_enter(
                user=user, year=2027, holidays_text=HOLIDAYS_2027, workdays_text=""
            )
    assert not CalendarYear.objects.exists()


def test_package_arrangement_lists_holidays_in_chinese() -> None:
    arrangement = calendar_services.package_arrangement(2026)
    national = next(p for p in arrangement.holidays if p.name == "国庆节")
    assert national.start == date(2026, 10, 1)
    assert date(2026, 2, 14) in {p.start for p in arrangement.workdays}


# --- the calendar page -----------------------------------------------------------------------------------------


def login(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_calendar_page_shows_the_warning_and_the_administrator_enters_the_year(world: World) -> None:
    client = login(world.admin)
    page = client.get(reverse("workday_calendar")).content.decode()
    assert "2027年的法定节假日和调休安排尚未录入" in page
    assert 'name="holidays"' in page

    response = client.post(
        reverse("workday_calendar"),
        {"year": 2027, "holidays": HOLIDAYS_2027, "workdays": MAKE_UP_2027, "notice": "国办发明电"},
    )
    assert response.status_code == 302
    page = client.get(reverse("workday_calendar")).content.decode()
    assert "尚未录入" not in page
    assert "街道管理员录入的官方安排" in page
    assert not is_workday(date(2027, 10, 4))


def test_calendar_page_shows_the_bad_line_and_keeps_what_was_typed(world: World) -> None:
    client = login(world.admin)
    response = client.post(
        reverse("workday_calendar"),
        {"year": 2027, "holidays": "2027-01-01 元旦\n2027-02-30 春节", "workdays": "", "notice": ""},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "节假日第2行" in page
    assert "2027-02-30 春节" in page
    assert not WorkdayOverride.objects.exists()


def test_cadre_reads_the_calendar_but_cannot_enter_a_year(world: World) -> None:
    client = login(world.cadre)
    page = client.get(reverse("workday_calendar")).content.decode()
    assert "2026年" in page and 'name="holidays"' not in page
    response = client.post(reverse("workday_calendar"), {"year": 2027, "holidays": HOLIDAYS_2027})
    assert response.status_code == 403
    assert not CalendarYear.objects.exists()


# --- which rule applies ----------------------------------------------------------------------------------------


def test_strictest_rule_wins(world: World) -> None:
    ensure_rules(world.street)
    risky = Tag.objects.get(street=world.street, name="重点关注人员")
    world.resident.tags.add(risky)  # the household itself carries 独居老人 (monthly)
    book = RuleBook(world.street)
    tags = household_tag_ids([world.household.pk])[world.household.pk]
    requirement = book.household(tags)
    assert requirement is not None
    assert (requirement.interval, requirement.because) == (Interval.WEEK, "重点关注人员")
    lonely_only = book.household([Tag.objects.get(street=world.street, name="独居老人").pk])
    assert lonely_only is not None and lonely_only.interval == Interval.MONTH
    untagged = book.household([])
    assert untagged is not None and (untagged.interval, untagged.because) == (Interval.YEAR, "全覆盖")


def test_tags_of_moved_out_residents_do_not_count(world: World) -> None:
    risky = Tag.objects.get(street=world.street, name="重点关注人员")
    world.resident.tags.add(risky)
    world.resident.active = False
    world.resident.save(update_fields=["active"])
    tags = household_tag_ids([world.household.pk, world.other_household.pk])
    assert risky.pk not in tags[world.household.pk]
    assert world.other_household.pk not in tags  # no tags at all


def test_an_inactive_rule_no_longer_applies(world: World) -> None:
    ensure_rules(world.street)
    VisitRule.objects.filter(tag__name="独居老人").update(active=False)
    requirement = RuleBook(world.street).household([Tag.objects.get(street=world.street, name="独居老人").pk])
    assert requirement is not None and requirement.interval == Interval.YEAR


def test_ensure_rules_creates_the_defaults_once_and_keeps_edits(world: World) -> None:
    ensure_rules(world.street)
    assert VisitRule.objects.filter(street=world.street).count() == 1 + 7 + 4
    VisitRule.objects.filter(tag__name="独居老人").update(interval=Interval.WEEK)
    ensure_rules(world.street)
    assert VisitRule.objects.filter(street=world.street).count() == 12
    assert VisitRule.objects.get(tag__name="独居老人").interval == Interval.WEEK
    assert VisitRule.objects.get(tag__name="重点关注人员").interval == Interval.WEEK
    settings = VisitSettings.objects.get(street=world.street)
    assert (settings.min_households_per_day, settings.max_households_per_day, settings.gps_flag_metres) == (
        5,
        12,
        300,
    )


def test_patrol_sites_follow_their_type(world: World) -> None:
    ensure_rules(world.street)
    shed = PatrolSiteType.objects.get(street=world.street, name="非机动车棚及充电区域")
    other = PatrolSiteType.objects.create(street=world.street, name="健身苑点", must_patrol=False)
    book = RuleBook(world.street)
    requirement = book.patrol_site(shed.pk)
    assert requirement is not None and requirement.interval == Interval.WEEK
    assert book.patrol_site(other.pk) is None


# --- periods, due dates, overdue -------------------------------------------------------------------------------


def test_periods_are_calendar_weeks_months_and_years() -> None:
    assert period(date(2026, 12, 31), Interval.WEEK) == (date(2026, 12, 28), date(2027, 1, 3))
    assert period(date(2028, 2, 10), Interval.MONTH) == (date(2028, 2, 1), date(2028, 2, 29))
    assert period(date(2026, 12, 5), Interval.MONTH) == (date(2026, 12, 1), date(2026, 12, 31))
    assert period(date(2026, 1, 31), Interval.MONTH) == (date(2026, 1, 1), date(2026, 1, 31))
    assert period(date(2026, 6, 1), Interval.YEAR) == (date(2026, 1, 1), date(2026, 12, 31))


def test_next_due_is_the_end_of_the_period_after_the_last_visit() -> None:
    today = date(2026, 12, 15)
    # Never visited: November passed without a visit, so the due date is already behind (overdue).
    assert next_due(None, Interval.MONTH, today) == date(2026, 11, 30)
    assert is_overdue(None, Interval.MONTH, today)
    assert next_due(date(2026, 11, 30), Interval.MONTH, today) == date(2026, 12, 31)
    assert next_due(date(2026, 12, 1), Interval.MONTH, today) == date(2027, 1, 31)
    assert next_due(date(2026, 1, 31), Interval.MONTH, date(2026, 1, 31)) == date(2026, 2, 28)
    # The week of 2026-12-31 runs into 2027.
    assert next_due(date(2026, 12, 29), Interval.WEEK, date(2026, 12, 31)) == date(2027, 1, 10)
    assert next_due(date(2026, 12, 27), Interval.WEEK, date(2026, 12, 31)) == date(2027, 1, 3)
    assert next_due(date(2026, 3, 1), Interval.YEAR, date(2026, 11, 1)) == date(2027, 12, 31)
    assert next_due(date(2025, 3, 1), Interval.YEAR, date(2026, 11, 1)) == date(2026, 12, 31)


def test_overdue_means_a_whole_period_passed_without_a_visit() -> None:
    # Monthly: on 1 March, a visit on 31 January leaves all of February empty.
    assert is_overdue(date(2026, 1, 31), Interval.MONTH, date(2026, 3, 1))
    assert not is_overdue(date(2026, 2, 28), Interval.MONTH, date(2026, 3, 31))
    assert not is_overdue(date(2026, 12, 1), Interval.MONTH, date(2027, 1, 20))
    assert is_overdue(date(2026, 11, 30), Interval.MONTH, date(2027, 1, 1))
    # Weekly across New Year: the week 2026-12-28 … 2027-01-03 is the previous one on Monday 4 January.
    assert not is_overdue(date(2026, 12, 28), Interval.WEEK, date(2027, 1, 4))
    assert is_overdue(date(2026, 12, 27), Interval.WEEK, date(2027, 1, 4))
    # Yearly: visited last year is fine this year, two years ago is not.
    assert not is_overdue(date(2025, 3, 1), Interval.YEAR, date(2026, 11, 1))
    assert is_overdue(date(2024, 12, 31), Interval.YEAR, date(2026, 1, 2))


def test_due_reason_says_why_in_the_cadres_words(world: World) -> None:
    ensure_rules(world.street)
    requirement = RuleBook(world.street).household([Tag.objects.get(street=world.street, name="独居老人").pk])
    assert requirement is not None
    assert due_reason(requirement, date(2026, 10, 31), date(2026, 11, 28)) == "独居老人 — 每月，上次走访 28 天前"
    assert due_reason(requirement, None, date(2026, 11, 28)) == "独居老人 — 每月，尚未走访"


def test_last_visits_are_dated_in_shanghai_and_can_stop_before_a_day(world: World) -> None:
    # 23:30 on 1 March in Shanghai is still 1 March there (15:30 UTC).
    for moment in (datetime(2026, 3, 1, 23, 30, tzinfo=SHANGHAI), datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI)):
        Visit.objects.create(
            area=world.hengdeli,
            cadre=world.cadre,
            household=world.household,
            visited_at=moment,
            mode=VisitMode.FACE_TO_FACE,
        )
    assert last_household_visits([world.household.pk]) == {world.household.pk: date(2026, 3, 1)}
    assert last_household_visits([world.household.pk], before=date(2026, 3, 1)) == {
        world.household.pk: date(2026, 2, 10)
    }
    assert last_household_visits([world.other_household.pk]) == {}


# --- editing rules ---------------------------------------------------------------------------------------------


def rule_post(world: World, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {"min_households_per_day": 5, "max_households_per_day": 12, "gps_flag_metres": 300}
    for rule in VisitRule.objects.filter(street=world.street):
        data[f"interval-{rule.pk}"] = rule.interval
        if rule.active:
            data[f"active-{rule.pk}"] = "on"
    data.update(overrides)
    return data


def test_administrator_changes_an_interval_and_the_settings(world: World) -> None:
    ensure_rules(world.street)
    lonely = VisitRule.objects.get(tag__name="独居老人")
    client = login(world.admin)
    response = client.post(
        reverse("visit_rules"),
        rule_post(world, **{f"interval-{lonely.pk}": Interval.WEEK, "max_households_per_day": 10}),
    )
    assert response.status_code == 302
    lonely.refresh_from_db()
    assert lonely.interval == Interval.WEEK
    assert VisitSettings.objects.get(street=world.street).max_households_per_day == 10
    requirement = RuleBook(world.street).household([lonely.tag_id or 0])
    assert requirement is not None and requirement.interval == Interval.WEEK


def test_minimum_above_maximum_is_refused_in_chinese_and_nothing_changes(world: World) -> None:
    ensure_rules(world.street)
    lonely = VisitRule.objects.get(tag__name="独居老人")
    client = login(world.admin)
    response = client.post(
        reverse("visit_rules"),
        rule_post(world, **{f"interval-{lonely.pk}": Interval.WEEK, "min_households_per_day": 13}),
    )
    assert response.status_code == 200
    assert "至少走访户数（13）不能大于最多走访户数（12）" in response.content.decode()
    lonely.refresh_from_db()
    assert lonely.interval == Interval.MONTH
    assert VisitSettings.objects.get(street=world.street).min_households_per_day == 5


def test_the_full_coverage_rule_cannot_be_switched_off(world: World) -> None:
    ensure_rules(world.street)
    default = VisitRule.objects.get(target=VisitRule.Target.HOUSEHOLD)
    changes = {
        r.pk: rule_services.RuleChange(r.interval, r.pk != default.pk)
        for r in VisitRule.objects.filter(street=world.street)
    }
    with pytest.raises(ApplicationError, match="全覆盖"):
        rule_services.rules_update(
            user=world.admin,
            street=world.street,
            changes=changes,
            min_households_per_day=5,
            max_households_per_day=12,
            gps_flag_metres=300,
        )
    assert VisitRule.objects.get(pk=default.pk).active


def test_administrator_adds_a_rule_for_a_care_tag_once(world: World) -> None:
    ensure_rules(world.street)
    care = Tag.objects.create(street=world.street, name="助餐对象", category="care")
    rule = rule_services.rule_create(user=world.admin, street=world.street, interval=Interval.MONTH, tag=care)
    assert RuleBook(world.street).household([care.pk]) is not None
    assert rule.target == VisitRule.Target.TAG
    with pytest.raises(ApplicationError, match="已有走访规则"):
        rule_services.rule_create(user=world.admin, street=world.street, interval=Interval.WEEK, tag=care)


def test_area_head_reads_the_rules_but_cannot_change_them(world: World) -> None:
    ensure_rules(world.street)
    client = login(world.head)
    page = client.get(reverse("visit_rules")).content.decode()
    assert "重点关注人员" in page and "只有街道管理员可以修改走访规则" in page
    assert 'name="min_households_per_day"' not in page
    lonely = VisitRule.objects.get(tag__name="独居老人")
    response = client.post(reverse("visit_rules"), rule_post(world, **{f"interval-{lonely.pk}": Interval.WEEK}))
    assert response.status_code == 403
    assert VisitRule.objects.get(pk=lonely.pk).interval == Interval.MONTH
    with pytest.raises(PermissionDenied):
        rule_services.rule_create(
            user=world.head,
            street=world.street,
            interval=Interval.WEEK,
            tag=Tag.objects.get(street=world.street, name="残疾人"),
        )


def test_liaison_has_no_rules_page(world: World) -> None:
    assert login(world.liaison).get(reverse("visit_rules")).status_code == 403


def test_patrol_site_rule_change_reaches_the_rule_book(world: World) -> None:
    ensure_rules(world.street)
    shop_type = PatrolSiteType.objects.get(street=world.street, name="沿街商铺")
    PatrolSite.objects.create(area=world.hengdeli, site_type=shop_type, name="常德路小吃店", lat=31.24, lng=121.45)
    rule = VisitRule.objects.get(patrol_type=shop_type)
    changes = {
        r.pk: rule_services.RuleChange(Interval.MONTH if r.pk == rule.pk else r.interval, r.active)
        for r in VisitRule.objects.filter(street=world.street)
    }
    rule_services.rules_update(
        user=world.admin,
        street=world.street,
        changes=changes,
        min_households_per_day=5,
        max_households_per_day=12,
        gps_flag_metres=300,
    )
    requirement = RuleBook(world.street).patrol_site(shop_type.pk)
    assert requirement is not None and requirement.interval == Interval.MONTH


def test_rules_of_another_street_are_not_editable(world: World) -> None:
    other = Street.objects.create(code="310106007", name="石门二路街道")
    ensure_rules(other)
    changes = {
        r.pk: rule_services.RuleChange(Interval.WEEK, True) for r in VisitRule.objects.filter(street=other)[:1]
    }
    with pytest.raises(ApplicationError):
        rule_services.rules_update(
            user=world.admin,
            street=world.street,
            changes=changes,
            min_households_per_day=5,
            max_households_per_day=12,
            gps_flag_metres=300,
        )
