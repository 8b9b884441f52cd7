"""`ningju demo` also writes a year of demands: the article's mix (opinions answered, problems found and solved,
help and enquiries) from visits, patrols, walk-ins, online and 12345, each with a history the workflow allows,
the last weeks still open, the same for the same seed."""

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from ningju.core.models import Role, User
from ningju.core.scoping import AREA_ROLES
from ningju.core.workdays import is_workday
from ningju.demands.demo import demo_demands, demo_demands_delete
from ningju.demands.models import (
    Alert,
    Demand,
    DemandEvent,
    Dispatch,
    ExtensionRequest,
    ExtensionStatus,
    Kind,
    Source,
)
from ningju.demands.services import deadline_from
from ningju.demands.workflow import (
    TERMINAL_STATES,
    Action,
    DeadlineStage,
    DispatchState,
    State,
    deadline_stage,
    transition,
)
from ningju.registry.models import Street
from ningju.visits.demo import year_before
from ningju.visits.models import Finding

pytestmark = pytest.mark.django_db
HOUSEHOLDS = 200
SEED = 7


def build(*args: str, households: int = HOUSEHOLDS, seed: int = SEED) -> str:
    out = StringIO()
    call_command("demo", *args, households=households, seed=seed, stdout=out)
    return out.getvalue()


# The demo is written back from "today": which demands are still open and late depends on the day it is built.
# A fixed, ordinary working day (a Wednesday) makes the year the same on every day the suite runs.
DEMO_NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def fixed_clock() -> Iterator[None]:
    with time_machine.travel(DEMO_NOW, tick=True):
        yield


@pytest.fixture
def demo() -> str:
    return build()


def snapshot() -> list[tuple[Any, ...]]:
    """What two runs should agree on: each demand's words, place, owner, times and history."""
    events: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    for demand_id, action, username, at in DemandEvent.objects.order_by("at", "id").values_list(
        "demand_id", "action", "actor__username", "at"
    ):
        events[demand_id].append((action, username, at.isoformat()))
    return sorted(
        (
            d.area.code,
            d.kind,
            d.source,
            d.text,
            d.owner.username,
            d.created_at.isoformat(),
            d.state,
            d.external_id,
            tuple(events[d.pk]),
        )
        for d in Demand.objects.select_related("area", "owner")
    )


def replay(demand: Demand, events: list[DemandEvent], users: dict[int, User]) -> tuple[str, int, dict[int, str]]:
    """Take the stored events through `workflow.transition` from 受理 with each actor's stored role and ties;
    returns (state, whistles, the last round's dispatch states). Raises WorkflowError on a step not allowed."""
    first, *steps = events
    assert first.action == "create" and first.to_state == State.ACCEPTED and first.actor_id == demand.owner_id
    state, whistles = State.ACCEPTED.value, 0
    dispatches: dict[int, str] = {}
    pending = False
    for event in steps:
        assert event.actor_id is not None  # every demo step has its actor
        actor = users[event.actor_id]
        params = event.params
        outcome = transition(
            state,
            event.action,
            actor_role=actor.role,
            is_owner=actor.pk == demand.owner_id,
            actor_in_area=actor.role in AREA_ROLES and actor.area_id == demand.area_id,
            actor_department=actor.department_id if actor.role == Role.LIAISON else None,
            dispatches=dispatches,
            extension_pending=pending,
            reason=event.reason,
            departments=params.get("departments", ()),
            callback_result=params.get("callback_result"),
            target=params.get("target"),
            days=params.get("days"),
            note=event.note,
        )
        assert (event.from_state, event.to_state) == (outcome.from_state, outcome.to_state), event
        state = outcome.to_state
        dispatches = {key: value.value for key, value in outcome.dispatches.items()}
        whistles += event.action == Action.WHISTLE
        if event.action == Action.REQUEST_EXTENSION:
            pending = True
        elif event.action in (Action.APPROVE_EXTENSION, Action.DENY_EXTENSION):
            pending = False
    return state, whistles, dispatches


def test_every_history_replays_through_the_workflow_to_the_stored_state(demo: str) -> None:
    users = {user.pk: user for user in User.objects.all()}
    events: dict[int, list[DemandEvent]] = defaultdict(list)
    for event in DemandEvent.objects.order_by("at", "id"):
        events[event.demand_id].append(event)
    demands = list(Demand.objects.all())
    assert len(demands) > 100
    for demand in demands:
        history = events[demand.pk]
        state, whistles, _round = replay(demand, history, users)
        assert state == demand.state, demand.pk
        assert demand.version == len(history), demand.pk  # 1 + one per step after the create event
        assert demand.whistle_round == whistles
        times = [event.at for event in history]
        assert times == sorted(times) and len(set(times)) == len(times)
        assert demand.created_at == history[0].at
        assert history[-1].at < timezone.now()


def test_deadlines_and_alerts_follow_the_state(demo: str) -> None:
    street = Street.objects.get(code="310106006")
    today = timezone.localdate()
    for demand in Demand.objects.all():
        stage = deadline_stage(demand.state)
        if demand.state in TERMINAL_STATES or stage is None:
            assert demand.due_at is None, demand.pk
            assert demand.alert == Alert.NONE
            continue
        assert demand.due_at is not None, demand.pk
        due_day = timezone.localtime(demand.due_at).date()
        expected = Alert.RED if due_day < today else Alert.YELLOW if due_day == today else Alert.NONE
        assert demand.alert == expected, demand.pk
        if demand.state == State.ACCEPTED:
            assert demand.due_at == deadline_from(demand.created_at, DeadlineStage.FIRST_CONTACT, street.pk)
    open_ = Demand.objects.exclude(state__in=TERMINAL_STATES)
    assert open_.exists()
    assert open_.filter(alert=Alert.RED).exists()


def test_the_mix_is_the_articles(demo: str) -> None:
    kinds = Counter(dict(Demand.objects.values_list("kind").annotate(n=Count("pk")).values_list("kind", "n")))
    total = sum(kinds.values())
    # 1300+ opinions to 900+ problems, with help and enquiries beside.
    assert kinds[Kind.OPINION] > kinds[Kind.PROBLEM] > kinds[Kind.HELP] > 0
    assert 0.4 <= kinds[Kind.OPINION] / total <= 0.62
    assert 0.27 <= kinds[Kind.PROBLEM] / total <= 0.45
    assert kinds[Kind.ENQUIRY] > 0
    sources = Counter(
        dict(Demand.objects.values_list("source").annotate(n=Count("pk")).values_list("source", "n"))
    )
    assert set(sources) == set(Source.values)
    assert 0.04 <= sources[Source.HOTLINE] / total <= 0.18
    problems = Demand.objects.filter(kind=Kind.PROBLEM)
    found = problems.filter(source__in=[Source.VISIT, Source.PATROL]).count()
    assert found > problems.count() / 2  # problems are mostly found by visits and patrols (主动发现)

    whistled = Demand.objects.filter(whistle_round__gt=0).count()
    assert 0.03 <= whistled / total <= 0.2
    callbacks = Counter(
        event.params["callback_result"] for event in DemandEvent.objects.filter(action=Action.CALLBACK)
    )
    answered = sum(callbacks.values())
    assert callbacks["satisfied"] / answered >= 0.7
    assert 0 < callbacks["dissatisfied"] / answered <= 0.12
    assert callbacks["basically_satisfied"] > 0
    assert Demand.objects.filter(state=State.CLOSED).count() > 0.8 * total
    assert DemandEvent.objects.filter(action=Action.REQUEST_EXTENSION).exists() or total < 300


def test_demands_point_at_their_own_area(demo: str) -> None:
    area_users = defaultdict(set)
    for pk, area_id in User.objects.filter(role__in=AREA_ROLES).values_list("pk", "area_id"):
        area_users[area_id].add(pk)
    demands = Demand.objects.select_related(
        "household__building__compound",
        "building__compound",
        "compound",
        "patrol_site",
        "reporter__household",
        "visit",
        "finding",
    )
    for d in demands:
        assert d.owner_id in area_users[d.area_id], d.pk
        assert d.category_id is not None
        for place_area in (
            d.household.building.compound.area_id if d.household else None,
            d.building.compound.area_id if d.building else None,
            d.compound.area_id if d.compound else None,
            d.patrol_site.area_id if d.patrol_site else None,
            d.visit.area_id if d.visit else None,
        ):
            assert place_area in (None, d.area_id), d.pk
        if d.household and d.building:
            assert d.household.building_id == d.building_id
        if d.reporter:
            assert d.reporter.household_id == d.household_id
        if d.finding:
            assert d.finding.visit_id == d.visit_id
            assert d.source in (Source.VISIT, Source.PATROL)
            assert d.finding.text in d.text
        if d.visit:
            assert d.visit.cadre_id == d.owner_id or d.owner_id in area_users[d.area_id]
    assert Demand.objects.filter(finding__isnull=False).exists()
    # A share of the findings becomes demands (one each: the database holds that line).
    assert Demand.objects.filter(finding__isnull=False).count() < Finding.objects.count()


def test_hotline_orders_have_unique_numbers(demo: str) -> None:
    numbers = list(Demand.objects.filter(source=Source.HOTLINE).values_list("external_id", "created_at"))
    assert numbers
    assert len({n for n, _at in numbers}) == len(numbers)
    for number, created in numbers:
        assert re.fullmatch(r"\d{16}", number)
        assert number[:8] == timezone.localtime(created).strftime("%Y%m%d")
    assert not Demand.objects.exclude(source=Source.HOTLINE).exclude(external_id="").exists()


def test_merged_duplicates_point_at_the_demand_they_repeat(demo: str) -> None:
    merged = Demand.objects.filter(state=State.MERGED).select_related("merged_into")
    for demand in merged:
        assert demand.merged_into is not None
        assert demand.merged_into.state != State.MERGED
        assert demand.merged_into.created_at < demand.created_at
        event = demand.events.get(action=Action.MERGE)
        assert event.params["target"] == demand.merged_into_id
    assert not Demand.objects.exclude(state=State.MERGED).filter(merged_into__isnull=False).exists()


def test_dispatch_rows_agree_with_the_events(demo: str) -> None:
    users = {user.pk: user for user in User.objects.all()}
    for demand in Demand.objects.filter(whistle_round__gt=0).prefetch_related("events", "dispatches"):
        rows = {(row.round, row.department_id): row for row in demand.dispatches.all()}
        seen: dict[tuple[int, int], dict[str, Any]] = {}
        round_ = 0
        for event in demand.events.all():
            if event.action == Action.WHISTLE:
                round_ += 1
            for department in event.params.get("departments", []):
                seen[(round_, department)] = {"state": DispatchState.DISPATCHED, "dispatched_at": event.at}
            if "department" in event.params:
                key = (round_, event.params["department"])
                assert event.actor_id is not None
                assert users[event.actor_id].department_id == event.params["department"]
                if event.action == Action.ACKNOWLEDGE:
                    seen[key].update(state=DispatchState.ACKNOWLEDGED, acknowledged_at=event.at)
                elif event.action == Action.DEPARTMENT_START:
                    seen[key]["state"] = DispatchState.HANDLING
                elif event.action == Action.DEPARTMENT_RESOLVE:
                    seen[key].update(state=DispatchState.RESOLVED, resolved_at=event.at)
                elif event.action == Action.RETURN_ORDER:
                    seen[key].update(state=DispatchState.RETURNED, returned_at=event.at)
        assert set(rows) == set(seen), demand.pk
        for key, expected in seen.items():
            for name, value in expected.items():
                assert getattr(rows[key], name) == value, (demand.pk, key, name)
    assert Dispatch.objects.exists()
    for extension in ExtensionRequest.objects.all():
        assert (extension.status == ExtensionStatus.PENDING) == (extension.decided_at is None)


def test_demands_fall_in_the_past_year_mostly_on_working_days(demo: str) -> None:
    today = timezone.localdate()
    created = [timezone.localtime(at) for at in Demand.objects.values_list("created_at", flat=True)]
    assert min(created).date() >= year_before(today)
    assert max(created).date() <= today - timedelta(days=1)
    on_workdays = sum(is_workday(at.date()) for at in created)
    assert on_workdays / len(created) > 0.85
    assert sum(8 <= at.hour < 18 for at in created) / len(created) > 0.85


def test_the_command_prints_the_year_in_the_articles_words(demo: str) -> None:
    opinions = Demand.objects.filter(
        kind=Kind.OPINION, state__in=[State.RESOLVED, State.DEPARTMENT_RESOLVED, State.CALLBACK, State.CLOSED]
    ).count()
    assert f"回应意见建议{opinions}条" in demo
    assert f"的诉求{Demand.objects.count()}条" in demo
    assert f"吹哨{DemandEvent.objects.filter(action=Action.WHISTLE).count()}次" in demo
    assert "满意" in demo and "响应率" in demo


def test_the_same_seed_gives_the_same_demands_and_reset_replaces_them(demo: str) -> None:
    first = snapshot()
    build("--reset")
    assert snapshot() == first
    build("--reset", seed=SEED + 1)
    assert snapshot() != first


def test_no_demands_and_no_visits_leave_the_demands_out() -> None:
    output = build("--no-demands", households=100)
    assert not Demand.objects.exists()
    assert "走访记录（" in output and "诉求" not in output
    build("--reset", "--no-visits", households=100)
    assert not Demand.objects.exists()


def test_demo_demands_delete_removes_the_streets_demands() -> None:
    build("--no-demands", households=100)
    street = Street.objects.get(code="310106006")
    result = demo_demands(street=street, seed=3, today=date(2026, 6, 15))
    assert result.start == date(2025, 6, 15) and result.end == date(2026, 6, 14)
    assert Demand.objects.count() == result.demands
    deleted = demo_demands_delete(street)
    assert deleted["demands"] == result.demands
    assert not Demand.objects.exists() and not DemandEvent.objects.exists() and not Dispatch.objects.exists()
