"""A notice that asked for a step is marked read for everyone who got it once the step is done (accept a whistle,
report to a dispatch, call the resident back …); a notice that asked for something else stays unread, and a refused
step answers nothing."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from ningju.core.models import Notification, User
from ningju.core.notify import Notice, notices_resolve, notify_many
from ningju.demands import notices
from ningju.demands.models import Demand, Kind, Source
from ningju.demands.services import demand_act, demand_create
from ningju.demands.workflow import WorkflowError
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db


def recorded(world: World, owner: User | None = None) -> Demand:
    demand, _created = demand_create(
        user=owner or world.cadre,
        area=world.hengdeli,
        kind=Kind.PROBLEM,
        source=Source.VISIT,
        text="楼下酒吧午夜后噪音很大",
        household=world.household,
    )
    return demand


def unread(user: User) -> list[str]:
    rows = Notification.objects.filter(user=user, read_at__isnull=True).order_by("id")
    return list(rows.values_list("title", flat=True))


@pytest.fixture
def act(django_capture_on_commit_callbacks: Any) -> Any:
    def step(demand: Demand, user: User, action: str, **params: Any) -> Demand:
        with django_capture_on_commit_callbacks(execute=True):
            return demand_act(user=user, demand_id=demand.pk, action=action, **params)

    return step


def test_the_whole_ladder_leaves_nobody_an_unread_request(world: World, act: Any) -> None:
    market = factories.DepartmentFactory(street=world.street, name="市场监管", slug="market")
    market_liaison = factories.liaison(market, username="dept-market")
    demand = recorded(world)
    demand = act(demand, world.head, "whistle", reason="酒吧噪音超出居民区职权")
    assert unread(world.admin) == [f"恒德里吹哨：诉求 #{demand.pk}"]

    demand = act(demand, world.admin, "street_accept")
    assert unread(world.admin) == []  # "please accept" is answered by the acceptance

    demand = act(demand, world.admin, "dispatch", departments=[world.department.pk, market.pk])
    dispatched = f"新派单：诉求 #{demand.pk}，请在时限内报到"
    assert unread(world.liaison) == [dispatched] and unread(market_liaison) == [dispatched]

    demand = act(demand, world.liaison, "acknowledge")
    assert unread(world.liaison) == []
    assert unread(market_liaison) == [dispatched]  # one department's report answers only its own notice

    demand = act(demand, market_liaison, "return_order", reason="不属本部门职责")
    assert unread(market_liaison) == []
    assert unread(world.admin) == [f"市场监管退单：诉求 #{demand.pk}"]
    demand = act(demand, world.admin, "redispatch", departments=[market.pk])
    assert unread(world.admin) == []  # "please dispatch again" is answered
    demand = act(demand, market_liaison, "return_order", reason="仍不属本部门职责")
    act(demand, world.admin, "merge", reason="与已有诉求重复", target=recorded(world).pk)
    assert unread(world.admin) == []  # a merged demand asks nothing of anyone any more
    merged = f"诉求 #{demand.pk} 已合并至诉求 #{demand.pk + 1}"
    assert unread(world.cadre) == [merged]  # news, not a request: it waits to be read

    demand = recorded(world)
    demand = act(demand, world.head, "whistle", reason="需要执法")
    demand = act(demand, world.admin, "street_accept")
    demand = act(demand, world.admin, "dispatch", departments=[world.department.pk])
    for action in ("acknowledge", "department_start"):
        demand = act(demand, world.liaison, action)
    demand = act(demand, world.liaison, "department_resolve", note="已约谈经营者，夜间停止外放")
    assert unread(world.cadre) == [merged, f"诉求 #{demand.pk} 部门已办结，请安排回访"]
    demand = act(demand, world.cadre, "request_callback")
    assert unread(world.cadre) == [merged]


def test_a_notice_for_another_step_stays_unread_and_a_refused_step_answers_nothing(world: World, act: Any) -> None:
    demand = recorded(world)
    demand = act(demand, world.head, "whistle", reason="酒吧噪音超出居民区职权")
    with pytest.raises(WorkflowError):
        act(demand, world.admin, "dispatch", departments=[world.department.pk])  # not accepted yet
    assert len(unread(world.admin)) == 1
    act(demand, world.admin, "street_accept")
    other = recorded(world)
    act(other, world.head, "whistle", reason="另一件事")
    assert unread(world.admin) == [f"恒德里吹哨：诉求 #{other.pk}"]  # another demand's whistle still waits


def test_overdue_warnings_are_answered_when_the_clock_they_warned_about_stops(
    world: World, act: Any, django_capture_on_commit_callbacks: Any
) -> None:
    demand = recorded(world)
    assert demand.due_at is not None
    key = f"demand:{demand.pk}:red:{demand.due_at.isoformat()}"
    notify_many([Notice(user_id=world.cadre.pk, title="诉求已超时", key=key)])
    with django_capture_on_commit_callbacks(execute=True):
        created_elsewhere = recorded(world, owner=world.other_cadre)  # its area's head hears of it
    assert unread(world.head) == [f"恒德里新诉求 #{created_elsewhere.pk}（{world.other_cadre.display_name}登记）"]

    act(demand, world.cadre, "contact")
    assert unread(world.cadre) == []  # the first-contact warning is moot once contacted
    act(created_elsewhere, world.head, "whistle", reason="需要执法")
    assert unread(world.head) == []


def test_notices_resolve_touches_only_what_it_names_and_keeps_read_times(world: World) -> None:
    user = world.cadre
    notify_many(
        [Notice(user_id=user.pk, title=t, key=k) for t, k in [("a", "demand:1:red:x"), ("b", "demand:12:x")]]
    )
    earlier = timezone.now() - timedelta(days=1)
    Notification.objects.filter(key="demand:12:x").update(read_at=earlier)
    assert notices_resolve(key_prefixes=notices.overdue_key_prefixes(1)) == 1
    assert Notification.objects.get(key="demand:12:x").read_at == earlier
    assert notices_resolve(keys=["nothing"]) == 0
    with pytest.raises(ValueError):
        notices_resolve(key_prefixes=[""])


def test_a_whistle_may_suggest_a_department_of_its_own_street_only(world: World, act: Any) -> None:
    demand = recorded(world)
    with pytest.raises(Exception, match="所选部门无效或已停用"):
        act(
            demand, world.head, "whistle", reason="需要执法", suggested_department=world.other_street_department.pk
        )
    demand = act(demand, world.head, "whistle", reason="需要执法", suggested_department=world.department.pk)
    whistle = demand.events.order_by("id").last()
    assert whistle is not None and whistle.params == {"suggested_department": world.department.pk}
