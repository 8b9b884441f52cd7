"""Recording demands and taking workflow steps on them: idempotent creates, a whole story from the doorstep to
结案 with one event per step, refusals that change nothing, deadlines on working days, and two people at once."""

import re
import threading
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection, connections

from ningju.core.errors import ApplicationError
from ningju.core.models import User
from ningju.demands import services
from ningju.demands.models import Demand, DemandEvent, Dispatch, ExtensionRequest, ExtensionStatus, Kind, Source
from ningju.demands.services import demand_act, demand_create
from ningju.demands.workflow import DispatchState, State
from ningju.registry.models import Department, Street
from tests import factories
from tests.conftest import World

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SHANGHAI)


def end_of(year: int, month: int, day: int) -> datetime:
    return datetime.combine(datetime(year, month, day).date(), time.max, tzinfo=SHANGHAI)


def record(world: World, user: User | None = None, **kwargs: object) -> Demand:
    fields: dict[str, Any] = {
        "area": world.hengdeli,
        "kind": Kind.PROBLEM,
        "source": Source.VISIT,
        "text": "楼下酒吧午夜后噪音很大",
        "household": world.household,
        "reporter": world.resident,
        **kwargs,
    }
    demand, created = demand_create(user=user or world.cadre, **fields)
    assert created
    return demand


def refused(message: str, error: type[Exception] = ApplicationError) -> pytest.RaisesExc[Exception]:
    """Expect a refusal whose whole message is exactly this."""
    return pytest.raises(error, match=f"^{re.escape(message)}$")


Step = tuple[User, str, dict[str, Any]]


def walk(demand: Demand, steps: list[Step], at: datetime | None = None) -> Demand:
    """Take the steps in order, each on the version the previous one left, as a page would."""
    for user, action, params in steps:
        demand = demand_act(
            user=user, demand_id=demand.pk, action=action, expected_version=demand.version, at=at, **params
        )
    return demand


def story(demand: Demand) -> list[tuple[str, str, str, str]]:
    return [
        (event.actor.username if event.actor else "", event.action, event.from_state, event.to_state)
        for event in DemandEvent.objects.filter(demand=demand).select_related("actor").order_by("at", "id")
    ]


def test_create_with_the_same_client_key_returns_the_stored_demand(world: World) -> None:
    first, created = demand_create(
        user=world.cadre,
        area=world.hengdeli,
        kind=Kind.HELP,
        source=Source.WALK_IN,
        text="想申请助餐",
        client_key="k-1",
    )
    again, created_again = demand_create(
        user=world.cadre,
        area=world.hengdeli,
        kind=Kind.HELP,
        source=Source.WALK_IN,
        text="想申请助餐",
        client_key="k-1",
    )
    assert created and not created_again
    assert again.pk == first.pk
    assert Demand.objects.count() == 1
    assert DemandEvent.objects.filter(demand=first).count() == 1
    assert first.owner == world.cadre and first.state == State.ACCEPTED


def test_another_users_client_key_is_refused(world: World) -> None:
    demand_create(
        user=world.cadre, area=world.hengdeli, kind=Kind.HELP, source=Source.ONLINE, text="求助", client_key="k"
    )
    with pytest.raises(ApplicationError, match="该请求编号已被他人使用"):
        demand_create(
            user=world.head, area=world.hengdeli, kind=Kind.HELP, source=Source.ONLINE, text="求助", client_key="k"
        )
    assert Demand.objects.count() == 1


def test_household_of_another_area_is_refused_and_nothing_is_written(world: World) -> None:
    with refused("所选户不在所选居民区内。"):
        record(world, household=world.other_household, reporter=None)
    assert not Demand.objects.exists() and not DemandEvent.objects.exists()


def test_liaison_cannot_record_a_demand(world: World) -> None:
    with pytest.raises(PermissionDenied):
        record(world, user=world.liaison)


def test_hotline_order_number_is_recorded_once(world: World) -> None:
    record(world, source=Source.HOTLINE, external_id="SH12345-0001")
    with pytest.raises(ApplicationError, match="SH12345-0001"):
        record(world, source=Source.HOTLINE, external_id="SH12345-0001")
    assert Demand.objects.count() == 1


def test_full_story_from_the_doorstep_to_closed(world: World) -> None:
    demand = record(world)
    steps: list[tuple[User, str, dict[str, Any]]] = [
        (world.cadre, "contact", {"note": "已电话联系王阿姨"}),
        (world.cadre, "start_handling", {}),
        (world.head, "whistle", {"reason": "酒吧经营超出居民区职权"}),
        (world.admin, "street_accept", {}),
        (world.admin, "dispatch", {"departments": [world.department.pk]}),
        (world.liaison, "acknowledge", {}),
        (world.liaison, "department_start", {}),
        (world.liaison, "department_resolve", {"note": "已约谈店主，限时整改"}),
        (world.cadre, "request_callback", {}),
        (world.cadre, "callback", {"callback_result": "satisfied"}),
    ]
    demand = walk(demand, steps)

    assert demand.state == State.CLOSED
    assert demand.version == 1 + len(steps)
    assert demand.due_at is None  # no clock runs on a closed demand
    assert story(demand) == [
        ("cadre-006-1", "create", "", "accepted"),
        ("cadre-006-1", "contact", "accepted", "contacted"),
        ("cadre-006-1", "start_handling", "contacted", "area_handling"),
        ("head-006", "whistle", "area_handling", "whistled"),
        ("admin", "street_accept", "whistled", "street_accepted"),
        ("admin", "dispatch", "street_accepted", "dispatched"),
        ("dept-chengguan", "acknowledge", "dispatched", "acknowledged"),
        ("dept-chengguan", "department_start", "acknowledged", "department_handling"),
        ("dept-chengguan", "department_resolve", "department_handling", "department_resolved"),
        ("cadre-006-1", "request_callback", "department_resolved", "callback"),
        ("cadre-006-1", "callback", "callback", "closed"),
    ]
    events = DemandEvent.objects.filter(demand=demand)
    assert events.get(action="whistle").reason == "酒吧经营超出居民区职权"
    assert events.get(action="dispatch").params == {"departments": [world.department.pk]}
    assert events.get(action="callback").params == {"callback_result": "satisfied"}
    assert events.get(action="contact").note == "已电话联系王阿姨"
    dispatch = Dispatch.objects.get(demand=demand)
    assert dispatch.round == 1 and dispatch.department == world.department
    assert dispatch.state == DispatchState.RESOLVED
    assert dispatch.acknowledged_at is not None and dispatch.resolved_at is not None


def test_wrong_role_is_refused_with_a_chinese_message_and_nothing_changes(world: World) -> None:
    demand = demand_act(user=world.cadre, demand_id=record(world).pk, action="contact")
    demand = demand_act(user=world.cadre, demand_id=demand.pk, action="start_handling")
    with refused("只有本居民区书记/主任可以吹哨"):
        demand_act(user=world.cadre, demand_id=demand.pk, action="whistle", reason="超出职权")
    stored = Demand.objects.get(pk=demand.pk)
    assert (stored.state, stored.version, stored.whistle_round) == (State.AREA_HANDLING, 3, 0)
    assert DemandEvent.objects.filter(demand=demand).count() == 3


def test_stale_version_is_refused(world: World) -> None:
    demand = record(world)
    demand_act(user=world.head, demand_id=demand.pk, action="contact", expected_version=1)
    with refused("该诉求已被他人更新，请刷新后重试"):
        demand_act(user=world.cadre, demand_id=demand.pk, action="start_handling", expected_version=1)
    stored = Demand.objects.get(pk=demand.pk)
    assert (stored.state, stored.version) == (State.CONTACTED, 2)


def to_street_desk(world: World) -> list[Step]:
    """The steps that take a new demand to the street desk: contacted, handled, whistled, accepted."""
    return [
        (world.cadre, "contact", {}),
        (world.cadre, "start_handling", {}),
        (world.head, "whistle", {"reason": "需要执法"}),
        (world.admin, "street_accept", {}),
    ]


def whistled_and_dispatched(world: World) -> Demand:
    return walk(
        record(world), [*to_street_desk(world), (world.admin, "dispatch", {"departments": [world.department.pk]})]
    )


def test_liaison_of_another_department_cannot_see_or_act(world: World) -> None:
    demand = whistled_and_dispatched(world)
    market = Department.objects.create(street=world.street, name="市场监管", slug="market")
    outsider = factories.liaison(market, username="dept-market")
    assert not Demand.objects.filter(services.demand_visible_q(outsider)).exists()
    assert Demand.objects.filter(services.demand_visible_q(world.liaison)).get() == demand
    with pytest.raises(PermissionDenied):
        demand_act(user=outsider, demand_id=demand.pk, action="acknowledge")
    assert Dispatch.objects.get(demand=demand).state == DispatchState.DISPATCHED
    assert Demand.objects.get(pk=demand.pk).version == demand.version


def test_cadre_of_another_area_cannot_act_on_a_demand_they_do_not_own(world: World) -> None:
    demand = record(world)
    with pytest.raises(PermissionDenied):
        demand_act(user=world.other_cadre, demand_id=demand.pk, action="contact")
    assert Demand.objects.get(pk=demand.pk).state == State.ACCEPTED


def test_owner_from_another_area_sees_and_handles_what_they_received(world: World) -> None:
    demand = record(world, user=world.other_cadre)  # 首问负责: received at 又一村's desk for 恒德里
    assert Demand.objects.filter(services.demand_visible_q(world.other_cadre)).get() == demand
    demand = demand_act(user=world.other_cadre, demand_id=demand.pk, action="contact")
    assert demand.state == State.CONTACTED


def test_dispatch_to_a_department_of_another_street_is_refused(world: World) -> None:
    demand = walk(record(world), to_street_desk(world))
    elsewhere = Street.objects.create(code="310106007", name="南京西路街道")
    foreign = Department.objects.create(street=elsewhere, name="城管", slug="chengguan")
    with refused("所选部门无效或已停用。"):
        demand_act(user=world.admin, demand_id=demand.pk, action="dispatch", departments=[foreign.pk])
    assert not Dispatch.objects.exists()
    assert Demand.objects.get(pk=demand.pk).state == State.STREET_ACCEPTED


def test_returned_order_goes_back_to_the_street_and_can_be_redispatched(world: World) -> None:
    demand = whistled_and_dispatched(world)
    demand = demand_act(user=world.liaison, demand_id=demand.pk, action="return_order", reason="不属本部门职责")
    assert demand.state == State.STREET_ACCEPTED
    row = Dispatch.objects.get(demand=demand)
    assert row.state == DispatchState.RETURNED and row.returned_reason == "不属本部门职责"
    market = Department.objects.create(street=world.street, name="市场监管", slug="market")
    demand = demand_act(user=world.admin, demand_id=demand.pk, action="redispatch", departments=[market.pk])
    assert demand.state == State.DISPATCHED
    assert set(Dispatch.objects.filter(demand=demand).values_list("department__name", "state")) == {
        ("城管", DispatchState.RETURNED),
        ("市场监管", DispatchState.DISPATCHED),
    }


def test_merge_into_itself_is_refused_and_into_another_is_recorded(world: World) -> None:
    demand, original = record(world), record(world, text="酒吧噪音（首次反映）")
    with refused("不能将诉求合并到它自身。"):
        demand_act(user=world.admin, demand_id=demand.pk, action="merge", target=demand.pk, reason="重复")
    merged = demand_act(user=world.admin, demand_id=demand.pk, action="merge", target=original.pk, reason="重复")
    assert merged.state == State.MERGED and merged.merged_into == original
    assert merged.due_at is None


def test_extension_approved_moves_the_deadline_by_working_days(world: World) -> None:
    demand = record(world, received_at=shanghai(2026, 9, 28))  # Monday
    demand = demand_act(user=world.cadre, demand_id=demand.pk, action="contact", at=shanghai(2026, 9, 29))
    # Handling: five working days from Tuesday 29 September, National Day in between: 30 Sep, 8, 9, 10 (调休), 12.
    assert demand.due_at == end_of(2026, 10, 12)
    demand = demand_act(
        user=world.cadre, demand_id=demand.pk, action="request_extension", reason="需协调物业", days=2
    )
    assert ExtensionRequest.objects.get(demand=demand).status == ExtensionStatus.PENDING
    demand = demand_act(user=world.admin, demand_id=demand.pk, action="approve_extension")
    assert demand.due_at == end_of(2026, 10, 14)
    assert ExtensionRequest.objects.get(demand=demand).decided_by == world.admin


def test_first_contact_created_before_national_day_is_due_after_the_holiday(world: World) -> None:
    demand = record(world, received_at=shanghai(2026, 9, 30, 16))
    assert demand.due_at == end_of(2026, 10, 8)


def test_first_contact_can_fall_on_a_make_up_working_saturday(world: World) -> None:
    demand = record(world, received_at=shanghai(2026, 10, 9, 17))  # Friday; Saturday 10 October is a 调休 workday
    assert demand.due_at == end_of(2026, 10, 10)


def test_an_enquiry_is_answered_within_one_working_day(world: World) -> None:
    demand = record(world, kind=Kind.ENQUIRY, received_at=shanghai(2026, 10, 12))
    demand = demand_act(user=world.cadre, demand_id=demand.pk, action="contact", at=shanghai(2026, 10, 12, 15))
    assert demand.due_at == end_of(2026, 10, 13)


def test_department_clock_starts_at_dispatch(world: World) -> None:
    demand = walk(
        record(world, received_at=shanghai(2026, 10, 12)), to_street_desk(world), at=shanghai(2026, 10, 12)
    )
    assert demand.due_at is None  # no clock at the street desk
    demand = demand_act(
        user=world.admin,
        demand_id=demand.pk,
        action="dispatch",
        departments=[world.department.pk],
        at=shanghai(2026, 10, 16),  # Friday
    )
    assert demand.due_at == end_of(2026, 10, 19)  # report (报到) within one working day: Monday
    demand = demand_act(user=world.liaison, demand_id=demand.pk, action="acknowledge", at=shanghai(2026, 10, 19))
    assert demand.due_at == end_of(2026, 10, 26)  # then five working days to handle it


def test_callback_dissatisfied_reopens_with_three_working_days(world: World) -> None:
    demand = record(world, received_at=shanghai(2026, 10, 12))
    steps: list[Step] = [
        (world.cadre, "contact", {}),
        (world.cadre, "start_handling", {}),
        (world.cadre, "resolve", {}),
        (world.cadre, "request_callback", {}),
        (world.cadre, "callback", {"callback_result": "dissatisfied"}),
    ]
    demand = walk(demand, steps, at=shanghai(2026, 10, 13))
    assert demand.state == State.REOPENED
    assert demand.due_at == end_of(2026, 10, 16)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_people_contacting_at_once_record_one_step(world: World) -> None:
    demand = record(world)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def contact(user: User) -> None:
        try:
            barrier.wait()
            demand_act(user=user, demand_id=demand.pk, action="contact")
            results.append("ok")
        except ApplicationError as error:
            results.append(error.message)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=contact, args=(user,)) for user in (world.cadre, world.head)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == ["ok", "当前状态“已联系”不能执行“联系”"]
    stored = Demand.objects.get(pk=demand.pk)
    assert (stored.state, stored.version) == (State.CONTACTED, 2)
    assert DemandEvent.objects.filter(demand=demand, action="contact").count() == 1
