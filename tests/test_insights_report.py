"""The report: the article's sentence written from data with the article's rounding, its numbers equal to plain counts
of visits and demands, the tables behind it, scoped to street administrators and area heads, with audited PDF and
xlsx downloads and validated periods."""

import base64
import io
import re
import zlib
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Q
from django.test import Client
from openpyxl import load_workbook

from ningju.core.models import AuditAction, AuditEntry, Role, User
from ningju.demands import rates
from ningju.demands.models import Category, Demand, DemandEvent, Kind, Source
from ningju.demands.services import demand_act, demand_create
from ningju.demands.workflow import State
from ningju.insights import report
from ningju.insights.models import Mechanism
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
        (20_312, "2万余"),  # the article's 2万余户
        (66_140, "6万余"),  # the article's 6万余人次
        (1_328, "1300余"),  # the article's 1300余条
        (932, "900余"),  # the article's 900余件
        (651, "600余"),
        (123_456, "12万余"),
        (9_999, "9900余"),
        (10_000, "1万"),
        (20_000, "2万"),
        (1_300, "1300"),
        (100, "100"),
        (99, "99"),
        (0, "0"),
    ],
)
def test_counts_are_rounded_the_way_the_article_writes_them(n: int, text: str) -> None:
    assert report.round_like_article(n) == text


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
    }
    return report.Figures(**{**values, **changes})


def test_sentence_with_the_articles_numbers_is_the_articles_sentence() -> None:
    assert report.report_sentence(figures()) == (
        "2023年，16个居民区全覆盖走访居民2万余户、6万余人次，回应居民意见建议1300余条，主动发现并解决问题900余件。"
    )


def test_sentence_does_not_claim_full_coverage_when_an_area_had_no_visit() -> None:
    sentence = report.report_sentence(figures(areas_visited=12))
    assert sentence.startswith("2023年，16个居民区中的12个走访居民2万余户")
    assert "全覆盖" not in sentence


def test_sentence_of_part_of_a_year_names_the_dates() -> None:
    sentence = report.report_sentence(figures(start=date(2026, 1, 1), end=date(2026, 6, 30)))
    assert sentence.startswith("2026年1月1日至6月30日，")
    across = report.period_label(date(2025, 11, 28), date(2026, 11, 27))
    assert across == "2025年11月28日至2026年11月27日"


def test_sentence_of_one_area_names_the_area() -> None:
    sentence = report.report_sentence(figures(area_name="恒德里", areas_total=1, areas_visited=1))
    assert sentence.startswith("2023年，恒德里走访居民")


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
        (w.liaison, "department_resolve", at(2025, 5, 8), {}),
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
    assert report.report_sentence(found) == (
        "2025年，2个居民区全覆盖走访居民3户、4人次，回应居民意见建议1条，主动发现并解决问题2件。"
    )


def test_area_report_counts_only_the_area(year: World) -> None:
    scope = report.report_scope(year.admin, "310106006006")
    found = report.report_figures(scope, date(2025, 1, 1), date(2025, 12, 31))
    expected = direct_counts(Q(area=year.hengdeli))
    assert {key: getattr(found, key) for key in expected} == expected
    assert report.report_sentence(found).startswith("2025年，恒德里走访居民2户、3人次")


def test_partial_coverage_is_worded_as_m_of_n_areas(year: World) -> None:
    scope = report.report_scope(year.admin)
    found = report.report_figures(scope, date(2025, 1, 1), date(2025, 5, 31))  # 又一村's visit is in June
    assert report.report_sentence(found).startswith("2025年1月1日至5月31日，2个居民区中的1个走访居民1户、2人次")


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
    sentence = "2025年，2个居民区全覆盖走访居民3户、4人次，回应居民意见建议1条，主动发现并解决问题2件。"
    assert sentence in html
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
    assert "2025年，恒德里走访居民2户、3人次" in response.content.decode()
    assert client.get(URL, {**YEAR_2025, "area": "310106006009"}).status_code == 403
    assert client.get(URL, {**YEAR_2025, "area": "310106006009", "format": "xlsx"}).status_code == 403


def test_street_admin_picks_an_area_but_not_one_of_another_street(year: World, client: Client) -> None:
    client.force_login(year.admin)
    response = client.get(URL, {**YEAR_2025, "area": "310106006009"})
    assert response.status_code == 200
    assert "2025年，又一村走访居民1户、1人次" in response.content.decode()
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
    assert "全覆盖走访居民3户" in text
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
    assert str(summary["报告语句"]).startswith("2025年，恒德里走访居民2户、3人次")
    assert summary["走访人次"] == 3
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.user == year.head and entry.detail["format"] == "xlsx" and entry.detail["area"] == "310106006006"
