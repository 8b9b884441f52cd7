"""Yellow and red deadline warnings: the rule on the real Chinese calendar (National Day 2025, its 调休 Sunday), the
job that flags demands and tells the right people exactly once, clears when the step moves on, and its command."""

import io
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.test import override_settings

from ningju.core.models import NoticeLevel, Notification, User
from ningju.demands.models import Alert, Demand, Kind, Source
from ningju.demands.overdue import FlagResult, alert_for, demands_flag_overdue
from ningju.demands.services import demand_act, demand_create
from tests.conftest import World

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SHANGHAI)


def end_of(year: int, month: int, day: int) -> datetime:
    return datetime.combine(datetime(year, month, day).date(), time.max, tzinfo=SHANGHAI)


def record(world: World, received_at: datetime, **kwargs: object) -> Demand:
    demand, _created = demand_create(
        user=world.cadre,
        area=world.hengdeli,
        kind=Kind.PROBLEM,
        source=Source.VISIT,
        text="楼道堆物影响通行",
        household=world.household,
        received_at=received_at,
        **kwargs,
    )
    return demand


def notices_of(user: User) -> list[tuple[str, str]]:
    return sorted(Notification.objects.filter(user=user).values_list("level", "title"))


def alert_of(demand: Demand) -> str:
    return Demand.objects.get(pk=demand.pk).alert


# --- the rule ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_passed_deadline_is_red() -> None:
    assert alert_for(end_of(2025, 10, 9), at(2025, 10, 10, 0), 0) == Alert.RED


@pytest.mark.django_db
def test_no_deadline_means_no_warning() -> None:
    assert alert_for(None, at(2025, 10, 10), 3) == Alert.NONE


@pytest.mark.django_db
def test_with_zero_warning_days_only_the_due_day_itself_is_yellow() -> None:
    assert alert_for(end_of(2025, 10, 9), at(2025, 10, 9, 8), 0) == Alert.YELLOW
    assert alert_for(end_of(2025, 10, 9), at(2025, 9, 30, 17), 0) == Alert.NONE


@pytest.mark.django_db
def test_one_working_day_warning_reaches_across_the_national_day_holiday() -> None:
    # Tuesday 30 September 2025: the next working day is Thursday 9 October (1–8 October are off).
    assert alert_for(end_of(2025, 10, 9), at(2025, 9, 30), 1) == Alert.YELLOW
    assert alert_for(end_of(2025, 10, 10), at(2025, 9, 30), 1) == Alert.NONE


@pytest.mark.django_db
def test_a_make_up_working_sunday_counts_as_the_next_working_day() -> None:
    # Friday 26 September 2025: Sunday 28 September is a 调休 working day, so it is the next one, not Monday 29.
    assert alert_for(end_of(2025, 9, 28), at(2025, 9, 26), 1) == Alert.YELLOW
    assert alert_for(end_of(2025, 9, 29), at(2025, 9, 26), 1) == Alert.NONE


# --- the job ----------------------------------------------------------------------------------------------------


def test_the_job_warns_the_owner_yellow_then_everyone_concerned_red_and_only_once(world: World) -> None:
    demand = record(world, at(2025, 9, 30))  # first contact due at the end of Thursday 9 October
    assert demand.due_at == end_of(2025, 10, 9)

    first = demands_flag_overdue(now=at(2025, 10, 9, 9))
    assert (first.yellow, first.red, first.notified) == (1, 0, 1)
    assert alert_of(demand) == Alert.YELLOW
    assert notices_of(world.cadre) == [(NoticeLevel.YELLOW, f"诉求 #{demand.pk} 即将超时（2025-10-09 到期）")]
    assert notices_of(world.head) == [] and notices_of(world.admin) == []

    again = demands_flag_overdue(now=at(2025, 10, 9, 9))
    assert again.notified == 0 and Notification.objects.count() == 1

    late = demands_flag_overdue(now=at(2025, 10, 10, 9))
    assert (late.yellow, late.red, late.notified) == (0, 1, 3)
    assert alert_of(demand) == Alert.RED
    red = (NoticeLevel.RED, f"诉求 #{demand.pk} 已超时（时限 2025-10-09）")
    assert red in notices_of(world.cadre) and len(notices_of(world.cadre)) == 2
    assert notices_of(world.head) == [red]
    assert notices_of(world.admin) == [red]
    assert notices_of(world.other_cadre) == [] and notices_of(world.liaison) == []

    assert demands_flag_overdue(now=at(2025, 10, 10, 9)).notified == 0
    assert Notification.objects.count() == 4


def test_the_liaison_of_a_department_still_on_it_hears_when_the_report_is_due(world: World) -> None:
    demand = record(world, at(2025, 9, 29))
    steps = [
        (world.cadre, "contact", {}),
        (world.cadre, "start_handling", {}),
        (world.head, "whistle", {"reason": "需要执法"}),
        (world.admin, "street_accept", {}),
        (world.admin, "dispatch", {"departments": [world.department.pk]}),
    ]
    for user, action, params in steps:
        demand = demand_act(user=user, demand_id=demand.pk, action=action, at=at(2025, 9, 30), **params)
    assert demand.due_at == end_of(2025, 10, 9)  # 报到 within one working day of dispatch

    result = demands_flag_overdue(now=at(2025, 10, 9, 9))
    assert result.notified == 2
    assert [level for level, _title in notices_of(world.liaison)] == [NoticeLevel.YELLOW]
    assert [level for level, _title in notices_of(world.cadre)] == [NoticeLevel.YELLOW]


def test_the_warning_clears_once_the_step_moves_the_demand_on(world: World) -> None:
    demand = record(world, at(2025, 9, 30))
    demands_flag_overdue(now=at(2025, 10, 10, 9))
    assert alert_of(demand) == Alert.RED

    demand_act(user=world.cadre, demand_id=demand.pk, action="contact", at=at(2025, 10, 10, 9))
    result = demands_flag_overdue(now=at(2025, 10, 10, 10))
    assert alert_of(demand) == Alert.NONE
    assert (result.red, result.cleared, result.notified) == (0, 1, 0)


def test_a_merged_demand_loses_its_warning(world: World) -> None:
    demand, original = record(world, at(2025, 9, 30)), record(world, at(2025, 10, 9))
    demands_flag_overdue(now=at(2025, 10, 10, 9))
    assert alert_of(demand) == Alert.RED
    demand_act(user=world.admin, demand_id=demand.pk, action="merge", target=original.pk, reason="重复")
    result = demands_flag_overdue(now=at(2025, 10, 10, 10))
    assert alert_of(demand) == Alert.NONE and result.cleared == 1


@override_settings(NINGJU_DEMAND_WARN_WORKDAYS=1)
def test_a_new_deadline_can_warn_again(world: World) -> None:
    demand = record(world, at(2025, 9, 30))
    demands_flag_overdue(now=at(2025, 9, 30, 11))  # due 9 October: the next working day, so yellow already
    demand = demand_act(user=world.cadre, demand_id=demand.pk, action="contact", at=at(2025, 10, 9))
    # Five working days from Thursday 9 October: 10, 11 (a 调休 Saturday), 13, 14, 15.
    assert demand.due_at == end_of(2025, 10, 15)
    demands_flag_overdue(now=at(2025, 10, 9, 11))
    assert alert_of(demand) == Alert.NONE
    result = demands_flag_overdue(now=at(2025, 10, 14, 11))
    assert alert_of(demand) == Alert.YELLOW and result.notified == 1
    assert len(notices_of(world.cadre)) == 2


def test_the_job_checks_many_demands_in_a_few_queries(world: World, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    for _n in range(30):
        record(world, at(2025, 9, 30))
    with django_assert_max_num_queries(20):
        result = demands_flag_overdue(now=at(2025, 10, 10, 9))
    assert result == FlagResult(checked=30, yellow=0, red=30, cleared=0, notified=90)


def test_the_command_prints_what_it_did_in_chinese(world: World) -> None:
    record(world, at(2025, 9, 30))
    out = io.StringIO()
    call_command("flag-overdue", stdout=out)
    assert "检查在办诉求1条：黄色预警0条，红色预警1条，解除预警0条，新发通知3条。" in out.getvalue()


def test_the_periodic_task_runs_every_fifteen_minutes() -> None:
    from huey.contrib.djhuey import HUEY

    from ningju.demands import tasks

    def due(minute: int) -> bool:
        periodic = HUEY.read_periodic(datetime(2025, 10, 9, 9, minute))
        return any(isinstance(task, tasks.flag_overdue_task.task_class) for task in periodic)

    assert due(0) and due(15) and due(45)
    assert not due(16)
