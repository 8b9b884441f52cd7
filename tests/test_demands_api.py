"""The demands API: scoped reads, an idempotent create, and every workflow step as its own endpoint."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from ningju.core.identifiers import mask_phone
from ningju.core.models import User
from ningju.demands.models import Demand, DemandEvent
from tests.conftest import World

BASE = "/api/v1/demands/"


def api_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def create(world: World, user: User | None = None, **extra: Any) -> Any:
    body = {
        "area": world.hengdeli.code,
        "kind": "problem",
        "source": "visit",
        "text": "楼下酒吧午夜后噪音扰民",
        "household": world.household.pk,
        "reporter": world.resident.pk,
        **extra,
    }
    return api_for(user or world.cadre).post(BASE, body, format="json")


def step(user: User, demand_id: int, name: str, **body: Any) -> Any:
    return api_for(user).post(f"{BASE}{demand_id}/{name}/", body, format="json")


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content.decode()
    return response.json()


def test_five_roles_take_a_whistled_demand_to_a_satisfied_close_over_the_api(world: World) -> None:
    created = create(world)
    assert created.status_code == 201, created.content.decode()
    demand_id = created.json()["id"]
    assert created.json()["owner"]["username"] == world.cadre.username

    ok(step(world.cadre, demand_id, "contact"))
    ok(step(world.cadre, demand_id, "start-handling", note="已与酒吧沟通，无效"))
    whistled = ok(step(world.head, demand_id, "whistle", reason="居民区无执法权"))
    assert whistled["state"] == "whistled"
    ok(step(world.admin, demand_id, "street-accept"))
    dispatched = ok(step(world.admin, demand_id, "dispatch", departments=[world.department.pk]))
    assert dispatched["state"] == "dispatched"
    assert [d["department_name"] for d in dispatched["dispatches"]] == ["城管"]
    ok(step(world.liaison, demand_id, "acknowledge"))
    ok(step(world.liaison, demand_id, "department-start"))
    resolved = ok(step(world.liaison, demand_id, "department-resolve", note="已责令酒吧午夜后停止外放"))
    assert resolved["state"] == "department_resolved"
    ok(step(world.cadre, demand_id, "request-callback"))
    closed = ok(step(world.cadre, demand_id, "callback", callback_result="satisfied", note="居民表示满意"))
    assert closed["state"] == "closed"

    detail = ok(api_for(world.cadre).get(f"{BASE}{demand_id}/"))
    timeline = [(e["action"], e["from_state"], e["to_state"], e["actor"]["username"]) for e in detail["events"]]
    assert timeline == [
        ("create", "", "accepted", world.cadre.username),
        ("contact", "accepted", "contacted", world.cadre.username),
        ("start_handling", "contacted", "area_handling", world.cadre.username),
        ("whistle", "area_handling", "whistled", world.head.username),
        ("street_accept", "whistled", "street_accepted", world.admin.username),
        ("dispatch", "street_accepted", "dispatched", world.admin.username),
        ("acknowledge", "dispatched", "acknowledged", world.liaison.username),
        ("department_start", "acknowledged", "department_handling", world.liaison.username),
        ("department_resolve", "department_handling", "department_resolved", world.liaison.username),
        ("request_callback", "department_resolved", "callback", world.cadre.username),
        ("callback", "callback", "closed", world.cadre.username),
    ]
    assert detail["events"][3]["reason"] == "居民区无执法权"
    assert detail["events"][3]["action_display"] == "吹哨"
    assert detail["events"][-1]["params"] == {"callback_result": "satisfied"}
    assert detail["dispatches"][0]["dispatch_state"] == "resolved"
    assert detail["version"] == 11


def test_reporter_phone_and_id_never_leave_in_clear(world: World) -> None:
    created = create(world)

    body = created.content.decode()
    assert created.json()["reporter"]["phone"] == mask_phone("13812345678")
    assert "13812345678" not in body
    assert "310106194503071228" not in body


def test_create_replayed_with_the_same_key_answers_the_stored_demand(world: World) -> None:
    first = create(world, client_key="phone-7f3a")
    again = api_for(world.cadre).post(
        BASE,
        {"area": world.hengdeli.code, "kind": "problem", "source": "visit", "text": "楼下酒吧午夜后噪音扰民"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="phone-7f3a",
    )

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Demand.objects.count() == 1
    assert DemandEvent.objects.count() == 1


def test_create_with_conflicting_header_and_field_keys_is_refused(world: World) -> None:
    response = api_for(world.cadre).post(
        BASE,
        {"area": world.hengdeli.code, "kind": "help", "source": "walk_in", "text": "求助", "client_key": "a"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="b",
    )

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["fields"]["client_key"][0]
    assert not Demand.objects.exists()


def test_liaison_cannot_record_a_demand(world: World) -> None:
    response = create(world, user=world.liaison)

    assert response.status_code == 403
    assert response.json()["detail"] == "只有街道和居民区的工作人员可以登记诉求。"
    assert not Demand.objects.exists()


def test_create_with_a_household_of_another_area_answers_as_if_it_did_not_exist(world: World) -> None:
    # A cadre of 恒德里 may not name a 又一村 household: the answer must not tell it exists (finding 3 of issue 9).
    foreign = create(world, household=world.other_household.pk, reporter=None)
    missing = create(world, household=world.other_household.pk + 10_000, reporter=None)

    assert foreign.status_code == missing.status_code == 400
    assert foreign.json() == missing.json()
    assert not Demand.objects.exists()


def test_street_admin_naming_a_household_of_another_area_than_the_demand_is_refused_with_a_message(
    world: World,
) -> None:
    response = create(world, user=world.admin, household=world.other_household.pk, reporter=None)

    assert response.status_code == 400
    assert response.json()["detail"] == "所选户不在所选居民区内。"
    assert not Demand.objects.exists()


def test_cadre_cannot_whistle_and_the_demand_stays_where_it_was(world: World) -> None:
    demand_id = create(world).json()["id"]
    ok(step(world.cadre, demand_id, "contact"))
    ok(step(world.cadre, demand_id, "start-handling"))

    response = step(world.cadre, demand_id, "whistle", reason="想吹哨")

    assert response.status_code == 400
    assert response.json()["detail"] == "只有本居民区书记/主任可以吹哨"
    demand = Demand.objects.get(pk=demand_id)
    assert (demand.state, demand.version) == ("area_handling", 3)


def test_step_not_allowed_in_the_current_state_is_refused(world: World) -> None:
    demand_id = create(world).json()["id"]

    response = step(world.cadre, demand_id, "resolve")

    assert response.status_code == 400
    assert response.json()["detail"] == "当前状态“受理”不能执行“办结”"
    assert Demand.objects.get(pk=demand_id).state == "accepted"


def test_whistle_without_a_reason_names_the_missing_field(world: World) -> None:
    demand_id = create(world).json()["id"]

    response = step(world.head, demand_id, "whistle")

    assert response.status_code == 400
    assert "reason" in response.json()["fields"]


def test_step_on_a_stale_version_is_refused_with_conflict(world: World) -> None:
    demand_id = create(world).json()["id"]
    ok(step(world.cadre, demand_id, "contact", expected_version=1))

    response = step(world.head, demand_id, "start-handling", expected_version=1)

    assert response.status_code == 409
    assert response.json()["detail"] == "该诉求已被他人更新，请刷新后重试"
    assert Demand.objects.get(pk=demand_id).state == "contacted"


def test_other_area_cadre_is_refused_a_demand_of_hengdeli(world: World) -> None:
    demand_id = create(world).json()["id"]

    detail = api_for(world.other_cadre).get(f"{BASE}{demand_id}/")
    acted = step(world.other_cadre, demand_id, "contact")
    listed = api_for(world.other_cadre).get(BASE)

    assert detail.status_code == 403
    assert detail.json()["detail"] == "您无权查看该记录：它不在您负责的范围内。"
    assert acted.status_code == 403
    assert listed.json()["count"] == 0
    assert Demand.objects.get(pk=demand_id).state == "accepted"


def test_missing_demand_is_not_found(world: World) -> None:
    assert api_for(world.admin).get(f"{BASE}999999/").status_code == 404
    assert step(world.admin, 999999, "street-accept").status_code == 404


def test_liaison_sees_only_demands_dispatched_to_their_department(world: World) -> None:
    dispatched_id = create(world).json()["id"]
    quiet_id = create(world, text="垃圾房异味").json()["id"]
    ok(step(world.cadre, dispatched_id, "contact"))
    ok(step(world.cadre, dispatched_id, "start-handling"))
    ok(step(world.head, dispatched_id, "whistle", reason="需要执法"))
    ok(step(world.admin, dispatched_id, "street-accept"))
    ok(step(world.admin, dispatched_id, "dispatch", departments=[world.department.pk]))

    listed = api_for(world.liaison).get(BASE).json()

    assert [d["id"] for d in listed["results"]] == [dispatched_id]
    assert api_for(world.liaison).get(f"{BASE}{quiet_id}/").status_code == 403


def test_list_filters_by_state_area_and_mine(world: World) -> None:
    mine = create(world).json()["id"]
    heads = create(world, user=world.head, text="电梯加装").json()["id"]
    ok(step(world.head, heads, "contact"))
    elsewhere = create(world, user=world.admin, area=world.youyicun.code, household=None, reporter=None)
    assert elsewhere.status_code == 201

    def ids(user: User, query: str) -> list[int]:
        response = api_for(user).get(f"{BASE}?{query}")
        assert response.status_code == 200, response.content.decode()
        return [d["id"] for d in response.json()["results"]]

    assert ids(world.cadre, "mine=1") == [mine]
    assert ids(world.cadre, "state=contacted") == [heads]
    assert ids(world.admin, f"area={world.youyicun.code}") == [elsewhere.json()["id"]]
    assert api_for(world.cadre).get(f"{BASE}?state=nonsense").status_code == 400


@pytest.mark.parametrize("path", [BASE, f"{BASE}1/", f"{BASE}1/contact/"])
def test_anonymous_client_must_sign_in(world: World, path: str) -> None:
    client = api_for(None)
    response = client.post(path, {}, format="json") if path.endswith("contact/") else client.get(path)

    assert response.status_code == 401
