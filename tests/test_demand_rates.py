"""The rates page: 响应率, 解决率 and 满意率 counted exactly as defined (first contact across National Day, the latest
callback of the period, merged duplicates left out), per area, cadre and department, scoped per role, with the
definitions on the page and an audited xlsx of the same table."""

import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ningju.core.models import AuditAction, AuditEntry, Role, User
from ningju.core.tables import read_table
from ningju.demands import rates
from ningju.demands.models import Demand, Kind, Source
from ningju.demands.services import demand_act, demand_create
from ningju.registry.models import Department
from tests import factories
from tests.conftest import World

SHANGHAI = ZoneInfo("Asia/Shanghai")
URL = "/demands/rates/"
# September and October 2025: National Day runs 1–8 October, 9 October is the first working day after it and
# Saturday 11 October a make-up working day.
WHOLE = {"period": "custom", "start": "2025-09-01", "end": "2025-10-31"}


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=SHANGHAI)


def received(world: World, user: User, when: datetime, area: Any = None, text: str = "楼道堆物") -> Demand:
    demand, created = demand_create(
        user=user,
        area=area or world.hengdeli,
        kind=Kind.PROBLEM,
        source=Source.VISIT,
        text=text,
        received_at=when,
    )
    assert created
    return demand


def step(user: User, demand: Demand, action: str, when: datetime, **params: Any) -> Demand:
    return demand_act(user=user, demand_id=demand.pk, action=action, at=when, **params)


def steps(demand: Demand, *moves: tuple[User, str, datetime, dict[str, Any]]) -> Demand:
    for user, action, when, params in moves:
        demand = step(user, demand, action, when, **params)
    return demand


@dataclass
class Story:
    world: World
    head_009: User
    market: Department
    d1: Demand  # 恒德里, cadre: received 30 Sep, contacted 9 Oct (on time), closed after 不满意 then 满意
    d2: Demand  # 恒德里, cadre: received 30 Sep, contacted 10 Oct (late)
    d3: Demand  # 恒德里, head: received 13 Oct, never contacted
    d4: Demand  # 恒德里, cadre: merged into d1 as a duplicate
    d5: Demand  # 恒德里, cadre: resolved, then 不满意 (reopened)
    e1: Demand  # 又一村: whistled, 城管 acknowledged on time and resolved, 基本满意
    e2: Demand  # 又一村: contacted late (Saturday), 城管 acknowledged late, 市场监管 returned its order


@pytest.fixture
def story(world: World) -> Story:
    w = world
    head_009 = factories.area_user(w.youyicun, Role.AREA_HEAD, username="head-009")
    market = Department.objects.create(street=w.street, name="市场监管", slug="market")
    factories.liaison(market, username="dept-market")

    d1 = received(w, w.cadre, at(9, 30, 10))
    d2 = received(w, w.cadre, at(9, 30, 11))
    d1 = steps(
        d1,
        (w.cadre, "contact", at(10, 9, 9), {}),
        (w.cadre, "start_handling", at(10, 9, 10), {}),
        (w.cadre, "resolve", at(10, 10), {}),
        (w.cadre, "request_callback", at(10, 10, 11), {}),
        (w.cadre, "callback", at(10, 13), {"callback_result": "dissatisfied"}),
        (w.cadre, "resolve", at(10, 14), {}),
        (w.cadre, "request_callback", at(10, 14, 11), {}),
        (w.cadre, "callback", at(10, 15), {"callback_result": "satisfied"}),
    )
    d2 = step(w.cadre, d2, "contact", at(10, 10, 9))
    d3 = received(w, w.head, at(10, 13))
    d4 = received(w, w.cadre, at(10, 14), text="楼道堆物（重复）")
    d4 = step(w.admin, d4, "merge", at(10, 14, 15), target=d1.pk, reason="重复反映")
    d5 = received(w, w.cadre, at(10, 14))
    d5 = steps(
        d5,
        (w.cadre, "contact", at(10, 14, 11), {}),
        (w.cadre, "start_handling", at(10, 14, 12), {}),
        (w.cadre, "resolve", at(10, 16), {}),
        (w.cadre, "request_callback", at(10, 16, 11), {}),
        (w.cadre, "callback", at(10, 20), {"callback_result": "dissatisfied"}),
    )

    to_desk = [
        (w.other_cadre, "start_handling", at(10, 11, 12), {}),
        (head_009, "whistle", at(10, 11, 13), {"reason": "需要执法"}),
        (w.admin, "street_accept", at(10, 13, 9), {}),
    ]
    e1 = received(w, w.other_cadre, at(10, 9), area=w.youyicun)
    e1 = steps(
        e1,
        (w.other_cadre, "contact", at(10, 10), {}),
        *to_desk,
        (w.admin, "dispatch", at(10, 13), {"departments": [w.department.pk]}),
        (w.liaison, "acknowledge", at(10, 14, 17), {}),
        (w.liaison, "department_start", at(10, 15), {}),
        (w.liaison, "department_resolve", at(10, 16), {"note": "已现场整改完毕"}),
        (w.other_cadre, "request_callback", at(10, 16, 15), {}),
        (w.other_cadre, "callback", at(10, 17), {"callback_result": "basically_satisfied"}),
    )
    e2 = received(w, w.other_cadre, at(10, 9, 11), area=w.youyicun)
    market_liaison = User.objects.get(username="dept-market")
    e2 = steps(
        e2,
        (w.other_cadre, "contact", at(10, 11, 9), {}),  # a make-up Saturday, but a day after the deadline
        *to_desk,
        (w.admin, "dispatch", at(10, 13), {"departments": [w.department.pk, market.pk]}),
        (w.liaison, "acknowledge", at(10, 15), {}),
        (market_liaison, "return_order", at(10, 15, 11), {"reason": "不属本部门职责"}),
    )
    return Story(w, head_009, market, d1, d2, d3, d4, d5, e1, e2)


def table_of(user: User, by: str, start: date, end: date, **kwargs: Any) -> rates.RateTable:
    return rates.rate_table(rates.rates_scope(user), by, start, end, **kwargs)


def counts(table: rates.RateTable) -> dict[str, list[str]]:
    """Each row's rates as 'numerator/denominator', keyed by area code, username or department id; 'total' too."""
    found = {row.key: [rate.counts for rate in row.rates] for row in table.rows}
    found["total"] = [rate.counts for rate in table.total.rates]
    return found


SEP_1, SEP_30, OCT_1, OCT_31 = date(2025, 9, 1), date(2025, 9, 30), date(2025, 10, 1), date(2025, 10, 31)


def test_rates_per_area_count_first_contact_across_national_day_and_leave_merged_out(story: Story) -> None:
    table = table_of(story.world.admin, rates.BY_AREA, SEP_1, OCT_31)
    assert counts(table) == {
        # d1 on time (9 Oct is the first working day after the holiday), d2 a day late, d3 never contacted, d5 same
        # day; d1 closed and d5 resolved; latest callbacks: d1 满意, d5 不满意. d4 (merged) counts nowhere.
        "310106006006": ["2/4", "2/4", "1/2"],
        # e1 on time, e2 contacted on Saturday 11 Oct after the 10 Oct deadline; e1 closed 基本满意.
        "310106006009": ["1/2", "1/2", "1/1"],
        "total": ["3/6", "3/6", "2/3"],
    }
    assert [rate.text for rate in table.total.rates] == ["50.0%", "50.0%", "66.7%"]


def test_rates_per_cadre_go_by_first_contact_owner(story: Story) -> None:
    table = table_of(story.world.admin, rates.BY_CADRE, SEP_1, OCT_31)
    assert counts(table) == {
        "head-006": ["0/1", "0/1", "0/0"],
        "cadre-006-1": ["2/3", "2/3", "1/2"],
        "head-009": ["0/0", "0/0", "0/0"],
        "cadre-009-1": ["1/2", "1/2", "1/1"],
        "total": ["3/6", "3/6", "2/3"],
    }


def test_rates_per_department_count_orders_and_returns(story: Story) -> None:
    table = table_of(story.world.admin, rates.BY_DEPARTMENT, SEP_1, OCT_31)
    chengguan, market = str(story.world.department.pk), str(story.market.pk)
    assert counts(table) == {
        # 城管: e1 acknowledged the next day (on time) and resolved, e2 acknowledged two days later; e1 基本满意.
        chengguan: ["1/2", "1/2", "1/1"],
        market: ["0/0", "0/0", "0/0"],
        "total": ["1/2", "1/2", "1/1"],
    }
    assert {row.key: row.returned for row in table.rows} == {chengguan: 0, market: 1}
    assert table.total.returned == 1


def test_callbacks_count_by_their_own_date_and_the_latest_one_wins(story: Story) -> None:
    september = table_of(story.world.admin, rates.BY_AREA, SEP_1, SEP_30)
    # d1 and d2 were received in September; d1's callbacks were in October.
    assert counts(september)["310106006006"] == ["1/2", "1/2", "0/0"]
    october = table_of(story.world.admin, rates.BY_AREA, OCT_1, OCT_31)
    # d1 (received in September) is called back in October: 不满意 on 13 Oct, then 满意 on 15 Oct, which counts.
    assert counts(october)["310106006006"] == ["1/2", "1/2", "1/2"]
    only_first_callback = table_of(story.world.admin, rates.BY_AREA, OCT_1, date(2025, 10, 13))
    assert counts(only_first_callback)["310106006006"][2] == "0/1"


def test_a_demand_still_inside_its_first_window_counts_only_once_contacted(world: World) -> None:
    received(world, world.cadre, at(11, 3, 10))  # Monday; deadline is the end of Tuesday 4 November
    before = table_of(world.admin, rates.BY_AREA, date(2025, 11, 1), date(2025, 11, 30), now=at(11, 4, 18))
    assert counts(before)["310106006006"] == ["0/0", "0/1", "0/0"]
    after = table_of(world.admin, rates.BY_AREA, date(2025, 11, 1), date(2025, 11, 30), now=at(11, 5, 9))
    assert counts(after)["310106006006"] == ["0/1", "0/1", "0/0"]


def test_rates_cost_the_same_queries_for_one_demand_or_many(world: World) -> None:
    received(world, world.cadre, at(10, 13))

    def queries(by: str) -> int:
        scope = rates.rates_scope(world.admin)
        with CaptureQueriesContext(connection) as captured:
            rates.rate_table(scope, by, SEP_1, OCT_31)
        return len(captured)

    before = {by: queries(by) for by in rates.GROUPINGS}
    for n in range(12):
        owner = factories.area_user(world.youyicun, username=f"cadre-009-x{n}")
        demand = received(world, owner, at(10, 13) + timedelta(days=n), area=world.youyicun)
        step(owner, demand, "contact", at(10, 14) + timedelta(days=n))
    assert {by: queries(by) for by in rates.GROUPINGS} == before


# --- the page ---------------------------------------------------------------------------------------------------


def page(client: Client, user: User, **params: str) -> Any:
    client.force_login(user)
    return client.get(URL, params)


def test_page_shows_the_definitions_and_dashes_for_no_data(client: Client, story: Story) -> None:
    response = page(client, story.world.admin, by="cadre", **WHOLE)
    assert response.status_code == 200
    text = response.content.decode()
    assert "回访按回访本身的日期计入期间，而不是按诉求的受理日期" in text
    assert "首次联系时限为受理后第 1 个工作日当天结束" in text
    assert "派单后第 1 个工作日当天结束前报到的派单数" in text
    assert "街道合计" in text
    no_data = text.split('data-key="head-009"')[1].split("</tr>")[0]
    assert no_data.count("—") == 3 and "0.0%" not in no_data and "0/0" in no_data


def test_default_period_is_this_month(client: Client, world: World) -> None:
    response = page(client, world.admin)
    table = response.context["table"]
    today = timezone.localdate()
    assert (table.start, table.end.month, table.by) == (today.replace(day=1), today.month, "area")


def test_named_periods_cover_whole_months_and_years() -> None:
    today = date(2026, 1, 15)
    assert rates.period_dates(rates.THIS_MONTH, today) == (date(2026, 1, 1), date(2026, 1, 31))
    assert rates.period_dates(rates.LAST_MONTH, today) == (date(2025, 12, 1), date(2025, 12, 31))
    assert rates.period_dates(rates.THIS_YEAR, today) == (date(2026, 1, 1), date(2026, 12, 31))
    assert rates.period_dates(rates.LAST_YEAR, today) == (date(2025, 1, 1), date(2025, 12, 31))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"period": "custom", "start": "2025-10-31", "end": "2025-10-01"}, "开始日期不能晚于结束日期。"),
        ({"period": "custom", "start": "2025-10-01"}, "自定义期间须填写结束日期。"),
        (
            {"period": "custom", "start": "2025-13-01", "end": "2025-10-01"},
            "请输入有效的日期，格式为 YYYY-MM-DD。",
        ),
        ({"period": "custom", "start": "2015-01-01", "end": "2025-10-01"}, "统计期间最长五年。"),
        ({"period": "forever"}, "请选择有效的统计期间。"),
    ],
)
def test_bad_period_is_refused_with_a_chinese_message(
    client: Client, world: World, params: dict[str, str], message: str
) -> None:
    response = page(client, world.admin, **params)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert response.context["table"].start == timezone.localdate().replace(day=1)  # the default period still shows


def test_dates_without_a_period_mean_a_custom_period(client: Client, world: World) -> None:
    response = page(client, world.admin, start="2025-09-01", end="2025-10-31")
    assert (response.context["table"].start, response.context["table"].end) == (SEP_1, OCT_31)


def test_cadre_sees_own_area_and_its_cadres_with_self_highlighted(client: Client, story: Story) -> None:
    w = story.world
    areas = page(client, w.cadre, by="area", **WHOLE).context["table"]
    assert [row.key for row in areas.rows] == ["310106006006"]
    assert counts(areas)["total"] == ["2/4", "2/4", "1/2"]
    response = page(client, w.cadre, by="cadre", **WHOLE)
    cadres = response.context["table"]
    assert [row.key for row in cadres.rows] == ["head-006", "cadre-006-1"]
    assert [row.key for row in cadres.rows if row.highlight] == ["cadre-006-1"]
    assert counts(cadres)["total"] == ["2/4", "2/4", "1/2"]
    assert "cadre-009-1" not in response.content.decode() and "又一村" not in response.content.decode()
    refused = page(client, w.cadre, by="department", **WHOLE)
    assert "您不能按该方式查看。" in refused.content.decode()
    assert refused.context["table"].by == "area"


def test_cadre_who_received_for_another_area_still_answers_for_it(client: Client, world: World) -> None:
    received(world, world.other_cadre, at(10, 13))  # 又一村's cadre received a demand for 恒德里 (首问负责)
    other_areas_view = page(client, world.other_cadre, by="cadre", **WHOLE).context["table"]
    assert counts(other_areas_view)["cadre-009-1"] == ["0/1", "0/1", "0/0"]
    hengdeli_view = page(client, world.cadre, by="area", **WHOLE).context["table"]
    assert counts(hengdeli_view)["310106006006"] == ["0/1", "0/1", "0/0"]


def test_liaison_sees_only_their_department(client: Client, story: Story) -> None:
    w = story.world
    response = page(client, w.liaison, **WHOLE)
    table = response.context["table"]
    assert table.by == "department"
    assert [row.key for row in table.rows] == [str(w.department.pk)]
    assert counts(table)["total"] == ["1/2", "1/2", "1/1"]
    assert "市场监管" not in response.content.decode()
    refused = page(client, w.liaison, by="area", **WHOLE)
    assert "您不能按该方式查看。" in refused.content.decode()
    assert refused.context["table"].by == "department"


def test_user_without_a_role_is_refused(client: Client, world: World) -> None:
    assert page(client, world.nobody).status_code == 403


def test_anonymous_is_sent_to_login(client: Client, world: World) -> None:
    response = client.get(URL)
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_url_is_named_demand_rates() -> None:
    assert reverse("demand_rates") == URL


def test_area_rows_link_to_the_demand_list_when_it_exists(
    client: Client, story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ningju.demands.views import rates as views

    monkeypatch.setattr(views, "_demand_list_url", lambda: "/demands/all/")
    text = page(client, story.world.admin, by="area", **WHOLE).content.decode()
    assert 'href="/demands/all/?area=310106006006&amp;created_from=2025-09-01&amp;created_to=2025-10-31"' in text


def test_htmx_tab_switch_returns_the_table_only(client: Client, story: Story) -> None:
    client.force_login(story.world.admin)
    response = client.get(URL, {"by": "department", **WHOLE}, headers={"HX-Request": "true"})
    text = response.content.decode()
    assert 'id="rates-table"' in text and "<html" not in text and "市场监管" in text


# --- the download -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["area", "cadre", "department"])
def test_xlsx_has_the_rows_of_the_table_and_is_audited(client: Client, story: Story, by: str) -> None:
    response = page(client, story.world.admin, by=by, format="xlsx", **WHOLE)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = read_table(io.BytesIO(response.content), "rates.xlsx")
    table = table_of(story.world.admin, by, SEP_1, OCT_31)
    assert sheet.headers == table.headers()
    expected = [[str(cell) for cell in row] for row in table.sheet_rows()]
    assert [[cells.get(header, "") for header in sheet.headers] for _n, cells in sheet.rows] == expected
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT, target_type="demands.rates")
    assert entry.user == story.world.admin
    assert entry.detail == {"rows": len(expected), "by": by, "start": "2025-09-01", "end": "2025-10-31"}


def test_liaison_cannot_download(client: Client, story: Story) -> None:
    assert page(client, story.world.liaison, format="xlsx", **WHOLE).status_code == 403
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_download_with_a_bad_period_writes_nothing(client: Client, world: World) -> None:
    response = page(client, world.admin, format="xlsx", period="custom", start="2025-10-31", end="2025-10-01")
    assert response.status_code == 400
    assert "开始日期不能晚于结束日期。" in response.content.decode()
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_cadre_download_holds_only_their_area(client: Client, story: Story) -> None:
    response = page(client, story.world.cadre, by="area", format="xlsx", **WHOLE)
    sheet = read_table(io.BytesIO(response.content), "rates.xlsx")
    assert [cells[sheet.headers[0]] for _n, cells in sheet.rows] == ["恒德里", "合计"]


def test_named_period_shows_its_own_dates_in_the_date_fields(client: Client, world: World) -> None:
    response = page(client, world.admin, period="last_year", start="2020-01-01", end="2020-02-01")
    year = timezone.localdate().year - 1
    text = response.content.decode()
    assert f'name="start" value="{year}-01-01"' in text and f'name="end" value="{year}-12-31"' in text
    assert (response.context["table"].start, response.context["table"].end) == (
        date(year, 1, 1),
        date(year, 12, 31),
    )
