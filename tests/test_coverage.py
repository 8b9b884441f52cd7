"""Coverage page: this year's coverage and must-visit compliance per area and street, visits per working day per
cadre, the overdue list (sortable, paginated, correct across month boundaries), its xlsx export, and scoping."""

import io
from datetime import date, datetime, time
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ningju.core.models import AuditAction, AuditEntry, User
from ningju.core.tables import read_table
from ningju.registry.models import Household, PatrolSite, PatrolSiteType, Tag
from ningju.visits import coverage
from ningju.visits.models import Pairing, Visit, VisitMode
from ningju.visits.rules import ensure_rules
from ningju.visits.views import routes as route_views
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db

AS_OF = "2025-06-30"


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def visit(household: Household, on: date, by: User, hour: int = 10) -> Visit:
    return Visit.objects.create(
        area=household.building.compound.area,
        cadre=by,
        household=household,
        visited_at=timezone.make_aware(datetime.combine(on, time(hour))),
        mode=VisitMode.FACE_TO_FACE,
    )


class Fixture:
    """恒德里: four households, three visited in 2025; two must-visit (one through a resident's tag), one of them
    visited in June. 又一村: one household, never visited."""

    def __init__(self, world: World) -> None:
        ensure_rules(world.street)
        compound = world.household.building.compound
        self.lonely = world.household  # 独居老人: monthly
        self.aged = factories.HouseholdFactory(building__compound=compound, room="401")
        factories.ResidentFactory(household=self.aged, name="赵桂兰").tags.set(
            [Tag.objects.get(street=world.street, name="高龄老人(80岁以上)")]
        )
        self.plain = factories.HouseholdFactory(building__compound=compound, room="402")
        self.last_year = factories.HouseholdFactory(building__compound=compound, room="403")
        visit(self.lonely, date(2025, 6, 10), world.cadre)
        visit(self.aged, date(2025, 3, 1), world.cadre)
        visit(self.plain, date(2025, 1, 5), world.head)
        visit(self.last_year, date(2024, 11, 1), world.cadre)


@pytest.fixture
def fx(world: World) -> Fixture:
    return Fixture(world)


def get(user: User, **params: str) -> Any:
    params.setdefault("end", AS_OF)
    return client_for(user).get(reverse("coverage"), params)


# --- the figures ------------------------------------------------------------------------------------------------


def test_three_of_four_households_visited_this_year_is_75_percent(world: World, fx: Fixture) -> None:
    response = get(world.head)
    total = response.context["figures"].total
    assert (total.households, total.visited_this_year) == (4, 3)
    assert total.coverage_pct == 75
    assert "75.0%" in response.content.decode()


def test_must_visit_compliance_counts_monthly_households_visited_this_month(world: World, fx: Fixture) -> None:
    total = get(world.head).context["figures"].total
    # 独居老人 visited in June; the 高龄老人 household (tag on its resident) last in March.
    assert (total.must_visit, total.must_visit_done) == (2, 1)
    assert total.compliance_pct == 50


def test_a_moved_out_residents_tag_no_longer_makes_the_household_must_visit(world: World, fx: Fixture) -> None:
    fx.aged.residents.update(active=False)
    assert get(world.head).context["figures"].total.must_visit == 1


def test_street_admin_sees_each_area_and_the_street_total(world: World, fx: Fixture) -> None:
    figures = get(world.admin).context["figures"]
    rows = {row.code: row for row in figures.areas}
    assert rows[world.hengdeli.code].coverage_pct == 75
    assert rows[world.youyicun.code].coverage_pct == 0
    assert (figures.total.households, figures.total.visited_this_year) == (5, 3)
    assert figures.total.coverage_pct == 60
    assert figures.total.overdue == 2  # 高龄老人 household (no visit in May) and 又一村's household (never)


def test_coverage_of_a_year_counts_only_that_years_visits_up_to_the_day_shown(world: World, fx: Fixture) -> None:
    total = get(world.head, end="2025-02-15").context["figures"].total
    assert total.visited_this_year == 1  # only the visit of 5 January had happened
    total = get(world.head, start="2024-01-01", end="2024-12-31").context["figures"].total
    assert total.visited_this_year == 1  # the November 2024 visit


def test_overdue_list_is_correct_across_a_month_boundary(world: World) -> None:
    ensure_rules(world.street)
    visit(world.household, date(2025, 1, 20), world.cadre)  # monthly (独居老人)

    def state(end: str) -> coverage.HouseholdDue:
        dues = get(world.head, end=end, status="all").context["figures"].dues
        return next(d for d in dues if d.household_id == world.household.pk)

    assert not state("2025-02-10").overdue
    assert state("2025-02-10").next_due == date(2025, 2, 28)
    assert not state("2025-02-28").overdue
    on_first = state("2025-03-01")
    assert on_first.overdue and on_first.days_since == 40
    html = get(world.head, end="2025-03-01").content.decode()
    assert world.household.address in html and "逾期" in html
    assert world.household.address not in get(world.head, end="2025-02-28").content.decode()


def test_never_visited_households_are_overdue_and_listed_first(world: World, fx: Fixture) -> None:
    items = get(world.admin).context["items"]
    assert [household.pk for _due, household in items] == [world.other_household.pk, fx.aged.pk]
    assert "从未走访" in get(world.admin).content.decode()


# --- per cadre --------------------------------------------------------------------------------------------------


def test_visits_per_working_day_follow_the_chinese_calendar(world: World) -> None:
    """2–6 June 2025 has four working days: Monday 2 June was the Dragon Boat Festival holiday."""
    ensure_rules(world.street)
    households = [
        factories.HouseholdFactory(building=world.household.building, room=f"5{n:02d}") for n in range(6)
    ]
    for household in households[:5]:
        visit(household, date(2025, 6, 3), world.cadre)  # a day that meets the minimum of 5
    for household in households[:3]:
        visit(household, date(2025, 6, 4), world.cadre)
    for household in households[:4]:
        visit(household, date(2025, 6, 2), world.cadre)  # holiday visits count, the holiday is no working day
    visit(households[5], date(2025, 6, 9), world.cadre)  # outside the period
    site = PatrolSite.objects.create(
        area=world.hengdeli,
        site_type=PatrolSiteType.objects.filter(street=world.street).first(),
        name="车棚",
        lat=31.2,
        lng=121.4,
    )
    Visit.objects.create(
        area=world.hengdeli,
        cadre=world.cadre,
        patrol_site=site,
        visited_at=timezone.make_aware(datetime(2025, 6, 5, 9)),
        mode=VisitMode.PATROL,
    )  # patrols are not household visits
    rates = {
        r.cadre.username: r for r in get(world.head, start="2025-06-02", end="2025-06-06").context["figures"].rates
    }
    rate = rates["cadre-006-1"]
    assert (rate.visits, rate.workdays, rate.per_workday, rate.days_meeting_minimum) == (12, 4, 3.0, 1)
    assert not rate.meets_minimum
    assert set(rates) == {"cadre-006-1"}  # the head sees the cadres of their area only


def test_calendar_warning_is_shown_for_a_year_without_an_official_arrangement(world: World) -> None:
    response = get(world.head, start="2003-06-01", end="2004-01-10")
    assert "2003年的法定节假日和调休安排尚未录入" in response.content.decode()
    assert "尚未录入" not in get(world.head).content.decode()


# --- scoping ----------------------------------------------------------------------------------------------------


def test_area_head_sees_only_their_areas_households(world: World, fx: Fixture) -> None:
    html = get(world.head, status="all").content.decode()
    assert fx.plain.address in html
    assert world.other_household.address not in html


def test_area_head_cannot_choose_another_area(world: World, fx: Fixture) -> None:
    response = get(world.head, area=world.youyicun.code, status="all")
    assert response.status_code == 200
    assert "该居民区不存在，或不在您的管理范围内。" in response.content.decode()
    assert world.other_household.address not in response.content.decode()


def test_street_admin_can_narrow_to_one_area(world: World, fx: Fixture) -> None:
    response = get(world.admin, area=world.youyicun.code, status="all")
    assert [h.pk for _d, h in response.context["items"]] == [world.other_household.pk]
    assert response.context["figures"].total.households == 1


def test_cadre_sees_their_paired_households_and_their_own_rate(world: World, fx: Fixture) -> None:
    other_building = factories.HouseholdFactory(
        building__compound=world.household.building.compound, room="1"
    ).building
    Pairing.objects.create(
        area=world.hengdeli, cadre=world.cadre, building=world.household.building, started_on=date(2025, 1, 1)
    )
    Pairing.objects.create(
        area=world.hengdeli, cadre=world.head, building=other_building, started_on=date(2025, 1, 1)
    )
    factories.area_user(world.hengdeli, username="cadre-006-2")
    figures = get(world.cadre, status="all").context["figures"]
    paired = set(Household.objects.filter(building=world.household.building).values_list("pk", flat=True))
    assert {d.household_id for d in figures.dues} == paired
    assert [r.cadre.username for r in figures.rates] == ["cadre-006-1"]
    assert figures.areas == []


@pytest.mark.parametrize("role", ["liaison", "nobody"])
def test_liaisons_and_users_without_a_role_are_refused(world: World, role: str) -> None:
    assert get(world.users()[role]).status_code == 403
    assert client_for(world.users()[role]).get(reverse("overdue_export")).status_code == 403


# --- the list: sorting, paging, bad input -----------------------------------------------------------------------


def test_list_sorts_by_days_since_last_visit_area_and_rule(world: World, fx: Fixture) -> None:
    def order(**params: str) -> list[int]:
        return [h.pk for _d, h in get(world.admin, status="all", **params).context["items"]]

    # never visited first, then the longest ago
    assert order(sort="-days") == [
        world.other_household.pk,
        fx.last_year.pk,
        fx.plain.pk,
        fx.aged.pk,
        fx.lonely.pk,
    ]
    assert order(sort="days")[:2] == [fx.lonely.pk, fx.aged.pk]
    assert order(sort="area")[-1] == world.other_household.pk  # 310106006009 after 310106006006
    assert order(sort="-area")[0] == world.other_household.pk
    by_rule = order(sort="rule")
    assert set(by_rule[:2]) == {fx.lonely.pk, fx.aged.pk}  # monthly rules before the yearly one


def test_list_is_paginated(world: World, fx: Fixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(route_views, "PAGE_SIZE", 2)
    first = get(world.admin, status="all", sort="-days")
    third = get(world.admin, status="all", sort="-days", page="3")
    assert [h.pk for _d, h in first.context["items"]] == [world.other_household.pk, fx.last_year.pk]
    assert [h.pk for _d, h in third.context["items"]] == [fx.lonely.pk]
    assert "第 1 / 3 页，共 5 条" in first.content.decode()


def test_htmx_request_gets_only_the_household_list(world: World, fx: Fixture) -> None:
    response = client_for(world.admin).get(reverse("coverage"), {"end": AS_OF}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="households"')
    assert "<html" not in html


def test_bad_dates_get_a_clear_message_and_the_default_period(world: World, fx: Fixture) -> None:
    response = get(world.head, end="2999-01-01")
    assert "截至日期不能晚于今天。" in response.content.decode()
    assert response.context["figures"].end == timezone.localdate()
    response = get(world.head, start="2025-07-01", end=AS_OF)
    assert "开始日期不能晚于截至日期。" in response.content.decode()


def test_coverage_takes_the_same_number_of_queries_for_more_households(world: World, fx: Fixture) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert get(world.admin, status="all").status_code == 200
        return len(captured.captured_queries)

    queries()  # warm the per-process caches (working-day calendar, content types) so both counts are alike
    before = queries()
    for n in range(20):
        household = factories.HouseholdFactory(building=world.household.building, room=f"9{n:02d}")
        visit(household, date(2025, 2, 1), world.cadre)
    assert queries() == before


# --- export -----------------------------------------------------------------------------------------------------


def export(user: User, **params: str) -> Any:
    params.setdefault("end", AS_OF)
    return client_for(user).get(reverse("overdue_export"), params)


def test_overdue_export_lists_the_areas_overdue_households_and_is_audited(world: World, fx: Fixture) -> None:
    response = export(world.head)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="overdue-2025-06-30.xlsx"'
    table = read_table(io.BytesIO(response.content), "overdue.xlsx")
    assert [row["地址"] for _n, row in table.rows] == [fx.aged.address]
    assert table.rows[0][1]["上次走访"] == "2025-03-01"
    assert table.rows[0][1]["走访要求"] == "高龄老人(80岁以上) — 每月"
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.user == world.head
    assert entry.target_type == "visits.overdue"
    assert entry.detail["rows"] == 1 and entry.detail["as_of"] == AS_OF


def test_street_admin_export_covers_every_area(world: World, fx: Fixture) -> None:
    table = read_table(io.BytesIO(export(world.admin).content), "overdue.xlsx")
    assert {row["居民区"] for _n, row in table.rows} == {"恒德里", "又一村"}
    assert table.rows[0][1]["上次走访"] == "从未走访"


def test_refused_export_writes_no_audit_entry(world: World, fx: Fixture) -> None:
    assert export(world.liaison).status_code == 403
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_cadre_export_holds_only_their_paired_overdue_households(world: World, fx: Fixture) -> None:
    Pairing.objects.create(
        area=world.hengdeli, cadre=world.cadre, building=fx.aged.building, started_on=date(2025, 1, 1)
    )
    table = read_table(io.BytesIO(export(world.cadre).content), "overdue.xlsx")
    # 又一村's never-visited household is overdue too, but not this cadre's to visit
    assert [row["地址"] for _n, row in table.rows] == [fx.aged.address]
