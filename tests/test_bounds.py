"""Bounded input and one error shape (issue 9, finding 6): every number, id, date and list has a documented bound,
checked before any work is done, and every error of the API is the one JSON body of the schema — never HTML."""

import uuid
from datetime import date
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from ningju.core import workdays
from ningju.core.models import User
from ningju.meetings.models import ActionItem
from ningju.visits.models import Visit
from tests.conftest import World

HUGE = "99999999999999999999"  # past a 64-bit column


def api_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def assert_error_body(response: Any, status: int) -> dict[str, Any]:
    """The one error shape: JSON with a readable `detail` and a `code`, `fields` only as field → messages."""
    assert response.status_code == status, response.content.decode()
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) <= {"detail", "code", "fields"}
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["code"], str) and body["code"]
    for messages in body.get("fields", {}).values():
        assert all(isinstance(message, str) for message in messages)
    return body


# --- working days -------------------------------------------------------------------------------------------


def test_a_billion_working_days_is_refused_at_once_and_nothing_is_created(world: World) -> None:
    response = api_for(world.head).post(
        "/api/v1/action-items/",
        {"title": "清理堆物", "owner": world.cadre.pk, "days": 1_000_000_000},
        format="json",
    )
    body = assert_error_body(response, 400)
    assert "days" in body["fields"]
    assert "250" in body["fields"]["days"][0]
    assert not ActionItem.objects.exists()


def test_the_calendar_itself_refuses_absurd_counts_and_spans() -> None:
    with pytest.raises(ValueError):
        workdays.add_workdays(date(2026, 12, 7), 1_000_000_000)
    with pytest.raises(ValueError):
        workdays.add_workdays(date(9999, 12, 30), 1)
    with pytest.raises(ValueError):
        workdays.workdays_between(date(2000, 1, 1), date(9999, 12, 31))


@pytest.mark.django_db
def test_the_calendar_still_counts_within_its_bounds() -> None:
    assert date(2027, 10, 1) < workdays.add_workdays(date(2026, 12, 4), 250) < date(2028, 1, 1)


# --- ids ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/buildings/?compound={HUGE}",
        f"/api/v1/households/?building={HUGE}",
        f"/api/v1/residents/?household={HUGE}",
        f"/api/v1/visits/?household={HUGE}",
        f"/api/v1/visits/?patrol_site={HUGE}",
    ],
)
def test_an_id_filter_past_the_column_is_a_400_not_a_server_error(world: World, url: str) -> None:
    body = assert_error_body(api_for(world.admin).get(url), 400)
    assert body["code"] == "invalid"
    assert body["fields"]


def test_a_huge_tag_id_in_visit_corrections_answers_like_a_missing_one(world: World) -> None:
    visit = {
        "id": str(uuid.uuid4()),
        "household": world.household.pk,
        "visited_at": "2026-12-07T10:00:00+08:00",
        "mode": "home",
    }
    huge = api_for(world.cadre).post(
        "/api/v1/visits/", {**visit, "corrections": {"tags": [int(HUGE)]}}, format="json"
    )
    body = assert_error_body(huge, 400)
    assert body["fields"]["corrections.tags.0"] == ["所选记录不存在或不在您负责的范围内。"]
    assert not Visit.objects.exists()


def test_huge_demand_ids_in_an_action_item_answer_like_a_missing_one(world: World) -> None:
    def create(demand_id: int) -> Any:
        return api_for(world.head).post(
            "/api/v1/action-items/",
            {"title": "清理堆物", "owner": world.cadre.pk, "demands": [demand_id]},
            format="json",
        )

    huge = assert_error_body(create(int(HUGE)), 400)
    assert huge["fields"]["demands.0"] == ["所选记录不存在或不在您负责的范围内。"]
    assert not ActionItem.objects.exists()


def test_a_list_longer_than_its_bound_is_refused(world: World) -> None:
    response = api_for(world.head).post(
        "/api/v1/action-items/",
        {"title": "清理堆物", "owner": world.cadre.pk, "demands": list(range(1, 102))},  # the bound is 100
        format="json",
    )
    assert "demands" in assert_error_body(response, 400)["fields"]


def test_a_huge_id_in_a_path_is_a_json_404(world: World) -> None:
    assert_error_body(api_for(world.admin).get(f"/api/v1/households/{HUGE}/"), 404)


# --- dates --------------------------------------------------------------------------------------------------


def test_a_visit_in_the_year_one_is_refused_in_chinese(world: World) -> None:
    response = api_for(world.cadre).post(
        "/api/v1/visits/",
        {
            "id": str(uuid.uuid4()),
            "household": world.household.pk,
            "visited_at": "0001-01-01T00:00:00Z",
            "mode": "home",
        },
        format="json",
    )
    body = assert_error_body(response, 400)
    assert body["fields"]["visited_at"] == ["日期须在2000-01-01至2100-12-31之间。"]
    assert not Visit.objects.exists()


def test_a_deadline_in_9999_is_refused_in_chinese(world: World) -> None:
    client = api_for(world.head)
    created = client.post(
        "/api/v1/action-items/",
        {"title": "清理堆物", "owner": world.cadre.pk, "deadline": "9999-12-30"},
        format="json",
    )
    assert assert_error_body(created, 400)["fields"]["deadline"] == ["日期须在2000-01-01至2100-12-31之间。"]
    item = client.post("/api/v1/action-items/", {"title": "清理堆物", "owner": world.cadre.pk}, format="json")
    assert item.status_code == 201, item.content.decode()
    patched = client.patch(f"/api/v1/action-items/{item.json()['id']}/", {"deadline": "9999-12-30"}, format="json")
    assert "deadline" in assert_error_body(patched, 400)["fields"]


@pytest.mark.parametrize(
    "url", ["/demands/rates/", "/insights/dashboard/", "/meetings/participation/", "/meetings/assessment/"]
)
@pytest.mark.parametrize(("start", "end"), [("0001-01-01", "0001-01-31"), ("9999-12-01", "9999-12-30")])
def test_a_period_page_refuses_dates_out_of_range_with_a_message(
    world: World, url: str, start: str, end: str
) -> None:
    client = Client()
    client.force_login(world.admin)
    response = client.get(url, {"period": "custom", "start": start, "end": end})
    assert response.status_code == 200
    assert "日期须在2000-01-01至2100-12-31之间。" in response.content.decode()


# --- one error shape ----------------------------------------------------------------------------------------


def test_a_validation_error_reads_like_every_other_error(world: World) -> None:
    response = api_for(world.cadre).post(f"/api/v1/demands/{_demand_id(world)}/close/", {}, format="json")
    body = assert_error_body(response, 400)
    assert "reason" not in body  # once {"reason": [...]}, where the schema documents {detail}
    assert body["fields"]["reason"]
    assert body["detail"].startswith("reason：")


def _demand_id(world: World) -> int:
    from ningju.demands.services import demand_create

    demand, _created = demand_create(
        user=world.cadre, area=world.hengdeli, kind="problem", source="visit", text="楼道堆物"
    )
    return demand.pk


def test_refusals_share_the_error_shape(world: World) -> None:
    assert assert_error_body(api_for(None).get("/api/v1/areas/"), 401)["code"] == "not_authenticated"
    assert assert_error_body(api_for(world.admin).delete("/api/v1/areas/"), 405)["code"] == "method_not_allowed"
    assert assert_error_body(api_for(world.admin).get("/api/v1/areas/?page=999"), 404)["code"] == "not_found"
    assert assert_error_body(api_for(world.admin).get("/api/v1/areas/?page_size=0"), 400)["fields"]["page_size"]
    assert assert_error_body(api_for(world.admin).get("/api/v1/demands/?state="), 400)["fields"]["state"]
    other = api_for(world.other_cadre).get(f"/api/v1/households/{world.household.pk}/")
    assert assert_error_body(other, 403)["code"] == "permission_denied"
    malformed = api_for(world.admin).post("/api/v1/action-items/", "{not json", content_type="application/json")
    assert assert_error_body(malformed, 400)["code"] == "parse_error"


@pytest.mark.parametrize("method", ["get", "post", "patch", "delete"])
def test_an_unknown_api_path_answers_json_never_html(world: World, method: str) -> None:
    response = getattr(api_for(world.admin), method)("/api/v1/no-such-thing/\n/")
    assert assert_error_body(response, 404)["code"] == "not_found"
    assert assert_error_body(getattr(Client(), method)("/api/v2/"), 404)["code"] == "not_found"


def test_a_server_error_under_api_answers_json(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("ningju.api.selectors.areas", broken)
    client = api_for(world.admin)
    client.raise_request_exception = False
    assert assert_error_body(client.get("/api/v1/areas/"), 500)["code"] == "server_error"


def test_the_schema_declares_one_error_body_for_every_error_answer(world: World) -> None:
    schema = api_for(world.admin).get("/api/schema/?format=json").json()
    error = schema["components"]["schemas"]["ErrorOutput"]
    assert set(error["required"]) == {"detail", "code"}
    operations = [op for item in schema["paths"].values() for op in item.values() if "responses" in op]
    assert len(operations) > 40
    for operation in operations:
        errors = {code: answer for code, answer in operation["responses"].items() if code.startswith("4")}
        assert {"400", "403"} <= set(errors), operation["operationId"]
        for answer in errors.values():
            assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOutput"}


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/demands/all/", {"created_from": "0001-01-01", "created_to": "9999-12-31"}),
        ("/insights/report/", {"start": "0001-01-01", "end": "0001-01-31"}),
        ("/visits/coverage/", {"start": "0001-01-01", "end": "0001-01-31"}),
        ("/visits/coverage/", {"end": "0001-01-01"}),
    ],
)
def test_other_date_filters_refuse_dates_out_of_range(world: World, url: str, params: dict[str, str]) -> None:
    client = Client()
    client.force_login(world.admin)
    response = client.get(url, params)
    assert response.status_code in (200, 400)
    assert "日期须在2000-01-01至2100-12-31之间。" in response.content.decode()


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_route_day_out_of_range_is_not_found(world: World, day: str) -> None:
    client = Client()
    client.force_login(world.admin)
    assert client.get(f"/visits/routes/{world.cadre.username}/{day}/").status_code == 404


def test_a_stale_version_is_a_conflict_in_the_one_error_shape(world: World) -> None:
    demand_id = _demand_id(world)
    response = api_for(world.cadre).post(
        f"/api/v1/demands/{demand_id}/contact/", {"expected_version": 99}, format="json"
    )
    assert assert_error_body(response, 409)["code"] == "conflict"
