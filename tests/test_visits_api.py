"""POST /api/v1/visits/: idempotent under replays, retries, out-of-order and concurrent uploads; scoped; in the schema."""

import threading
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.db import connection
from django.middleware.csrf import get_token
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from ningju.core.models import User
from ningju.registry.models import Household, Tag, Tenure
from ningju.visits.models import Finding, Visit
from tests.conftest import World

URL = "/api/v1/visits/"


def api_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def payload(world: World, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "household": world.household.pk,
        "visited_at": (timezone.now() - timedelta(minutes=10)).isoformat(),
        "mode": "face_to_face",
        "way": "跟着宠物访",
        "met": "王秀英",
        "notes": "身体硬朗",
        "mood": "good",
        "needs": "",
        "lat": 31.2377,
        "lng": 121.4509,
        "findings": ["楼道灯坏了"],
    }
    body.update(overrides)
    return body


def test_first_upload_creates_the_visit(world: World) -> None:
    body = payload(world)

    response = api_for(world.cadre).post(URL, body, format="json")

    assert response.status_code == 201
    data = response.json()
    assert data["id"] == body["id"]
    assert data["area_code"] == "310106006006"
    assert data["cadre"]["username"] == "cadre-006-1"
    assert data["mode_display"] == "入户面对面"
    assert [f["text"] for f in data["findings"]] == ["楼道灯坏了"]
    assert data["distance_m"] is not None and data["distance_m"] < 50
    assert data["far_from_target"] is False


def test_same_visit_posted_three_times_is_stored_once(world: World) -> None:
    body = payload(world)
    client = api_for(world.cadre)

    statuses = [client.post(URL, body, format="json").status_code for _ in range(3)]

    assert statuses == [201, 200, 200]
    assert Visit.objects.filter(pk=body["id"]).count() == 1
    assert Visit.objects.count() == 1
    assert Finding.objects.count() == 1


def test_replay_answers_the_stored_visit(world: World) -> None:
    body = payload(world)
    client = api_for(world.cadre)
    first = client.post(URL, body, format="json").json()

    again = client.post(URL, body, format="json")

    assert again.status_code == 200
    assert again.json() == first


def test_retry_with_other_content_is_a_conflict_and_changes_nothing(world: World) -> None:
    body = payload(world)
    client = api_for(world.cadre)
    client.post(URL, body, format="json")

    response = client.post(URL, {**body, "notes": "另一条内容"}, format="json")

    assert response.status_code == 409
    assert "内容不同" in response.json()["detail"]
    assert Visit.objects.get(pk=body["id"]).notes == "身体硬朗"


def test_someone_else_reusing_a_visit_id_is_a_conflict(world: World) -> None:
    body = payload(world)
    api_for(world.cadre).post(URL, body, format="json")

    response = api_for(world.head).post(URL, body, format="json")

    assert response.status_code == 409
    assert Visit.objects.get(pk=body["id"]).cadre == world.cadre


def test_visits_uploaded_in_reverse_order_are_both_stored(world: World) -> None:
    earlier = payload(world, visited_at=(timezone.now() - timedelta(days=2)).isoformat(), notes="前天")
    later = payload(world, visited_at=(timezone.now() - timedelta(hours=1)).isoformat(), notes="今天")
    client = api_for(world.cadre)

    assert client.post(URL, later, format="json").status_code == 201
    assert client.post(URL, earlier, format="json").status_code == 201

    listed = client.get(URL, {"household": world.household.pk}).json()["results"]
    assert [v["notes"] for v in listed] == ["今天", "前天"]


def test_interleaved_replays_of_several_visits_keep_one_row_each(world: World) -> None:
    bodies = [payload(world, notes=f"第{n}次") for n in range(3)]
    client = api_for(world.cadre)

    for index in (2, 0, 2, 1, 0, 1, 2):
        assert client.post(URL, bodies[index], format="json").status_code in (200, 201)

    assert sorted(Visit.objects.values_list("notes", flat=True)) == ["第0次", "第1次", "第2次"]


def test_corrections_are_applied_once_and_kept_in_history(world: World) -> None:
    lonely = Tag.objects.get(street=world.street, name="独居老人")
    body = payload(world, corrections={"tenure": Tenure.TENANT, "notes": "女儿每周来", "tags": [lonely.pk]})
    client = api_for(world.cadre)

    client.post(URL, body, format="json")
    entries = world.household.history.count()
    client.post(URL, body, format="json")

    household = Household.objects.get(pk=world.household.pk)
    assert household.tenure == Tenure.TENANT
    assert household.notes == "女儿每周来"
    assert household.history.latest("history_date").history_change_reason == "走访更正"
    assert world.household.history.count() == entries


def test_gps_far_from_the_building_is_flagged_not_refused(world: World) -> None:
    response = api_for(world.cadre).post(URL, payload(world, lat=31.2416, lng=121.4508), format="json")

    assert response.status_code == 201
    assert response.json()["far_from_target"] is True
    assert response.json()["distance_m"] > 300


def test_visit_without_gps_is_accepted(world: World) -> None:
    body = payload(world)
    del body["lat"], body["lng"]

    response = api_for(world.cadre).post(URL, body, format="json")

    assert response.status_code == 201
    assert response.json()["distance_m"] is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"household": None}, "二者选一"),
        ({"household": 999999}, "所选记录不存在或不在您负责的范围内"),
        ({"mode": "patrol"}, "巡查"),
        ({"mode": "carrier_pigeon"}, "不是合法选项"),
        ({"id": "not-a-uuid"}, "UUID"),
        ({"visited_at": (timezone.now() + timedelta(days=1)).isoformat()}, "晚于现在"),
        ({"lat": 95.0}, "90"),
        ({"corrections": {"tags": [999999]}}, "标签不存在"),
    ],
)
def test_bad_uploads_get_a_chinese_message_and_write_nothing(
    world: World, overrides: dict[str, Any], message: str
) -> None:
    response = api_for(world.cadre).post(URL, payload(world, **overrides), format="json")

    assert response.status_code == 400
    assert message in str(response.json())
    assert not Visit.objects.exists()


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("cadre", 201),
        ("area_head", 201),
        ("other_cadre", 400),  # another area's household answers like a missing one (issue 9, finding 3)
        ("street_admin", 403),
        ("liaison", 403),
        ("nobody", 403),
    ],
)
def test_only_the_areas_own_cadres_upload_its_visits(world: World, who: str, status: int) -> None:
    response = api_for(world.users()[who]).post(URL, payload(world), format="json")

    assert response.status_code == status
    assert Visit.objects.count() == (1 if status == 201 else 0)


def test_anonymous_upload_is_refused(world: World) -> None:
    response = api_for(None).post(URL, payload(world), format="json")

    assert response.status_code == 401
    assert not Visit.objects.exists()


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("cadre", True),
        ("area_head", True),
        ("street_admin", True),
        ("other_cadre", False),
        ("liaison", False),
        ("nobody", False),
    ],
)
def test_visit_lists_are_scoped(world: World, who: str, sees: bool) -> None:
    body = payload(world)
    api_for(world.cadre).post(URL, body, format="json")

    listed = api_for(world.users()[who]).get(URL, {"household": world.household.pk}).json()["results"]

    assert [v["id"] for v in listed] == ([body["id"]] if sees else [])


@pytest.mark.parametrize(
    ("who", "status"),
    [("cadre", 200), ("street_admin", 200), ("other_cadre", 403), ("liaison", 403), ("nobody", 403)],
)
def test_visit_detail_is_scoped(world: World, who: str, status: int) -> None:
    body = payload(world)
    api_for(world.cadre).post(URL, body, format="json")

    response = api_for(world.users()[who]).get(f"{URL}{body['id']}/")

    assert response.status_code == status
    if status == 200:
        assert response.json()["notes"] == "身体硬朗"


def test_unknown_visit_is_not_found(world: World) -> None:
    assert api_for(world.cadre).get(f"{URL}{uuid.uuid4()}/").status_code == 404


def test_list_filters_by_household(world: World) -> None:
    api_for(world.cadre).post(URL, payload(world), format="json")
    api_for(world.other_cadre).post(URL, payload(world, household=world.other_household.pk), format="json")

    listed = api_for(world.admin).get(URL, {"household": world.other_household.pk}).json()["results"]

    assert [v["household"] for v in listed] == [world.other_household.pk]


def test_browser_upload_needs_the_csrf_token(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.cadre)
    body = payload(world)

    refused = client.post(URL, body, content_type="application/json")
    page = client.get(reverse("visit_new") + f"?household={world.household.pk}")
    token = get_token(page.wsgi_request)
    accepted = client.post(URL, body, content_type="application/json", headers={"X-CSRFToken": token})

    assert refused.status_code == 403
    assert accepted.status_code == 201


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_uploads_of_one_visit_store_it_once(world: World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    body = payload(world)
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def upload() -> None:
        try:
            barrier.wait()
            statuses.append(api_for(world.cadre).post(URL, body, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 200, 200, 201]
    assert Visit.objects.filter(pk=body["id"]).count() == 1
    assert Finding.objects.count() == 1


# --- the schema --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path: Path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def test_schema_documents_the_idempotent_upload(schema: dict[str, Any]) -> None:
    operation = schema["paths"]["/api/v1/visits/"]["post"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    upload = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]

    assert {"200", "201", "400", "403", "409"} <= set(operation["responses"])
    assert upload["properties"]["id"]["format"] == "uuid"
    assert {"id", "visited_at", "mode"} <= set(upload["required"])
    assert upload["properties"]["findings"]["type"] == "array"
    assert operation["tags"] == ["visits"]


def test_schema_documents_the_scoped_reads(schema: dict[str, Any]) -> None:
    listing = schema["paths"]["/api/v1/visits/"]["get"]
    detail = schema["paths"]["/api/v1/visits/{id}/"]["get"]

    assert {"household", "patrol_site", "page", "page_size"} <= {p["name"] for p in listing["parameters"]}
    assert detail["parameters"][0]["schema"]["format"] == "uuid"
    for operation in (listing, detail):
        assert {name for requirement in operation["security"] for name in requirement} == {
            "tokenAuth",
            "cookieAuth",
        }
