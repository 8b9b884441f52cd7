"""Assessment scorecards (考核评议): every indicator equals the hand count on a small world in September 2025, the
total follows the formula shown on the page (renormalised when a rate has no data), ranks are ordered, weights are the
street administrator's with their history, an issued scorecard stays as issued, rows are scoped per role, and the
xlsx is audited."""

import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.test import Client

from ningju.core.models import AuditAction, AuditEntry, User
from ningju.core.tables import read_table
from ningju.core.workdays import workdays_between
from ningju.demands import rates
from ningju.demands.models import Demand, Kind, Source
from ningju.demands.services import demand_act, demand_create
from ningju.meetings import assessment
from ningju.meetings.models import (
    ActionItem,
    Event,
    EventKind,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Registration,
    ScorecardIssue,
    ScoreWeights,
    TrainingAttendance,
    TrainingSession,
)
from ningju.visits import rules
from ningju.visits.models import Pairing, Visit, VisitMode
from tests import factories
from tests.conftest import World

SHANGHAI = ZoneInfo("Asia/Shanghai")
URL = "/meetings/assessment/"
SEPTEMBER = {"period": "custom", "start": "2025-09-01", "end": "2025-09-30"}
START, END = date(2025, 9, 1), date(2025, 9, 30)


def at(day: int, hour: int = 10, month: int = 9) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=SHANGHAI)


def act(user: User, demand: Demand, *moves: tuple[str, datetime, dict[str, Any]]) -> Demand:
    for action, when, params in moves:
        demand = demand_act(user=user, demand_id=demand.pk, action=action, at=when, **params)
    return demand


def problem(user: User, area: Any, when: datetime, source: str = Source.VISIT) -> Demand:
    demand, _created = demand_create(
        user=user, area=area, kind=Kind.PROBLEM, source=source, text="楼道堆物", received_at=when
    )
    return demand


def visit(world: World, household: Any, cadre: User, when: datetime) -> Visit:
    return Visit.objects.create(
        area=household.building.compound.area,
        cadre=cadre,
        household=household,
        visited_at=when,
        mode=VisitMode.FACE_TO_FACE,
    )


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    """Each test starts without cached scorecards (the local-memory cache outlives a test's database)."""
    cache.clear()


@dataclass
class Story:
    world: World
    second_household: Any  # 恒德里, another compound, never visited
    d2: Demand


@pytest.fixture
def story(world: World) -> Story:
    """September 2025 (23 working days: the 28th is a make-up working day).

    恒德里: two households in two compounds; cadre-006-1 is paired with the first (独居老人, a monthly must-visit) and
    visits it 46 times; d1 (走访 problem) contacted, resolved, called back 满意 and closed; d2 (巡查 problem)
    contacted only, still open and past its deadline now; an action item of the cadre due 15 September, not done;
    one held troika meeting at the first compound; an event with 2 of 3 registrations attended; cadre-006-1
    attended a 2-hour training. 又一村: one household, never visited; e1 (走访 problem by cadre-009-1) contacted,
    resolved, called back 满意, closed; cadre-009-1 was absent from the training.
    """
    w = world
    rules.ensure_rules(w.street)
    second = factories.HouseholdFactory(
        building__compound__area=w.hengdeli, building__road="西康路", building__lane="99", building__number="1"
    )
    Pairing.objects.create(
        area=w.hengdeli, cadre=w.cadre, building=w.household.building, started_on=date(2025, 1, 1)
    )
    days = [d for d in workdays_between(START, END)]
    for day in days:  # two visits each working day
        for hour in (9, 14):
            visit(w, w.household, w.cadre, datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI))

    d1 = problem(w.cadre, w.hengdeli, at(10))
    act(
        w.cadre,
        d1,
        ("contact", at(10, 11), {}),
        ("start_handling", at(10, 12), {}),
        ("resolve", at(12), {}),
        ("request_callback", at(12, 11), {}),
        ("callback", at(15), {"callback_result": "satisfied"}),
    )
    d2 = problem(w.cadre, w.hengdeli, at(11), source=Source.PATROL)
    d2 = act(w.cadre, d2, ("contact", at(11, 11), {}))
    e1 = problem(w.other_cadre, w.youyicun, at(16))
    act(
        w.other_cadre,
        e1,
        ("contact", at(16, 11), {}),
        ("start_handling", at(16, 12), {}),
        ("resolve", at(18), {}),
        ("request_callback", at(18, 11), {}),
        ("callback", at(22), {"callback_result": "satisfied"}),
    )
    # Not a problem found on a walk: never counted as found and solved.
    help_demand, _c = demand_create(
        user=w.cadre, area=w.hengdeli, kind=Kind.HELP, source=Source.WALK_IN, text="咨询", received_at=at(30, 20)
    )
    Demand.objects.filter(pk=help_demand.pk).update(created_at=at(1, 10, month=10))  # outside the period

    ActionItem.objects.create(
        street=w.street, area=w.hengdeli, title="清理楼道", owner=w.cadre, deadline=date(2025, 9, 15)
    )
    Meeting.objects.create(
        street=w.street,
        kind=MeetingKind.TROIKA,
        status=MeetingStatus.HELD,
        title="三驾马车",
        area=w.hengdeli,
        compound=w.household.building.compound,
        held_at=at(20),
    )
    event = Event.objects.create(
        street=w.street,
        area=w.hengdeli,
        kind=EventKind.CULTURE,
        title="中秋游园",
        organiser="居委会",
        place="活动室",
        starts_at=at(20, 14),
    )
    for name, attended in (("甲", True), ("乙", True), ("丙", False)):
        Registration.objects.create(event=event, name=name, attended=attended)
    session = TrainingSession.objects.create(street=w.street, title="走访技巧", held_at=at(5), hours=Decimal("2"))
    TrainingAttendance.objects.create(session=session, user=w.cadre, attended=True)
    TrainingAttendance.objects.create(session=session, user=w.other_cadre, attended=False)
    return Story(world=w, second_household=second, d2=d2)


def rows_by_key(card: assessment.Scorecard) -> dict[str, dict[str, Any]]:
    return {row.key: row.as_json() for row in card.rows}


def values(row: dict[str, Any]) -> dict[str, Any]:
    return {key: cell["value"] for key, cell in row["indicators"].items()}


def scores(row: dict[str, Any]) -> dict[str, Any]:
    return {
        key: None if cell["score"] is None else round(cell["score"], 4) for key, cell in row["indicators"].items()
    }


def test_cadre_indicators_equal_the_hand_counts(story: Story) -> None:
    assert len(workdays_between(START, END)) == 23
    card = assessment.scorecard(story.world.street, "cadre", START, END)
    rows = rows_by_key(card)

    cadre = rows["cadre-006-1"]
    assert values(cadre) == {
        "visits": 2.0,  # 46 visits ÷ 23 working days
        "coverage": 1.0,  # paired: 1 of 1 household visited
        "must_visit": 1.0,  # the 独居老人 household visited in September
        "found_solved": 1.0,  # d1 (d2 still open)
        "response": 1.0,  # d1, d2 contacted on their first day: 2/2
        "resolution": 0.5,  # d1 of d1, d2
        "satisfaction": 1.0,  # d1's callback 满意: 1/1
        "overdue": 3.0,  # d2 and the help demand (never contacted) red now + the action item due 15 September
        "troika": 0.5,  # 恒德里: 1 held of 2 compound-months
        "participation": 2.0,  # 恒德里's event: 2 attended
        "training": 2.0,  # 2 hours
    }
    assert scores(cadre) == {
        "visits": 0.4,  # 2 ÷ 5
        "coverage": 1.0,
        "must_visit": 1.0,
        "found_solved": 1.0,  # 1 ÷ best 1
        "response": None,  # 2/2, 1/2, 1/1: fewer than MIN_RATE_SAMPLE demands, shown but not scored
        "resolution": None,
        "satisfaction": None,
        "overdue": 0.25,  # 1 ÷ (1 + 3)
        "troika": 0.5,
        "participation": 1.0,
        "training": 1.0,
    }
    assert [cadre["indicators"][k]["sparse"] for k in assessment.RATE_KEYS] == [True] * 3
    assert cadre["indicators"]["response"]["text"] == "100.0% (2/2)"  # the denominator is shown
    # (0.4×20 + 10 + 10 + 10 + 0.25×5 + 0.5×5 + 5 + 5) ÷ (100 − 30 for the three sparse rates) × 100
    assert cadre["score"] == 73.93

    other = rows["cadre-009-1"]
    assert values(other)["visits"] == 0.0
    assert values(other)["coverage"] == 0.0  # not paired: 又一村's 0 of 1
    assert values(other)["must_visit"] is None  # 又一村 has no must-visit household
    assert scores(other)["satisfaction"] is None  # 1/1: too few to score
    assert scores(other)["troika"] == 0.0  # 又一村: 0 of 1
    assert scores(other)["training"] == 0.0  # absent
    # (0 + 0 + 10 + 5 + 0 + 0 + 0) ÷ (100 − 10 for must-visit − 30 for the sparse rates) × 100
    assert other["score"] == 25.0


def test_a_rate_without_data_is_left_out_and_the_weights_renormalised(story: Story) -> None:
    card = assessment.scorecard(story.world.street, "cadre", START, END)
    head = rows_by_key(card)["head-006"]
    assert [head["indicators"][k]["score"] for k in ("response", "resolution", "satisfaction")] == [None] * 3
    assert [head["indicators"][k]["text"] for k in ("response", "resolution", "satisfaction")] == ["—"] * 3
    # visits 0, coverage 恒德里 1/2 → 5, must-visit 1/1 → 10, found 0, overdue 0 → 5, troika 0.5 → 2.5,
    # participation 1 → 5, training 0: 27.5 ÷ (100 − 30) × 100
    assert head["score"] == 39.29
    cells = {"a": assessment.Cell(1, "", 0.5), "b": assessment.Cell(None, "—", None)}
    assert assessment.total_score(cells, {"a": 10, "b": 90}) == 50.0
    assert assessment.total_score({"b": cells["b"]}, {"b": 90}) is None


def test_area_indicators_equal_the_hand_counts(story: Story) -> None:
    card = assessment.scorecard(story.world.street, "area", START, END)
    rows = rows_by_key(card)
    hengdeli, youyicun = rows["310106006006"], rows["310106006009"]
    assert values(hengdeli) == {
        "visits": 1.0,  # mean of cadre-006-1 (2.0) and head-006 (0.0)
        "coverage": 0.5,  # 1 of 2 households
        "must_visit": 1.0,
        "found_solved": 1.0,
        "response": 1.0,
        "resolution": 0.5,
        "satisfaction": 1.0,
        "overdue": 3.0,  # d2, the help demand + the action item of the area
        "troika": 0.5,
        "participation": 2.0,
        "training": 1.0,  # mean of 2 and 0 hours
    }
    # (0.2×20 + 5 + 10 + 10 + 0.25×5 + 2.5 + 5 + 5) ÷ (100 − 30 for the sparse rates) × 100
    assert hengdeli["score"] == 61.07
    assert youyicun["score"] == 25.0
    assert [row.key for row in card.rows] == ["310106006006", "310106006009"]


def test_ranks_follow_the_total_and_ties_share_a_rank(story: Story) -> None:
    card = assessment.scorecard(story.world.street, "cadre", START, END)
    assert [(row.key, row.rank) for row in card.rows] == [
        ("cadre-006-1", 1),
        ("head-006", 2),
        ("cadre-009-1", 3),
    ]
    rows = [
        assessment.Row(key=k, label=k, area="", area_id=None, user_id=None, cells={}, score=s)
        for k, s in (("a", 80.0), ("b", 90.0), ("c", 80.0), ("d", None), ("e", 10.0))
    ]
    assert [(r.key, r.rank) for r in assessment.rank_rows(rows)] == [
        ("b", 1),
        ("a", 2),
        ("c", 2),
        ("e", 4),
        ("d", 5),
    ]


def test_page_shows_the_formula_the_table_and_the_own_row(client: Client, story: Story) -> None:
    client.force_login(story.world.cadre)
    response = client.get(URL, SEPTEMBER)
    assert response.status_code == 200
    html = response.content.decode()
    assert "总分 = Σ(指标得分 × 权重) ÷ Σ(有数据指标的权重) × 100" in html
    assert 'data-key="cadre-006-1" data-rank="1" class="self"' in html
    assert "73.9" in html
    assert 'id="issue-button"' not in html  # only the street administrator issues
    client.force_login(story.world.admin)
    assert 'id="issue-button"' in client.get(URL, SEPTEMBER).content.decode()


def test_bad_custom_period_says_why(client: Client, story: Story) -> None:
    client.force_login(story.world.admin)
    response = client.get(URL, {"period": "custom", "start": "2025-09-30", "end": "2025-09-01"})
    assert response.status_code == 200
    assert "开始日期不能晚于结束日期。" in response.content.decode()
    assert client.get(URL, {**SEPTEMBER, "format": "xlsx", "start": "x"}).status_code == 400


@pytest.mark.parametrize("who", ["liaison", "nobody"])
def test_liaisons_and_users_without_a_role_are_refused(client: Client, world: World, who: str) -> None:
    client.force_login(world.users()[who])
    assert client.get(URL).status_code == 403
    assert client.get(URL + "weights/").status_code == 403


def test_rows_are_scoped_per_role(client: Client, story: Story) -> None:
    w = story.world

    def keys(user: User, by: str) -> set[str]:
        client.force_login(user)
        html = client.get(URL, {**SEPTEMBER, "by": by}).content.decode()
        return {
            k
            for k in ("cadre-006-1", "cadre-009-1", "head-006", "310106006006", "310106006009")
            if f'data-key="{k}"' in html
        }

    assert keys(w.admin, "cadre") == set()  # the street's cadres come grouped by area, an area's on demand
    client.force_login(w.admin)
    html = client.get(URL, {**SEPTEMBER, "by": "cadre"}).content.decode()
    assert f'data-area="{w.hengdeli.pk}"' in html and f'data-area="{w.youyicun.pk}"' in html

    def area_keys(user: User, area: Any) -> set[str]:
        client.force_login(user)
        html = client.get(URL, {**SEPTEMBER, "by": "cadre", "area": area}).content.decode()
        return {k for k in ("cadre-006-1", "cadre-009-1", "head-006") if f'data-key="{k}"' in html}

    assert area_keys(w.admin, w.hengdeli.pk) == {"cadre-006-1", "head-006"}
    assert area_keys(w.admin, w.youyicun.pk) == {"cadre-009-1"}
    assert keys(w.head, "cadre") == {"cadre-006-1", "head-006"}
    # Asking for another area's cadres shows an area head nothing more than their own area.
    assert area_keys(w.head, w.youyicun.pk) == {"cadre-006-1", "head-006"}
    assert area_keys(w.cadre, w.youyicun.pk) == {"cadre-006-1"}
    assert keys(w.cadre, "cadre") == {"cadre-006-1"}
    for user in (w.admin, w.head, w.cadre, w.other_cadre):
        assert keys(user, "area") == {"310106006006", "310106006009"}


def test_weights_are_the_street_administrators_and_keep_their_history(client: Client, story: Story) -> None:
    w = story.world
    client.force_login(w.head)
    assert client.get(URL + "weights/").status_code == 403
    assert client.post(URL + "weights/", dict.fromkeys(assessment.INDICATOR_KEYS, "10")).status_code == 403

    client.force_login(w.admin)
    page = client.get(URL + "weights/").content.decode()
    assert "总分 = Σ(指标得分 × 权重) ÷ Σ(有数据指标的权重) × 100" in page
    bad = {**dict.fromkeys(assessment.INDICATOR_KEYS, "10"), "visits": "101"}
    response = client.post(URL + "weights/", bad)
    assert "权重须为 0 至 100 的整数。" in response.content.decode()
    zeros = dict.fromkeys(assessment.INDICATOR_KEYS, "0")
    assert "至少要有一项权重大于 0。" in client.post(URL + "weights/", zeros).content.decode()
    assert not ScoreWeights.objects.exists()

    only_visits = {**zeros, "visits": "100"}
    assert client.post(URL + "weights/", only_visits).status_code == 302
    assert client.post(URL + "weights/", {**zeros, "visits": "50", "training": "50"}).status_code == 302
    assert ScoreWeights.objects.filter(street=w.street).count() == 2  # history kept
    assert assessment.weights_for(w.street.pk)["training"] == 50
    card = assessment.scorecard(w.street, "cadre", START, END)
    # cadre-006-1: (0.4×50 + 1×50) ÷ 100 × 100
    assert rows_by_key(card)["cadre-006-1"]["score"] == 70.0


def test_an_issued_scorecard_stays_as_issued(client: Client, story: Story) -> None:
    w = story.world
    client.force_login(w.head)
    assert client.post(URL, {**SEPTEMBER, "by": "cadre"}).status_code == 403
    client.force_login(w.admin)
    response = client.post(URL, {**SEPTEMBER, "by": "cadre"})
    issue = ScorecardIssue.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{URL}{issue.pk}/"
    assert (issue.subject, issue.start, issue.end, issue.issued_by) == ("cadre", START, END, w.admin)
    assert issue.weights == assessment.DEFAULT_WEIGHTS
    assert [(r["key"], r["rank"], r["score"]) for r in issue.rows] == [
        ("cadre-006-1", 1, 73.93),
        ("head-006", 2, 39.29),
        ("cadre-009-1", 3, 25.0),
    ]

    def table(html: str) -> str:
        return html[html.index("<table") : html.index("</table>")]

    def pages() -> tuple[str, str, str]:
        # The street's cadres come grouped by area, as on the live page; each area's rows on demand.
        return (
            table(client.get(f"{URL}{issue.pk}/").content.decode()),
            table(client.get(f"{URL}{issue.pk}/", {"area": w.hengdeli.pk}).content.decode()),
            table(client.get(f"{URL}{issue.pk}/", {"area": w.youyicun.pk}).content.decode()),
        )

    before = pages()

    # Later: cadre-009-1 visits every working day 5 times, and the weights change.
    for day in workdays_between(START, END):
        for hour in range(8, 13):
            visit(
                w, w.other_household, w.other_cadre, datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)
            )
    ScoreWeights.objects.create(street=w.street, weights={**assessment.DEFAULT_WEIGHTS, "visits": 90})
    live = rows_by_key(assessment.scorecard(w.street, "cadre", START, END))
    assert live["cadre-009-1"]["score"] != 25.0

    after = pages()
    assert after == before
    summary, hengdeli, youyicun = after
    assert 'id="scorecard-groups"' in summary and "56.6" in summary  # 恒德里: mean of 73.93 and 39.29
    assert 'data-key="cadre-006-1"' in hengdeli and "73.9" in hengdeli and 'data-key="cadre-009-1"' not in hengdeli
    assert 'data-key="cadre-009-1"' in youyicun and "25.0" in youyicun
    # The history list on the page links to it; an area user reads it (only the rows they may see).
    assert f"{URL}{issue.pk}/" in client.get(URL).content.decode()
    client.force_login(w.cadre)
    mine = client.get(f"{URL}{issue.pk}/").content.decode()
    assert 'data-key="cadre-006-1"' in mine and 'data-key="cadre-009-1"' not in mine
    client.force_login(w.liaison)
    assert client.get(f"{URL}{issue.pk}/").status_code == 403


def test_xlsx_is_the_table_and_is_audited(client: Client, story: Story) -> None:
    client.force_login(story.world.admin)
    response = client.get(URL, {**SEPTEMBER, "by": "area", "format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    table = read_table(io.BytesIO(response.content), "scorecards.xlsx")
    rows = list(table.rows) if hasattr(table, "rows") else list(table)
    flat = str(rows)
    assert "恒德里" in flat and "61.07" in flat
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.target_type == "meetings.scorecards"
    assert entry.detail["rows"] == 2 and entry.detail["subject"] == "area"


def test_period_is_counted_only_up_to_today(story: Story) -> None:
    """A period running into the future counts working days only up to today."""
    tomorrow = date.today() + timedelta(days=1)
    card = assessment.scorecard(story.world.street, "cadre", tomorrow, tomorrow + timedelta(days=30))
    assert all(row.as_json()["indicators"]["visits"]["value"] is None for row in card.rows)


def test_a_rate_on_fewer_than_five_demands_shows_its_counts_and_is_not_scored(
    client: Client, story: Story
) -> None:
    """The month's ranking must not rest on 2 of 2: a rate below MIN_RATE_SAMPLE demands is shown with its
    denominator and "样本不足" (the rule in its tooltip) and counts neither for the total nor for the rank."""
    assert assessment.MIN_RATE_SAMPLE == 5
    few = assessment._rate_cells([rates.Rate(4, 4), rates.Rate(0, 4), rates.Rate(1, 1)])
    enough = assessment._rate_cells([rates.Rate(5, 5), rates.Rate(4, 5), rates.Rate(0, 0)])
    assert [(c.text, c.score, c.sparse) for c in few.values()] == [
        ("100.0% (4/4)", None, True),
        ("0.0% (0/4)", None, True),
        ("100.0% (1/1)", None, True),
    ]
    assert [(c.text, c.score, c.sparse) for c in enough.values()] == [
        ("100.0% (5/5)", 1.0, False),
        ("80.0% (4/5)", 0.8, False),
        ("—", None, False),  # no data at all
    ]
    # A perfect 1/1 no longer outranks a cadre with a fuller record: cadre-009-1 (1/1 everywhere) is last.
    card = assessment.scorecard(story.world.street, "cadre", START, END)
    assert [row.key for row in card.rows][-1] == "cadre-009-1"

    client.force_login(story.world.cadre)
    html = client.get(URL, SEPTEMBER).content.decode()
    cell = html[html.index('data-indicator="response"') :]
    cell = cell[: cell.index("</td>")]
    assert "100.0% (2/2)" in cell and "样本不足" in cell
    assert f'title="{assessment.SPARSE_RULE}"' in cell
    assert str(assessment.SPARSE_RULE) in html  # the rule is written on the page, not only in a tooltip


def test_headers_are_short_labels_with_the_full_name_and_formula_on_hover(client: Client, story: Story) -> None:
    client.force_login(story.world.admin)
    html = client.get(URL, {**SEPTEMBER, "by": "area"}).content.decode()
    head = html[html.index("<thead") : html.index("</thead>")]
    assert ">培训学时</abbr>" in head and ">三驾马车</abbr>" in head
    assert 'title="三驾马车合署办公完成率：' in head
    assert "table-scroll" in html and "sticky-first" in html


def test_the_cadre_tab_of_the_street_is_grouped_by_area_with_a_summary(client: Client, story: Story) -> None:
    w = story.world
    client.force_login(w.admin)
    html = client.get(URL, {**SEPTEMBER, "by": "cadre"}).content.decode()
    groups = html[
        html.index('id="scorecard-groups"') : html.index("</table>", html.index('id="scorecard-groups"'))
    ]
    hengdeli = groups[groups.index(f'data-area="{w.hengdeli.pk}"') :]
    hengdeli = hengdeli[: hengdeli.index("</tr>")]
    # two cadres, mean of 73.93 and 39.29, street-wide ranks 1 and 2
    assert ">2<" in hengdeli and "56.6" in hengdeli and "1–2" in hengdeli
    assert f"area={w.hengdeli.pk}" in hengdeli
    # Hostile or stale area parameters fall back to the summary.
    for bad in ("x", "999999", "-1", f"{w.hengdeli.pk}0"):
        page = client.get(URL, {**SEPTEMBER, "by": "cadre", "area": bad})
        assert page.status_code == 200 and 'id="scorecard-groups"' in page.content.decode()
    # The area tab (one row per area) and the xlsx (every row) are not grouped.
    assert 'id="scorecard-groups"' not in client.get(URL, {**SEPTEMBER, "by": "area"}).content.decode()
    sheet = client.get(URL, {**SEPTEMBER, "by": "cadre", "format": "xlsx"})
    assert AuditEntry.objects.get(action=AuditAction.EXPORT).detail["rows"] == 3 and sheet.status_code == 200


def test_the_cached_scorecard_equals_the_live_one_and_follows_the_data(story: Story) -> None:
    w = story.world
    now = datetime(2025, 10, 9, 10, tzinfo=SHANGHAI)

    def as_json(card: assessment.Scorecard) -> list[dict[str, Any]]:
        return [row.as_json() for row in card.rows]

    for subject in ("cadre", "area"):
        cached = assessment.scorecard_cached(w.street, subject, START, END, now=now)
        assert as_json(cached) == as_json(assessment.scorecard(w.street, subject, START, END, now=now))
    assert cached.computed_at == now

    # Read again a minute later: the stored figures (computed_at unchanged), not a recomputation.
    again = assessment.scorecard_cached(w.street, "cadre", START, END, now=now + timedelta(minutes=1))
    assert again.computed_at == now

    # A new visit changes the fingerprint: recomputed, and equal to the live figures again.
    for day in workdays_between(START, END):
        visit(w, w.other_household, w.other_cadre, datetime(day.year, day.month, day.day, 9, tzinfo=SHANGHAI))
    later = now + timedelta(minutes=2)
    fresh = assessment.scorecard_cached(w.street, "cadre", START, END, now=later)
    assert fresh.computed_at == later
    assert as_json(fresh) == as_json(assessment.scorecard(w.street, "cadre", START, END, now=later))
    assert {r.key: r.cells["visits"].value for r in fresh.rows}["cadre-009-1"] == 1.0

    # New weights, an open demand's deadline passing, and the cache's time limit each recompute as well.
    ScoreWeights.objects.create(street=w.street, weights={**assessment.DEFAULT_WEIGHTS, "visits": 90})
    weighed_at = later + timedelta(minutes=1)
    weighed = assessment.scorecard_cached(w.street, "cadre", START, END, now=weighed_at)
    assert weighed.weights["visits"] == 90
    assert as_json(weighed) == as_json(assessment.scorecard(w.street, "cadre", START, END, now=weighed_at))
    due = later + timedelta(minutes=8)  # d2, still open, now has a deadline ahead (as after an extension)
    Demand.objects.filter(pk=story.d2.pk).update(due_at=due)
    cache.clear()
    stamp = later + timedelta(minutes=2)
    assert assessment.scorecard_cached(w.street, "cadre", START, END, now=stamp).computed_at == stamp
    before_due = due - timedelta(seconds=1)
    assert assessment.scorecard_cached(w.street, "cadre", START, END, now=before_due).computed_at == stamp
    past_due = due + timedelta(seconds=1)
    assert assessment.scorecard_cached(w.street, "cadre", START, END, now=past_due).computed_at == past_due
    # In-place changes the figures depend on move the fingerprint too: a cadre moved to another area, an attendance.
    before = assessment._fingerprint()
    User.objects.filter(pk=w.other_cadre.pk).update(area=w.hengdeli)
    moved = assessment._fingerprint()
    assert moved != before
    TrainingAttendance.objects.filter(user=w.other_cadre).update(attended=True)
    assert assessment._fingerprint() != moved
    User.objects.filter(pk=w.other_cadre.pk).update(area=w.youyicun)
    TrainingAttendance.objects.filter(user=w.other_cadre).update(attended=False)
    assert assessment._fingerprint() == before
    expired = past_due + timedelta(seconds=assessment.CACHE_SECONDS)
    assert assessment.scorecard_cached(w.street, "cadre", START, END, now=expired).computed_at == expired


def test_the_page_reads_the_cache_instead_of_computing_the_street(
    client: Client, story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.force_login(story.world.admin)
    first = client.get(URL, {**SEPTEMBER, "by": "area"}).content.decode()
    assert "数据更新于" in first

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the scorecard was computed again")

    monkeypatch.setattr(assessment, "_ranked", refuse)
    second = client.get(URL, {**SEPTEMBER, "by": "cadre", "area": story.world.hengdeli.pk}).content.decode()
    assert 'data-key="cadre-006-1"' in second
    # Issuing freezes live figures, never the cache.
    with pytest.raises(AssertionError, match="computed again"):
        client.post(URL, {**SEPTEMBER, "by": "cadre"})


def test_warming_fills_this_month_and_this_year(story: Story) -> None:
    assessment.scorecards_warm(story.world.street)
    today = date.today()
    for period in (rates.THIS_MONTH, rates.THIS_YEAR):
        start, end = rates.period_dates(period, today)
        key = assessment.CACHE_KEY.format(
            street=story.world.street.pk, start=start.isoformat(), end=end.isoformat()
        )
        assert cache.get(key)["rows"].keys() == {"cadre", "area"}
