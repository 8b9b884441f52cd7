"""Rollups and the dashboard: the daily rollups equal direct counts of visits and demands (local Shanghai days, the
first resolving step only once, callbacks by their own day), a refresh replaces exactly its range and can run twice;
the dashboard is scoped by role, validates its period, shows the rollup sums and the rates page's numbers, and its
xlsx downloads are audited."""

import io
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db.models import Sum
from django.test import Client
from django.utils import timezone

from ningju.core.jobs import job_start
from ningju.core.models import AuditAction, AuditEntry, Job, JobKind, JobStatus, Role, User
from ningju.core.tables import read_table
from ningju.demands import rates
from ningju.demands.models import Category, Demand, Kind, Source
from ningju.demands.services import demand_act, demand_create
from ningju.insights import dashboards, rollups
from ningju.insights.models import DailyRollup, TopicRollup
from ningju.insights.tasks_rollups import refresh_today_rollups_task
from ningju.registry.models import PatrolSite, PatrolSiteType
from ningju.visits import rules
from ningju.visits.models import Visit, VisitMode
from tests import factories
from tests.conftest import World

SHANGHAI = ZoneInfo("Asia/Shanghai")
URL = "/insights/dashboard/"
PERIOD = {"period": "custom", "start": "2025-09-01", "end": "2025-10-31"}
START, END = date(2025, 9, 1), date(2025, 10, 31)


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    """Test databases reuse ids, so a dashboard cached by an earlier test could look current: start empty."""
    cache.clear()


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=SHANGHAI)


def visit(
    world: World, cadre: User, when: datetime, household: Any = None, site: Any = None, met: str = ""
) -> Visit:
    return Visit.objects.create(
        id=uuid.uuid4(),
        area=cadre.area,
        cadre=cadre,
        household=household if site is None else None,
        patrol_site=site,
        visited_at=when,
        mode=VisitMode.PATROL if site is not None else VisitMode.FACE_TO_FACE,
        met=met,
    )


def received(world: World, user: User, when: datetime, *, area: Any = None, **kwargs: Any) -> Demand:
    fields = {"kind": Kind.PROBLEM, "source": Source.VISIT, "text": "楼道堆物", **kwargs}
    demand, _created = demand_create(user=user, area=area or world.hengdeli, received_at=when, **fields)
    return demand


def act(user: User, demand: Demand, action: str, when: datetime, **params: Any) -> Demand:
    return demand_act(user=user, demand_id=demand.pk, action=action, at=when, **params)


@dataclass
class Story:
    world: World
    second: Any  # a second household of 恒德里, no must-visit tag
    site: PatrolSite
    category: Category
    d1: Demand
    d2: Demand
    d3: Demand
    e1: Demand


@pytest.fixture
def story(world: World) -> Story:
    w = world
    rules.ensure_rules(w.street)  # 独居老人 (world.household) is a must-visit tag: monthly
    second = factories.HouseholdFactory(building=w.household.building, room="401")
    site = PatrolSite.objects.create(
        area=w.hengdeli,
        site_type=PatrolSiteType.objects.get(street=world.street, name="垃圾厢房"),
        name="633弄垃圾厢房",
        lat=31.2,
        lng=121.4,
    )
    # 15 September: two visits to the same household and one to another; 23:30 still counts on the 15th locally.
    visit(w, w.cadre, at(9, 15, 9), w.household, met="王秀英")
    visit(w, w.cadre, at(9, 15, 23, 30), w.household)
    visit(w, w.cadre, at(9, 15, 14), second, met="住户")
    visit(w, w.cadre, at(9, 16, 0, 30), site=site)  # a patrol just after midnight: the 16th
    visit(w, w.other_cadre, at(9, 15, 10), w.other_household)
    visit(w, w.other_cadre, at(9, 20, 10), w.other_household)  # a Saturday
    visit(w, w.cadre, at(11, 3), w.household)  # outside the period

    category = Category.objects.filter(street=world.street, parent__isnull=False).order_by("pk").first()
    assert category is not None
    # d1: received 15 Sep, contacted on time, resolved 17 Sep, callback 不满意 18 Sep, resolved again 19 Sep,
    # callback 满意 22 Sep (closed).
    d1 = received(w, w.cadre, at(9, 15), category=category)
    d1 = act(w.cadre, d1, "contact", at(9, 15, 15))
    d1 = act(w.cadre, d1, "start_handling", at(9, 16))
    d1 = act(w.cadre, d1, "resolve", at(9, 17))
    d1 = act(w.cadre, d1, "request_callback", at(9, 17, 11))
    d1 = act(w.cadre, d1, "callback", at(9, 18), callback_result="dissatisfied")
    d1 = act(w.cadre, d1, "resolve", at(9, 19))
    d1 = act(w.cadre, d1, "request_callback", at(9, 19, 11))
    d1 = act(w.cadre, d1, "callback", at(9, 22), callback_result="satisfied")
    # d2: an opinion at a walk-in, received 15 Sep at 22:00, never contacted (late).
    d2 = received(w, w.head, at(9, 15, 22), kind=Kind.OPINION, source=Source.WALK_IN, category=category)
    # d3: received 16 Sep, whistled 17 Sep.
    d3 = received(w, w.cadre, at(9, 16))
    d3 = act(w.cadre, d3, "contact", at(9, 16, 11))
    d3 = act(w.cadre, d3, "start_handling", at(9, 16, 12))
    d3 = act(w.head, d3, "whistle", at(9, 17), reason="需要执法")
    # A duplicate merged away counts nowhere.
    dup = received(w, w.cadre, at(9, 16, 12))
    act(w.admin, dup, "merge", at(9, 16, 13), target=d3.pk, reason="重复反映")
    # e1: 又一村, received 15 Sep.
    e1 = received(w, w.other_cadre, at(9, 15), area=w.youyicun, source=Source.HOTLINE)
    return Story(w, second, site, category, d1, d2, d3, e1)


def row(area: Any, cadre: User, day: date) -> DailyRollup:
    return DailyRollup.objects.get(area=area, cadre=cadre, day=day)


def refresh(story: Story, start: date = START, end: date = END) -> rollups.RollupResult:
    return rollups.rollups_refresh(street=story.world.street, start=start, end=end)


def values() -> list[tuple[Any, ...]]:
    fields = ["day", "area_id", "cadre_id", "workday", *rollups.COUNTERS]
    return sorted(DailyRollup.objects.values_list(*fields))


# --- rollups ----------------------------------------------------------------------------------------------------


def test_visit_rollups_count_local_days_distinct_households_must_visit_and_patrols(story: Story) -> None:
    w = story.world
    refresh(story)

    day = row(w.hengdeli, w.cadre, date(2025, 9, 15))
    assert (day.household_visits, day.households_visited, day.must_visit_visits, day.residents_met) == (3, 2, 2, 2)
    assert day.patrols == 0 and day.workday
    assert row(w.hengdeli, w.cadre, date(2025, 9, 16)).patrols == 1
    assert row(w.youyicun, w.other_cadre, date(2025, 9, 15)).household_visits == 1
    assert not DailyRollup.objects.filter(day=date(2025, 11, 3)).exists()
    assert not row(w.youyicun, w.other_cadre, date(2025, 9, 20)).workday  # a Saturday


def test_demand_rollups_equal_direct_counts(story: Story) -> None:
    w = story.world
    refresh(story)

    sums = DailyRollup.objects.aggregate(**{name: Sum(name) for name in rollups.COUNTERS})
    direct = Demand.objects.exclude(state="merged").filter(
        created_at__gte=at(9, 1, 0), created_at__lt=at(11, 1, 0)
    )
    assert sums["demands_received"] == direct.count() == 4
    assert sums["opinions_received"] == 1
    assert sums["problems_received"] == 3
    assert sums["problems_found"] == direct.filter(source__in=["visit", "patrol"]).count() == 2
    assert sums["demands_resolved"] == 1  # d1 resolved twice and closed: once, on its first 办结
    assert row(w.hengdeli, w.cadre, date(2025, 9, 17)).demands_resolved == 1
    assert sums["whistles"] == 1 and row(w.hengdeli, w.cadre, date(2025, 9, 17)).whistles == 1
    assert sums["callbacks"] == 2 and sums["callbacks_satisfied"] == 1
    assert row(w.hengdeli, w.cadre, date(2025, 9, 22)).callbacks_satisfied == 1
    # First contact: d1 and d3 on time; d2 and e1 never contacted and long past their deadline.
    assert (sums["contacted_on_time"], sums["contact_due"]) == (2, 4)
    head = row(w.hengdeli, w.head, date(2025, 9, 15))  # the owner is a head: their own row
    assert (head.demands_received, head.opinions_received, head.contact_due, head.contacted_on_time) == (
        1,
        1,
        1,
        0,
    )

    topics = dict(TopicRollup.objects.filter(area=w.hengdeli).values_list("category_id", "demands"))
    assert topics == {story.category.pk: 2, None: 1}


def test_refresh_twice_gives_the_same_rows(story: Story) -> None:
    refresh(story)
    first = values()
    result = refresh(story)
    assert values() == first
    assert result.daily_rows == len(first)


def test_refresh_replaces_only_its_range(story: Story) -> None:
    w = story.world
    refresh(story)
    visit(w, w.cadre, at(9, 15, 16), story.second)  # a late upload inside the old range
    visit(w, w.cadre, at(10, 20), story.second)

    refresh(story, date(2025, 10, 1), date(2025, 10, 31))

    assert row(w.hengdeli, w.cadre, date(2025, 9, 15)).household_visits == 3  # outside: untouched
    assert row(w.hengdeli, w.cadre, date(2025, 10, 20)).household_visits == 1
    refresh(story, date(2025, 9, 15), date(2025, 9, 15))
    assert row(w.hengdeli, w.cadre, date(2025, 9, 15)).household_visits == 4


def test_refresh_refuses_a_reversed_range_and_writes_nothing(story: Story) -> None:
    from ningju.core.errors import ApplicationError

    with pytest.raises(ApplicationError, match="开始日期不能晚于结束日期"):
        refresh(story, END, START)
    assert not DailyRollup.objects.exists()


def test_overdue_is_a_snapshot_of_today_kept_for_past_days(world: World) -> None:
    now = timezone.now()
    late = received(world, world.cadre, now - timedelta(days=30))
    assert late.due_at is not None and late.due_at < now
    today = timezone.localdate()
    rollups.rollups_refresh(street=world.street, start=today, end=today, now=now)
    assert row(world.hengdeli, world.cadre, today).overdue_open == 1

    tomorrow = now + timedelta(days=1)
    rollups.rollups_refresh(street=world.street, start=today, end=today + timedelta(days=1), now=tomorrow)
    assert row(world.hengdeli, world.cadre, today).overdue_open == 1  # carried over
    assert row(world.hengdeli, world.cadre, today + timedelta(days=1)).overdue_open == 1


def test_rollup_command_job_and_task_refresh_the_rollups(
    story: Story, django_capture_on_commit_callbacks: Any
) -> None:
    out = io.StringIO()
    call_command("rollup", street=story.world.street.code, start="2025-09-01", end="2025-10-31", stdout=out)
    assert "已汇总 2025-09-01 至 2025-10-31" in out.getvalue()
    rows = values()
    DailyRollup.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(
            kind=JobKind.ROLLUPS,
            handler=rollups.rollups_job,
            user=story.world.admin,
            params={"street": story.world.street.pk, "start": "2025-09-01", "end": "2025-10-31"},
        )
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert values() == rows

    refresh_today_rollups_task.call_local()  # today's rows: the overdue snapshot; September stays
    today = timezone.localdate()
    assert [r for r in values() if r[0] != today] == rows
    assert DailyRollup.objects.filter(day=today).aggregate(n=Sum("overdue_open"))["n"] == 2  # d2 and e1


def test_rollup_job_with_bad_params_fails_with_a_message(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(kind=JobKind.ROLLUPS, handler=rollups.rollups_job, user=world.admin, params={"street": 1})
    job = Job.objects.get(pk=job.pk)
    assert job.status == JobStatus.FAILED and job.message == "汇总参数无效。"


# --- the page ---------------------------------------------------------------------------------------------------


def page(client: Client, user: User, **params: str) -> Any:
    client.force_login(user)
    return client.get(URL, params)


def test_street_admin_sees_every_area_and_drills_down_to_a_cadre(client: Client, story: Story) -> None:
    w = story.world
    refresh(story)
    response = page(client, w.admin, **PERIOD)
    assert response.status_code == 200
    html = response.content.decode()
    assert "恒德里" in html and "又一村" in html
    assert "area=310106006006" in html  # a drill-down link

    area = page(client, w.admin, **PERIOD, area="310106006006")
    assert area.context["scope"].level == dashboards.AREA
    assert "cadre=cadre-006-1" in area.content.decode()

    person = page(client, w.admin, **PERIOD, area="310106006006", cadre="cadre-006-1")
    assert person.context["scope"].cadre == w.cadre
    assert person.context["totals"]["household_visits"] == 3


def test_cadre_sees_only_their_own_figures(client: Client, story: Story) -> None:
    w = story.world
    refresh(story)
    response = page(client, w.cadre, **PERIOD)
    assert response.status_code == 200
    assert response.context["scope"].level == dashboards.CADRE
    assert response.context["totals"]["household_visits"] == 3
    assert response.context["totals"]["demands_received"] == 2  # d1 and d3; d2 is the head's
    assert page(client, w.cadre, **PERIOD, cadre="head-006").status_code == 403
    assert page(client, w.cadre, **PERIOD, area="310106006009").status_code == 403


def test_area_head_sees_own_area_and_its_cadres_but_not_another_area(client: Client, story: Story) -> None:
    w = story.world
    refresh(story)
    response = page(client, w.head, **PERIOD)
    assert response.context["scope"].level == dashboards.AREA
    assert response.context["totals"]["household_visits"] == 3  # 又一村's visit is not here
    assert "又一村" not in response.content.decode().split("<main", 1)[1]
    assert page(client, w.head, **PERIOD, cadre="cadre-006-1").status_code == 200
    assert page(client, w.head, **PERIOD, area="310106006009").status_code == 403
    assert page(client, w.head, **PERIOD, cadre="cadre-009-1").status_code == 403


@pytest.mark.parametrize("who", ["liaison", "nobody"])
def test_liaison_and_user_without_role_are_refused(client: Client, world: World, who: str) -> None:
    assert page(client, world.users()[who]).status_code == 403


def test_anonymous_user_is_sent_to_login(client: Client, world: World) -> None:
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_bad_period_is_refused_with_a_chinese_message(client: Client, world: World) -> None:
    response = page(client, world.admin, period="decade")
    assert "请选择有效的统计期间。" in response.content.decode()
    response = page(client, world.admin, period="custom", start="2025-10-31", end="2025-09-01")
    assert "开始日期不能晚于结束日期。" in response.content.decode()
    response = page(client, world.admin, period="custom", start="2025-13-01", end="2025-09-01")
    assert "请输入有效的日期" in response.content.decode()
    # Bad input shows the default period (this month), never a half-understood one.
    assert response.context["options"]["period"] == rates.THIS_MONTH
    response = page(client, world.admin, period="custom", start="2025-09-01", end="2025-10-31", download="visits")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    bad = page(client, world.admin, period="custom", start="2025-10-31", end="2025-09-01", download="visits")
    assert bad.status_code == 400
    assert not AuditEntry.objects.filter(target_type="insights.dashboard", detail__start="2025-10-31").exists()


def test_named_periods_cover_months_and_years(client: Client, world: World) -> None:
    response = page(client, world.admin, period="last_year")
    year = timezone.localdate().year - 1
    assert response.context["options"]["start"] == date(year, 1, 1)
    assert response.context["options"]["end"] == date(year, 12, 31)


def test_page_totals_equal_rollup_sums_and_rates_equal_the_rates_page(client: Client, story: Story) -> None:
    w = story.world
    refresh(story)
    response = page(client, w.admin, **PERIOD)
    sums = DailyRollup.objects.filter(day__gte=START, day__lte=END).aggregate(
        **{name: Sum(name) for name in rollups.COUNTERS}
    )
    html = response.content.decode()
    for name in ("household_visits", "patrols", "demands_received", "problems_found", "demands_resolved"):
        assert response.context["totals"][name] == sums[name]
        assert f'data-total="{name}">{sums[name]}<' in html

    table = rates.rate_table(rates.rates_scope(w.admin), rates.BY_AREA, START, END)
    chart = dashboards.chart_of({"charts": [c for c in response.context["charts"]]}, "rates")
    assert chart is not None
    for line, cells in zip([*table.rows, table.total], chart["rows"], strict=True):
        assert cells[0] == line.label
        assert [cells[2], cells[3], cells[5], cells[6], cells[8], cells[9]] == [
            line.rates[0].numerator,
            line.rates[0].denominator,
            line.rates[1].numerator,
            line.rates[1].denominator,
            line.rates[2].numerator,
            line.rates[2].denominator,
        ]


def test_visits_chart_counts_per_working_day_against_the_minimum(client: Client, story: Story) -> None:
    w = story.world
    refresh(story)
    response = page(client, w.admin, **PERIOD, area="310106006006")
    chart = next(c for c in response.context["charts"] if c["key"] == "visits")
    workdays = chart["data"]["workdays"]
    # September: 22 weekdays and Sunday 28th, a make-up working day; October: 18 (National Day 1-8, Saturday 11th).
    assert workdays == 41
    cells = next(cells for cells in chart["rows"] if cells[0] == w.cadre.display_name)
    assert cells[1:] == [3, 1, round(3 / workdays, 2), 0]
    assert chart["data"]["minimum"] == 5


def test_funnel_overdue_topics_and_map_show_the_period(client: Client, story: Story) -> None:
    w = story.world
    refresh(story)
    charts = {c["key"]: c for c in page(client, w.admin, **PERIOD).context["charts"]}
    funnel = {cells[0]: cells[1] for cells in charts["funnel"]["rows"]}
    assert funnel == {"受理": 4, "已联系": 2, "处置": 2, "办结": 1, "回访": 1, "结案": 1}
    assert {cells[0]: cells[1] for cells in charts["topics"]["rows"]} == {str(story.category): 2, "未分类": 2}
    buildings = {cells[0]: cells[3] for cells in charts["map"]["rows"]}
    assert buildings[w.household.building.address] == 3
    assert charts["map"]["data"]["tiles"]["layers"] == [] or charts["map"]["data"]["tiles"]["source"] != "none"
    overdue = {cells[0]: cells[1:] for cells in charts["overdue"]["rows"]}
    assert set(overdue) == {"恒德里", "又一村"}


def test_every_chart_has_a_table_and_a_download(client: Client, story: Story) -> None:
    refresh(story)
    html = page(client, story.world.admin, **PERIOD).content.decode()
    for key in ("visits", "coverage", "funnel", "rates", "overdue", "topics", "clusters", "map"):
        assert f'id="chart-{key}"' in html
        assert f'data-table="{key}"' in html
        assert f"download={key}" in html
    assert 'id="dashboard-data"' in html
    assert "数据更新于" in html


def test_xlsx_download_is_the_table_and_is_audited(client: Client, story: Story) -> None:
    w = story.world
    refresh(story)
    response = page(client, w.admin, **PERIOD, area="310106006006", download="visits")
    assert response.status_code == 200
    sheet = read_table(io.BytesIO(response.content), "visits.xlsx")
    shown = next(
        c for c in page(client, w.admin, **PERIOD, area="310106006006").context["charts"] if c["key"] == "visits"
    )
    assert sheet.headers == shown["headers"]
    assert len(sheet) == len(shown["rows"])
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT, target_type="insights.dashboard")
    assert entry.user == w.admin
    assert entry.detail["chart"] == "visits" and entry.detail["area"] == "310106006006"


def test_unknown_chart_download_is_refused(client: Client, world: World) -> None:
    assert page(client, world.admin, download="nothing").status_code == 400
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_a_refresh_shows_new_numbers_at_once(client: Client, story: Story) -> None:
    w = story.world
    refresh(story)
    assert page(client, w.cadre, **PERIOD).context["totals"]["household_visits"] == 3
    visit(w, w.cadre, at(10, 20), story.second)
    assert page(client, w.cadre, **PERIOD).context["totals"]["household_visits"] == 3  # cached, rollups unchanged
    refresh(story)
    assert page(client, w.cadre, **PERIOD).context["totals"]["household_visits"] == 4


def test_nav_links_to_the_dashboard_for_street_and_area_users(client: Client, world: World) -> None:
    for user in (world.admin, world.head, world.cadre):
        client.force_login(user)
        assert 'href="/insights/dashboard/"' in client.get("/", follow=True).content.decode()
    client.force_login(world.liaison)
    assert 'href="/insights/dashboard/"' not in client.get("/", follow=True).content.decode()


def test_head_sees_cadres_role_only_in_own_area(world: World) -> None:
    other_head = factories.area_user(world.youyicun, Role.AREA_HEAD, username="head-009")
    scope = dashboards.dashboard_scope(other_head)
    assert scope.area == world.youyicun and scope.level == dashboards.AREA


def test_the_refresh_task_fills_this_months_dashboards_before_anyone_asks(
    story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    refresh_today_rollups_task.call_local()
    # The street administrator's street and area views and the head's area view are ready: reading them computes
    # nothing (a computation would fail here).
    monkeypatch.setattr(dashboards, "_coverage_chart", lambda *args: pytest.fail("dashboard computed on read"))
    for user, query in (
        (story.world.admin, ""),
        (story.world.admin, "?area=310106006006"),
        (story.world.head, ""),
    ):
        client = Client()
        client.force_login(user)
        response = client.get(URL + query)
        assert response.status_code == 200, user
