"""The ladder as the head, the street and a department read it on the demand page (issue 11, finding 7): the head
may whistle straight from 受理 and may name the department to send it to; the dispatch ticks that department and
says why (else the category's usual one, saying so); a department's 办结 must say what was done, and the timeline
shows it. Liaisons cannot whistle, another area's cadre or head cannot act."""

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ningju.core.models import User
from ningju.demands.models import Category, Demand, DemandEvent, Kind, Source
from ningju.demands.services import demand_act, demand_create
from ningju.demands.workflow import Action, State
from ningju.registry.models import Department
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db


def record(world: World) -> Demand:
    demand, _created = demand_create(
        user=world.cadre,
        area=world.hengdeli,
        kind=Kind.PROBLEM,
        source=Source.WALK_IN,
        text="沿街商铺占道经营，夜间噪音",
        household=world.household,
    )
    return demand


def step(demand: Demand, user: User, action: str, **params: Any) -> Demand:
    return demand_act(user=user, demand_id=demand.pk, action=action, expected_version=demand.version, **params)


def post_step(client: Client, user: User, demand: Demand, action: str, **data: Any) -> Any:
    client.force_login(user)
    data.setdefault("version", Demand.objects.get(pk=demand.pk).version)
    return client.post(reverse("demand_step", args=[demand.pk, action]), data)


def body(client: Client, user: User, demand: Demand) -> str:
    client.force_login(user)
    response = client.get(reverse("demand_detail", args=[demand.pk]))
    assert response.status_code == 200
    return str(response.content.decode())


def form_of(page: str, action: str) -> str:
    part = page[page.index(f'id="step-{action}"') :]
    return part[: part.index("</details>")]


@pytest.fixture
def market(world: World) -> Department:
    market = factories.DepartmentFactory(street=world.street, name="市场监管", slug="market")
    noise = Category.objects.get(street=world.street, name="噪音扰民", parent=None)
    noise.default_department = market
    noise.save(update_fields=["default_department"])
    return market


def test_the_head_whistles_straight_from_accepted_naming_the_department(
    client: Client, world: World, market: Department
) -> None:
    demand = record(world)
    page = body(client, world.head, demand)
    whistle = form_of(page, "whistle")  # no 联系 / 开始处置 first
    assert "建议派往部门（选填）" in whistle and f'value="{world.department.pk}"' in whistle
    response = post_step(
        client,
        world.head,
        demand,
        "whistle",
        reason="占道经营属城管执法事项，居民区多次劝导无效",
        suggested_department=world.department.pk,
    )
    assert response.status_code == 302
    demand.refresh_from_db()
    assert demand.state == State.WHISTLED and demand.due_at is None
    timeline = body(client, world.head, demand)
    assert "建议派往部门：城管" in timeline


def test_dispatch_ticks_the_whistles_department_and_says_why(
    client: Client, world: World, market: Department
) -> None:
    demand = record(world)
    Demand.objects.filter(pk=demand.pk).update(category=Category.objects.get(street=world.street, name="噪音扰民"))
    demand = step(
        Demand.objects.get(pk=demand.pk),
        world.head,
        Action.WHISTLE,
        reason="需要城管执法",
        suggested_department=world.department.pk,
    )
    demand = step(demand, world.admin, Action.STREET_ACCEPT)
    dispatch = form_of(body(client, world.admin, demand), "dispatch")
    assert re.search(rf'name="departments" value="{world.department.pk}"[^>]*checked', dispatch)
    assert not re.search(rf'name="departments" value="{market.pk}"[^>]*checked', dispatch)
    assert "吹哨时建议：城管" in dispatch and "该类别常派部门" not in dispatch


def test_without_a_suggestion_dispatch_ticks_the_categorys_department_and_says_so(
    client: Client, world: World, market: Department
) -> None:
    demand = record(world)
    Demand.objects.filter(pk=demand.pk).update(category=Category.objects.get(street=world.street, name="噪音扰民"))
    demand = step(Demand.objects.get(pk=demand.pk), world.head, Action.WHISTLE, reason="需要部门")
    demand = step(demand, world.admin, Action.STREET_ACCEPT)
    dispatch = form_of(body(client, world.admin, demand), "dispatch")
    assert re.search(rf'name="departments" value="{market.pk}"[^>]*checked', dispatch)
    assert "该类别常派部门" in dispatch and "吹哨时建议" not in dispatch


def test_a_whistle_cannot_suggest_another_streets_department(client: Client, world: World) -> None:
    demand = record(world)
    response = post_step(
        client,
        world.head,
        demand,
        "whistle",
        reason="需要执法",
        suggested_department=world.other_street_department.pk,
    )
    assert response.status_code == 400
    assert "所选部门无效或已停用。" in response.content.decode()
    assert Demand.objects.get(pk=demand.pk).state == State.ACCEPTED


def dispatched_to_chengguan(world: World) -> Demand:
    demand = step(record(world), world.head, Action.WHISTLE, reason="需要城管执法")
    demand = step(demand, world.admin, Action.STREET_ACCEPT)
    demand = step(demand, world.admin, Action.DISPATCH, departments=[world.department.pk])
    demand = step(demand, world.liaison, Action.ACKNOWLEDGE)
    return step(demand, world.liaison, Action.DEPARTMENT_START)


@pytest.mark.parametrize(
    ("note", "message"),
    [("", "部门办结须填写办理情况"), ("已处理", "办理情况请至少写5个字：做了什么、结果如何")],
)
def test_a_department_finishes_only_saying_what_it_did(
    client: Client, world: World, note: str, message: str
) -> None:
    demand = dispatched_to_chengguan(world)
    form = form_of(body(client, world.liaison, demand), "department_resolve")
    assert "办理情况（做了什么、结果如何）" in form and "说明（选填）" not in form
    response = post_step(client, world.liaison, demand, "department_resolve", note=note)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Demand.objects.get(pk=demand.pk).state == State.DEPARTMENT_HANDLING


def test_the_departments_note_is_stored_on_its_event_and_shown_in_the_timeline(
    client: Client, world: World
) -> None:
    demand = dispatched_to_chengguan(world)
    response = post_step(client, world.liaison, demand, "department_resolve", note="已约谈经营者，撤除占道货架")
    assert response.status_code == 302
    event = DemandEvent.objects.filter(demand=demand).order_by("id").last()
    assert event is not None and event.action == Action.DEPARTMENT_RESOLVE
    assert event.note == "已约谈经营者，撤除占道货架"
    assert "办理情况：已约谈经营者，撤除占道货架" in body(client, world.cadre, demand)


def test_attackers_a_liaison_cannot_whistle_and_another_area_cannot_act(client: Client, world: World) -> None:
    demand = record(world)
    other_head = factories.area_user(world.youyicun, "area_head", username="head-009")
    for user in (world.liaison, world.other_cadre, other_head):
        response = post_step(client, user, demand, "whistle", reason="越权吹哨")
        assert response.status_code in (400, 403, 404), user.username
    client.force_login(world.other_cadre)
    assert client.get(reverse("demand_detail", args=[demand.pk])).status_code in (403, 404)
    assert Demand.objects.get(pk=demand.pk).state == State.ACCEPTED
    assert not DemandEvent.objects.filter(demand=demand, action=Action.WHISTLE).exists()
    # A cadre of the demand's own area may act, but the whistle is the head's word.
    assert "whistle" not in body(client, world.cadre, demand).split('id="steps"')[1].split("</section>")[0]
