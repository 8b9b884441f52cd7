"""The report: the article's sentence written from data with the article's rounding, its numbers equal to plain counts
of visits and demands, the tables behind it, scoped to street administrators and area heads, with audited PDF and
xlsx downloads and validated periods."""

import base64
import io
import pickle
import re
import zlib
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.db.models import Q, Sum
from django.test import Client
from django.utils import timezone, translation
from openpyxl import load_workbook

from ningju.core.models import AuditAction, AuditEntry, Role, User
from ningju.demands import rates
from ningju.demands.models import Category, Demand, DemandEvent, Kind, Source
from ningju.demands.services import demand_act, demand_create
from ningju.demands.workflow import State
from ningju.insights import report, rollups
from ningju.insights.models import DailyRollup, Mechanism
from ningju.insights.tasks_rollups import refresh_today_rollups_task
from ningju.registry.models import Household
from ningju.visits.models import Visit, VisitMode
from tests import factories
from tests.conftest import World

SHANGHAI = ZoneInfo("Asia/Shanghai")
URL = "/insights/report/"
YEAR_2025 = {"start": "2025-01-01", "end": "2025-12-31"}


def at(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SHANGHAI)


# --- rounding and the sentence ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (18_994, "1.8万余"),  # the demo street's year: "1万余" understated it by 47%
        (20_312, "2万余"),  # the article's 2万余户
        (66_140, "6.6万余"),
        (64_479, "6.4万余"),
        (1_328, "1300余"),  # the article's 1300余条
        (932, "930余"),
        (886, "880余"),  # "800余" understated it by 10%
        (651, "650余"),
        (123_456, "12万余"),
        (1_999_999, "190万余"),
        (9_999, "9900余"),
        (10_999, "1万余"),
        (10_000, "1万"),
        (20_000, "2万"),
        (18_000, "1.8万"),
        (1_300, "1300"),
        (199, "190余"),
        (100, "100"),
        (99, "99"),
        (0, "0"),
    ],
)
def test_counts_are_rounded_the_way_the_article_writes_them(n: int, text: str) -> None:
    assert report.round_like_article(n) == text


def shown_value(text: str) -> tuple[int, bool]:
    """The number a reader takes from the sentence's text, and whether it says "余" (more than that)."""
    more = text.endswith("余")
    body = text.removesuffix("余")
    if body.endswith("万"):
        return round(float(body.removesuffix("万")) * 10_000), more
    return int(body.replace(",", "")), more


VALUES = sorted({*range(0, 2_000), *range(2_000, 200_000, 37), *(10**k + d for k in range(2, 8) for d in (-1, 0, 1)),
                 *(k * 10**e - 1 for k in range(1, 100) for e in range(1, 6)), 18_994, 886, 1_328})  # fmt: skip


def test_a_rounded_count_never_overstates_and_understates_by_less_than_a_tenth() -> None:
    for n in VALUES:
        shown, more = shown_value(report.round_like_article(n))
        assert shown <= n, (n, shown)  # "余" and the exact number never say more than was done
        assert more == (shown != n), n  # "余" exactly when something was cut off
        if n:
            assert (n - shown) / n < 0.10, (n, shown)


def test_english_rounding_groups_the_digits() -> None:
    with translation.override("en"):
        assert report.round_like_article(18_994).replace("over ", "").rstrip("余+") in ("18,000", "18,000余")


def test_share_of_households_is_floored_and_100_only_when_complete() -> None:
    assert report.share_text(18_994, 20_000) == "94.9%"
    assert report.share_text(19_999, 20_000) == "99.9%"  # not "100%": one household was not visited
    assert report.share_text(20_000, 20_000) == "100%"
    assert report.share_text(1_300, 20_000) == "6.5%"
    assert report.share_text(0, 0) == "—"


def test_english_period_reads_as_dates_with_month_names() -> None:
    with translation.override("en"):
        assert report.period_label(date(2026, 1, 1), date(2026, 12, 5)) == "1 January – 5 December 2026"
        assert report.period_label(date(2025, 11, 28), date(2026, 2, 3)) == "28 November 2025 – 3 February 2026"
        assert "/" not in report.period_label(date(2026, 1, 1), date(2026, 5, 12))


def figures(**changes: Any) -> report.Figures:
    values: dict[str, Any] = {
        "start": date(2023, 1, 1),
        "end": date(2023, 12, 31),
        "area_name": "",
        "areas_total": 16,
        "areas_visited": 16,
        "households_visited": 20_312,
        "person_visits": 66_140,
        "opinions_received": 1_400,
        "opinions_answered": 1_328,
        "problems_found": 950,
        "problems_solved": 932,
        "households_total": 20_312,
        "every_household_visited": True,
    }
    return report.Figures(**{**values, **changes})


def test_sentence_with_the_articles_numbers_is_the_articles_sentence() -> None:
    assert report.report_sentence(figures()) == (
        "2023年，16个居民区全覆盖走访居民2万余户、6.6万余人次，回应居民意见建议1300余条，主动发现并解决问题930余件。"
    )


def test_sentence_does_not_claim_full_coverage_when_an_area_had_no_visit() -> None:
    sentence = report.report_sentence(
        figures(areas_visited=12, every_household_visited=False, households_total=30_000)
    )
    assert sentence.startswith("2023年，16个居民区中的12个走访居民2万余户（占全部住户的67.7%）")
    assert "全覆盖" not in sentence


def test_sentence_gives_the_share_when_some_household_was_not_visited() -> None:
    """The demo's 2025: every area had visits but about 6% of households were visited."""
    sentence = report.report_sentence(
        figures(start=date(2025, 1, 1), end=date(2025, 12, 31), households_visited=1_328, households_total=20_000,
                every_household_visited=False)
    )  # fmt: skip
    assert sentence.startswith("2025年，16个居民区走访居民1300余户（占全部住户的6.6%）、")
    assert "全覆盖" not in sentence


def test_sentence_of_part_of_a_year_names_the_dates() -> None:
    sentence = report.report_sentence(figures(start=date(2026, 1, 1), end=date(2026, 6, 30)))
    assert sentence.startswith("2026年1月1日至6月30日，")
    across = report.period_label(date(2025, 11, 28), date(2026, 11, 27))
    assert across == "2025年11月28日至2026年11月27日"


def test_sentence_of_one_area_names_the_area() -> None:
    sentence = report.report_sentence(figures(area_name="恒德里", areas_total=1, areas_visited=1))
    assert sentence.startswith("2023年，恒德里全覆盖走访居民")


# --- a small world ----------------------------------------------------------------------------------------------


def visit(world: World, household: Any, when: datetime, cadre: User | None = None) -> Visit:
    area = household.building.compound.area
    return Visit.objects.create(
        area=area,
        cadre=cadre or (world.cadre if area == world.hengdeli else world.other_cadre),
        household=household,
        visited_at=when,
        mode=VisitMode.FACE_TO_FACE,
    )


def received(world: World, user: User, when: datetime, *, kind: str, source: str, **kwargs: Any) -> Demand:
    demand, created = demand_create(
        user=user, area=kwargs.pop("area", world.hengdeli), kind=kind, source=source, text="楼道堆物", received_at=when,
        **kwargs,
    )  # fmt: skip
    assert created
    return demand


def steps(demand: Demand, *moves: tuple[User, str, datetime, dict[str, Any]]) -> Demand:
    for user, action, when, params in moves:
        demand = demand_act(user=user, demand_id=demand.pk, action=action, at=when, **params)
    return demand


@pytest.fixture
def year(world: World) -> World:
    return build_year(world)


def build_year(world: World) -> World:
    """2025 in 恒德里 and 又一村: visits (and one in 2024), opinions answered or not, problems found and solved or not,
    one whistle dispatched to 城管, one merged duplicate."""
    w = world
    second = factories.HouseholdFactory(building=w.household.building, room="303")
    factories.HouseholdFactory(building=w.household.building, room="304")  # never visited
    visit(w, w.household, at(2024, 12, 30))  # the year before: not counted
    visit(w, w.household, at(2025, 1, 6))
    visit(w, w.household, at(2025, 3, 3))
    visit(w, second, at(2025, 12, 31, 23))  # the last evening of the year counts
    visit(w, w.other_household, at(2025, 6, 2))
    visit(w, w.other_household, at(2026, 1, 1, 0))  # the next year: not counted

    head_009 = factories.area_user(w.youyicun, Role.AREA_HEAD, username="head-009")
    noise = Category.objects.filter(street=world.street, parent__isnull=False).select_related("parent").first()
    assert noise is not None and noise.parent is not None
    answered = received(w, w.cadre, at(2025, 3, 3), kind=Kind.OPINION, source=Source.VISIT, category=noise)
    steps(answered, (w.cadre, "contact", at(2025, 3, 4), {}))
    received(w, w.cadre, at(2025, 3, 5), kind=Kind.OPINION, source=Source.WALK_IN)  # not answered yet
    duplicate = received(w, w.cadre, at(2025, 3, 6), kind=Kind.OPINION, source=Source.ONLINE)
    steps(duplicate, (w.cadre, "contact", at(2025, 3, 6, 11), {}))
    steps(duplicate, (w.admin, "merge", at(2025, 3, 7), {"target": answered.pk, "reason": "重复反映"}))
    received(w, w.cadre, at(2024, 12, 20), kind=Kind.OPINION, source=Source.VISIT)  # received the year before

    solved = received(w, w.cadre, at(2025, 4, 1), kind=Kind.PROBLEM, source=Source.PATROL, category=noise.parent)
    steps(
        solved,
        (w.cadre, "contact", at(2025, 4, 1, 11), {}),
        (w.cadre, "start_handling", at(2025, 4, 1, 12), {}),
        (w.cadre, "resolve", at(2025, 4, 2), {}),
    )
    received(w, w.cadre, at(2025, 4, 3), kind=Kind.PROBLEM, source=Source.VISIT)  # found, not solved
    walk_in = received(w, w.cadre, at(2025, 4, 4), kind=Kind.PROBLEM, source=Source.WALK_IN)  # not found by us
    steps(
        walk_in,
        (w.cadre, "contact", at(2025, 4, 4, 11), {}),
        (w.cadre, "start_handling", at(2025, 4, 4, 12), {}),
        (w.cadre, "resolve", at(2025, 4, 7), {}),
    )
    whistled = received(w, w.other_cadre, at(2025, 5, 6), kind=Kind.PROBLEM, source=Source.VISIT, area=w.youyicun)
    steps(
        whistled,
        (w.other_cadre, "contact", at(2025, 5, 6, 11), {}),
        (w.other_cadre, "start_handling", at(2025, 5, 6, 12), {}),
        (head_009, "whistle", at(2025, 5, 6, 13), {"reason": "需要执法"}),
        (w.admin, "street_accept", at(2025, 5, 7, 9), {}),
        (w.admin, "dispatch", at(2025, 5, 7, 10), {"departments": [w.department.pk]}),
        (w.liaison, "acknowledge", at(2025, 5, 7, 11), {}),
        (w.liaison, "department_start", at(2025, 5, 7, 12), {}),
        (w.liaison, "department_resolve", at(2025, 5, 8), {"note": "已现场整改完毕"}),
    )
    return w


def direct_counts(area_q: Q) -> dict[str, int]:
    """The sentence's numbers for 2025, counted with plain ORM calls written independently of the report module."""
    lo, hi = at(2025, 1, 1, 0), at(2026, 1, 1, 0)
    visits = Visit.objects.filter(area_q, household__isnull=False, visited_at__gte=lo, visited_at__lt=hi)
    demands = Demand.objects.filter(area_q, created_at__gte=lo, created_at__lt=hi).exclude(state=State.MERGED)
    opinions = demands.filter(kind=Kind.OPINION)
    problems = demands.filter(kind=Kind.PROBLEM, source__in=[Source.VISIT, Source.PATROL])
    solved_ids = set(
        DemandEvent.objects.filter(
            to_state__in=[State.RESOLVED, State.DEPARTMENT_RESOLVED, State.CLOSED]
        ).values_list("demand_id", flat=True)
    )
    return {
        "areas_visited": len(set(visits.values_list("area_id", flat=True))),
        "households_visited": len(set(visits.values_list("household_id", flat=True))),
        "person_visits": visits.count(),
        "opinions_answered": opinions.exclude(state=State.ACCEPTED).count(),
        "problems_solved": sum(1 for pk in problems.values_list("pk", flat=True) if pk in solved_ids),
    }


def test_sentence_numbers_equal_direct_counts(year: World) -> None:
    scope = report.report_scope(year.admin)
    found = report.report_figures(scope, date(2025, 1, 1), date(2025, 12, 31))
    expected = direct_counts(Q(area__street=year.street))
    assert {key: getattr(found, key) for key in expected} == expected
    assert expected == {
        "areas_visited": 2,
        "households_visited": 3,
        "person_visits": 4,
        "opinions_answered": 1,
        "problems_solved": 2,
    }
    assert report.report_sentence(found) == (  # 304 was never visited: no 全覆盖, the share instead
        "2025年，2个居民区走访居民3户（占全部住户的75%）、4人次，回应居民意见建议1条，主动发现并解决问题2件。"
    )


def test_area_report_counts_only_the_area(year: World) -> None:
    scope = report.report_scope(year.admin, "310106006006")
    found = report.report_figures(scope, date(2025, 1, 1), date(2025, 12, 31))
    expected = direct_counts(Q(area=year.hengdeli))
    assert {key: getattr(found, key) for key in expected} == expected
    assert report.report_sentence(found).startswith("2025年，恒德里走访居民2户（占全部住户的66.6%）、3人次")


def test_partial_coverage_is_worded_as_m_of_n_areas(year: World) -> None:
    scope = report.report_scope(year.admin)
    found = report.report_figures(scope, date(2025, 1, 1), date(2025, 5, 31))  # 又一村's visit is in June
    assert report.report_sentence(found).startswith(
        "2025年1月1日至5月31日，2个居民区中的1个走访居民1户（占全部住户的25%）、2人次"
    )


def test_tables_count_visits_topics_whistles_and_departments(year: World) -> None:
    built = report.build_report(report.report_scope(year.admin), date(2025, 1, 1), date(2025, 12, 31))
    hengdeli = next(r for r in built.visits if r.code == "310106006006")
    assert (hengdeli.households, hengdeli.households_visited, hengdeli.visits) == (3, 2, 3)
    assert built.visits_total.households_visited == 3 and built.visits_total.visits == 4
    # Top-level topics: the subcategory's demand counts under its parent, with the parent's own demand.
    noise = Category.objects.filter(street=year.street, parent__isnull=False).select_related("parent").first()
    assert noise is not None and noise.parent is not None
    topic = {name: (cells, total) for name, cells, total in built.topics.rows}
    assert topic[noise.parent.name] == ([2, 0], 2)
    assert topic["未分类"] == ([3, 1], 4)
    assert built.topics.total == 6  # the merged duplicate and last year's opinion left out
    assert [(r.name, r.whistles, r.demands) for r in built.whistles] == [("恒德里", 0, 0), ("又一村", 1, 1)]
    chengguan = next(d for d in built.departments if d.name == "城管")
    assert (chengguan.dispatches, chengguan.returned, chengguan.resolved) == (1, 0, 1)
    assert [m for m, _v, _h in built.months][:2] == ["2025-01", "2025-02"] and len(built.months) == 12
    assert sum(v for _m, v, _h in built.months) == 4


def test_rates_in_the_report_are_the_rates_pages_numbers(year: World) -> None:
    start, end = date(2025, 1, 1), date(2025, 12, 31)
    built = report.build_report(report.report_scope(year.admin), start, end)
    page = rates.rate_table(rates.rates_scope(year.admin), rates.BY_AREA, start, end)
    assert [[r.counts for r in row.rates] for row in [*built.rate_table.rows, built.rate_table.total]] == [
        [r.counts for r in row.rates] for row in [*page.rows, page.total]
    ]
    departments = rates.rate_table(rates.rates_scope(year.admin), rates.BY_DEPARTMENT, start, end)
    assert [d.resolve_rate.counts for d in built.departments] == [r.rates[1].counts for r in departments.rows]


def test_mechanisms_running_in_the_period_are_listed(year: World) -> None:
    Mechanism.objects.create(
        street=year.street,
        name="沿街酒吧夜间噪音",
        measures=["白+黑", "常态巡查+重点固守"],
        started_on=date(2025, 6, 1),
    )
    Mechanism.objects.create(street=year.street, name="明年才启动", started_on=date(2026, 3, 1))
    Mechanism.objects.create(street=year.street, name="已停止", started_on=date(2025, 2, 1), active=False)
    rows = report.mechanism_rows(report.report_scope(year.admin), date(2025, 1, 1), date(2025, 12, 31))
    assert [(m.name, m.measures) for m in rows] == [("沿街酒吧夜间噪音", "白+黑、常态巡查+重点固守")]
    assert rows[0].recurrence  # a count where the clusters module tracks recurrence, "—" where it does not


# --- the page ---------------------------------------------------------------------------------------------------


def test_street_admin_sees_the_sentence_first_and_every_section(year: World, client: Client) -> None:
    client.force_login(year.admin)
    response = client.get(URL, {"year": "2025"})
    assert response.status_code == 200
    html = response.content.decode()
    sentence = (
        "2025年，2个居民区走访居民3户（占全部住户的75%）、4人次，回应居民意见建议1条，主动发现并解决问题2件。"
    )
    assert sentence in html
    assert "两位有效数字" in html  # the rounding rule is written on the page
    assert html.index(sentence) < html.index('id="section-visits"')
    for section in ("visits", "topics", "whistles", "rates", "mechanisms"):
        assert f'id="section-{section}"' in html
    assert 'id="report-charts"' in html and "echarts.min.js" in html


def test_page_opens_on_this_year_to_date(year: World, client: Client) -> None:
    client.force_login(year.admin)
    response = client.get(URL)
    assert response.status_code == 200
    built = response.context["report"]
    today = built.end
    assert built.start == date(today.year, 1, 1)


def test_full_coverage_only_when_every_household_of_the_scope_was_visited(year: World) -> None:
    scope = report.report_scope(year.admin)
    whole_year = (date(2025, 1, 1), date(2025, 12, 31))
    assert not report.report_figures(scope, *whole_year).full_coverage
    missing = Household.objects.filter(building__compound__area__street=year.street).exclude(
        visits__visited_at__gte=at(2025, 1, 1, 0), visits__visited_at__lt=at(2026, 1, 1, 0)
    )
    assert missing.count() == 1  # 304
    visit(year, missing.get(), at(2025, 9, 1))
    found = report.report_figures(scope, *whole_year)
    assert found.full_coverage
    assert report.report_sentence(found).startswith("2025年，2个居民区全覆盖走访居民4户、5人次")
    # A household visited only the year before does not count toward this year's 全覆盖.
    assert not report.report_figures(scope, date(2025, 1, 1), date(2025, 8, 31)).full_coverage


def test_this_years_report_names_at_least_nine_tenths_of_the_households_visited(
    world: World, client: Client
) -> None:
    """Done-when of issue 11: 工作报告 for the current year names at least 90% of the households actually visited
    (186 of them: the old rounding wrote "100余"), and says 全覆盖 only once every household was visited."""
    today = timezone.localdate()
    first_day = datetime.combine(date(today.year, 1, 1), datetime.min.time(), tzinfo=SHANGHAI)
    building = world.household.building
    rooms = Household.objects.bulk_create([Household(building=building, room=f"H{i}") for i in range(186)])
    for i, household in enumerate(rooms):
        visit(world, household, first_day + timedelta(hours=10 + i % 8, minutes=i))
    client.force_login(world.admin)

    def sentence() -> str:
        response = client.get(URL)
        assert response.status_code == 200
        text = response.context["report"].sentence
        assert text in response.content.decode()
        return str(text)

    def visited() -> int:
        lo = first_day
        hi = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI)
        return len(
            set(Visit.objects.filter(household__isnull=False, visited_at__gte=lo, visited_at__lt=hi).values_list(
                "household_id", flat=True))
        )  # fmt: skip

    text = sentence()
    named, _more = shown_value(re.search(r"走访居民([0-9.,万余]+)户", text).group(1))  # type: ignore[union-attr]
    assert visited() == 186 and named >= 0.9 * 186 and named <= 186
    assert "全覆盖" not in text  # the world's own households were not visited
    for household in Household.objects.filter(building__compound__area__street=world.street).exclude(
        pk__in=[h.pk for h in rooms]
    ):
        visit(world, household, first_day + timedelta(hours=9))
    text = sentence()  # a new visit: the page counts again (not a stale cached report)
    assert "全覆盖" in text
    total = Household.objects.filter(building__compound__area__street=world.street).count()
    named, _more = shown_value(re.search(r"走访居民([0-9.,万余]+)户", text).group(1))  # type: ignore[union-attr]
    assert visited() == total and 0.9 * total <= named <= total


def test_cached_report_equals_the_live_count_and_the_rollups(year: World) -> None:
    """The page reads a report counted once per state of the data; its figures are the live count's, and the
    visits and opinions it names are what the rollups hold for the same days."""
    scope = report.report_scope(year.admin)
    whole_year = (date(2025, 1, 1), date(2025, 12, 31))
    cached = report.cached_report(scope, *whole_year)
    assert cached.figures == report.build_report(scope, *whole_year).figures
    assert report.cached_report(scope, *whole_year).computed_at == cached.computed_at  # served from the cache
    rollups.rollups_refresh(street=year.street, start=whole_year[0], end=whole_year[1])
    summed = DailyRollup.objects.filter(area__street=year.street, day__gte=whole_year[0], day__lte=whole_year[1])
    totals = summed.aggregate(visits=Sum("household_visits"), opinions=Sum("opinions_received"))
    fresh = report.cached_report(scope, *whole_year)
    assert (fresh.figures.person_visits, fresh.figures.opinions_received) == (totals["visits"], totals["opinions"])
    visit(year, year.household, at(2025, 10, 1))  # a new visit: the cached report is not served again
    after = report.cached_report(scope, *whole_year)
    assert after.figures.person_visits == fresh.figures.person_visits + 1
    assert after.figures == report.build_report(scope, *whole_year).figures


def test_the_rollup_refresh_counts_this_years_reports_ahead_of_readers(year: World) -> None:
    refresh_today_rollups_task.call_local()  # refreshes the rollups, then report_warm
    today = timezone.localdate()
    for person, area in ((year.admin, None), (year.head, year.hengdeli)):
        scope = report.report_scope(person)
        stored = cache.get(report._cache_key(scope, date(today.year, 1, 1), today))
        assert stored is not None, person
        assert report.cached_report(scope, date(today.year, 1, 1), today).figures.area_name == (
            area.name if area else ""
        )


def test_cached_report_keeps_no_user_and_no_password_hash(year: World) -> None:
    scope = report.report_scope(year.admin)
    report.cached_report(scope, date(2025, 1, 1), date(2025, 12, 31))
    stored = cache.get(report._cache_key(scope, date(2025, 1, 1), date(2025, 12, 31)))
    assert stored is not None and "scope" not in stored
    raw = pickle.dumps(stored)
    assert year.admin.password.encode() not in raw and b"ningju.core.models" not in raw


def test_cached_report_is_not_shared_between_an_area_head_and_another_scope(year: World, client: Client) -> None:
    client.force_login(year.admin)
    assert client.get(URL, YEAR_2025).context["report"].scope.area is None  # the street's report, now cached
    client.force_login(year.head)
    mine = client.get(URL, YEAR_2025).context["report"]
    assert mine.scope.area == year.hengdeli and mine.figures.areas_total == 1
    assert mine.scope.user == year.head


def test_a_year_with_other_dates_is_refused_not_silently_ignored(year: World, client: Client) -> None:
    """The period has one source of truth: 年度 2025 while the date fields still hold this year's dates is a
    conflict the page names, not a 2026 report under a 2025 heading."""
    client.force_login(year.admin)
    today = timezone.localdate()
    response = client.get(URL, {"year": "2025", "start": f"{today.year}-01-01", "end": today.isoformat()})
    assert response.status_code == 400
    assert "所选年度与填写的日期不一致" in response.content.decode()
    assert (
        client.get(URL, {"year": "2025", "start": "2025-02-01", "end": "2025-12-31", "format": "pdf"}).status_code
        == 400
    )


def test_a_year_alone_or_with_its_own_dates_gives_that_year(year: World, client: Client) -> None:
    client.force_login(year.admin)
    for params in ({"year": "2025"}, {"year": "2025", **YEAR_2025}, {"year": "", **YEAR_2025}):
        response = client.get(URL, params)
        assert response.status_code == 200, params
        built = response.context["report"]
        assert (built.start, built.end) == (date(2025, 1, 1), date(2025, 12, 31)), params
        assert built.sentence.startswith("2025年，")
    # After a year was chosen the date fields are left empty, so choosing another year next time is not
    # overridden by stale dates.
    form = client.get(URL, {"year": "2025"}).context["form"]
    assert form["start"].value() in (None, "") and form["end"].value() in (None, "")
    assert str(form["year"].value()) == "2025"


def test_english_report_title_reads_naturally(year: World, client: Client) -> None:
    client.force_login(year.admin)
    with translation.override("en"):
        built = report.build_report(report.report_scope(year.admin), date(2025, 1, 1), date(2025, 5, 12))
        assert "1 January – 12 May 2025" in built.title
        assert "1/1" not in built.title


@pytest.mark.parametrize("who", ["cadre", "other_cadre", "liaison", "nobody"])
def test_others_than_admins_and_area_heads_are_refused(world: World, client: Client, who: str) -> None:
    client.force_login(world.users()[who])
    response = client.get(URL)
    assert response.status_code == 403
    assert client.get(URL, {"format": "pdf"}).status_code == 403
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_area_head_sees_own_area_and_is_refused_another(year: World, client: Client) -> None:
    client.force_login(year.head)
    response = client.get(URL, YEAR_2025)
    assert response.status_code == 200
    assert response.context["report"].scope.area == year.hengdeli
    assert "2025年，恒德里走访居民2户（占全部住户的66.6%）、3人次" in response.content.decode()
    assert client.get(URL, {**YEAR_2025, "area": "310106006009"}).status_code == 403
    assert client.get(URL, {**YEAR_2025, "area": "310106006009", "format": "xlsx"}).status_code == 403


def test_street_admin_picks_an_area_but_not_one_of_another_street(year: World, client: Client) -> None:
    client.force_login(year.admin)
    response = client.get(URL, {**YEAR_2025, "area": "310106006009"})
    assert response.status_code == 200
    assert "2025年，又一村全覆盖走访居民1户、1人次" in response.content.decode()  # its one household
    elsewhere = factories.StreetFactory(code="310106007", name="石门二路街道")
    other = factories.AreaFactory(street=elsewhere, code="310106007001", name="别的街道的居民区")
    assert client.get(URL, {**YEAR_2025, "area": other.code}).status_code == 403


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2025-12-31", "end": "2025-01-01"}, "开始日期不能晚于结束日期。"),
        ({"start": "2025-01-01"}, "自定义期间须填写结束日期。"),
        ({"end": "2025-01-01"}, "自定义期间须填写开始日期。"),
        ({"start": "2025-13-01", "end": "2025-12-31"}, "请输入有效的日期，格式为 YYYY-MM-DD。"),
        ({"start": "2015-01-01", "end": "2025-12-31"}, "统计期间最长五年。"),
        ({"year": "1999"}, "请选择有效的年度。"),
    ],
)
def test_bad_periods_are_refused_with_a_message(
    year: World, client: Client, params: dict[str, str], message: str
) -> None:
    client.force_login(year.admin)
    response = client.get(URL, params)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert client.get(URL, {**params, "format": "pdf"}).status_code == 400
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


# --- downloads --------------------------------------------------------------------------------------------------


def pdf_text(data: bytes) -> str:
    """The text drawn in a reportlab PDF: its content streams decoded, the CID strings read as UTF-16."""
    text = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", data, re.S):
        raw = stream.strip()
        raw = zlib.decompress(base64.a85decode(raw[:-2] if raw.endswith(b"~>") else raw))
        for literal in re.findall(rb"\(((?:\\.|[^\\)])*)\) Tj", raw, re.S):
            unescaped = re.sub(
                rb"\\([0-7]{1,3}|.)",
                lambda m: bytes([int(m.group(1), 8)]) if m.group(1)[:1].isdigit() else m.group(1),
                literal,
            )
            text.append(unescaped.decode("utf-16-be", errors="ignore"))
    return "".join(text)


def test_pdf_download_holds_the_sentence_and_is_audited(year: World, client: Client) -> None:
    client.force_login(year.admin)
    response = client.get(URL, {"year": "2025", "format": "pdf"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    assert "走访居民3户（占全部住户的75%）" in text
    assert "城管" in text and "恒德里" in text
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.user == year.admin and entry.target_type == "insights.report"
    assert entry.detail["format"] == "pdf" and entry.detail["start"] == "2025-01-01"


def test_xlsx_download_has_one_sheet_per_table_and_is_audited(year: World, client: Client) -> None:
    client.force_login(year.head)
    response = client.get(URL, {**YEAR_2025, "format": "xlsx"})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    assert book.sheetnames == ["概要", "走访", "月度走访", "诉求主题", "吹哨", "职能部门", "三率", "常态化机制"]
    summary = {row[0]: row[1] for row in book["概要"].iter_rows(min_row=2, values_only=True)}
    assert str(summary["报告语句"]).startswith("2025年，恒德里走访居民2户（占全部住户的66.6%）、3人次")
    assert summary["走访人次"] == 3
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.user == year.head and entry.detail["format"] == "xlsx" and entry.detail["area"] == "310106006006"
