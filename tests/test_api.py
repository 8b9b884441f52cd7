"""The JSON API under /api/v1/: tokens, scoping per role, masking, paging, filters and the audited reveal."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from ningju.api.models import DeviceToken
from ningju.api.tokens import token_create
from ningju.core.models import AuditAction, AuditEntry, User
from ningju.registry import models
from tests import factories
from tests.conftest import World

CLEAR_PHONE = "13812345678"
CLEAR_ID_NUMBER = "310106194503071228"
PASSWORD = "ningju-demo"  # what tests.factories.UserFactory sets


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    # The token endpoint's throttle counts requests in the cache, which outlives a test.
    cache.clear()


def client_for(user: User | None) -> APIClient:
    """An API client that authenticates the way an app does: with the user's token."""
    client = APIClient()
    if user is not None:
        _token, key = token_create(user=user, name="tests")
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def body(response: Any) -> Any:
    return json.loads(response.content)


# --- what each role sees ----------------------------------------------------------------------------------

# For each endpoint: how to find its record in 恒德里 and in 又一村 of the world fixture.
RECORDS: dict[str, Callable[[World], tuple[Any, Any]]] = {
    "area": lambda w: (w.hengdeli, w.youyicun),
    "compound": lambda w: (w.household.building.compound, w.other_household.building.compound),
    "building": lambda w: (w.household.building, w.other_household.building),
    "household": lambda w: (w.household, w.other_household),
    "resident": lambda w: (w.resident, w.other_resident),
}

# Which of the two areas each role sees.
SEES = {
    "street_admin": {"恒德里", "又一村"},
    "area_head": {"恒德里"},
    "cadre": {"恒德里"},
    "other_cadre": {"又一村"},
    "liaison": set(),
    "nobody": set(),
}


def by_area(world: World, endpoint: str) -> dict[str, Any]:
    in_hengdeli, in_youyicun = RECORDS[endpoint](world)
    return {"恒德里": in_hengdeli, "又一村": in_youyicun}


@pytest.mark.parametrize("endpoint", list(RECORDS))
@pytest.mark.parametrize("role", list(SEES))
def test_each_role_lists_exactly_the_records_of_its_scope(world: World, role: str, endpoint: str) -> None:
    response = client_for(world.users()[role]).get(reverse(f"api_{endpoint}_list"))

    assert response.status_code == 200
    expected = {record.pk for area, record in by_area(world, endpoint).items() if area in SEES[role]}
    assert {item["id"] for item in body(response)["results"]} == expected
    assert body(response)["count"] == len(expected)


@pytest.mark.parametrize("endpoint", list(RECORDS))
@pytest.mark.parametrize("role", list(SEES))
def test_each_role_opens_records_of_its_scope_and_is_refused_the_others(
    world: World, role: str, endpoint: str
) -> None:
    client = client_for(world.users()[role])
    for area, record in by_area(world, endpoint).items():
        response = client.get(reverse(f"api_{endpoint}_detail", args=[record.pk]))
        if area in SEES[role]:
            assert response.status_code == 200, (area, response.content)
            assert body(response)["id"] == record.pk
        else:
            assert response.status_code == 403, (area, response.content)
            assert "不在您负责的范围内" in body(response)["detail"]


@pytest.mark.parametrize("endpoint", list(RECORDS))
def test_missing_record_is_not_found(world: World, endpoint: str) -> None:
    response = client_for(world.admin).get(reverse(f"api_{endpoint}_detail", args=[987654]))

    assert response.status_code == 404
    assert body(response)["detail"] == "记录不存在。"


@pytest.mark.parametrize("endpoint", list(RECORDS))
def test_anonymous_client_gets_nothing(world: World, endpoint: str) -> None:
    client = APIClient()
    in_hengdeli, _other = RECORDS[endpoint](world)

    for url in (reverse(f"api_{endpoint}_list"), reverse(f"api_{endpoint}_detail", args=[in_hengdeli.pk])):
        response = client.get(url)
        assert response.status_code in (401, 403)
        assert "results" not in body(response)
        assert "id" not in body(response)


def test_bad_token_is_refused(world: World) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")

    response = client.get(reverse("api_household_list"))

    assert response.status_code in (401, 403)
    assert "results" not in body(response)


def test_signed_in_browser_session_also_works(world: World) -> None:
    client = APIClient()
    client.force_login(world.cadre)

    response = client.get(reverse("api_household_list"))

    assert response.status_code == 200
    assert [item["id"] for item in body(response)["results"]] == [world.household.pk]


# --- what a record says ------------------------------------------------------------------------------------


def test_area_carries_its_code_street_office_and_counts(world: World) -> None:
    factories.ResidentFactory.create(household=world.household, active=False)  # moved out: not counted

    data = body(client_for(world.cadre).get(reverse("api_area_detail", args=[world.hengdeli.pk])))

    assert data["code"] == "310106006006"
    assert data["name"] == "恒德里"
    assert data["street"] == {"id": world.street.pk, "code": "310106006", "name": "江宁路街道"}
    assert (data["office_lat"], data["office_lng"]) == (31.24, 121.452)
    assert data["compound_count"] == 1
    assert data["building_count"] == 1
    assert data["household_count"] == 1
    assert data["resident_count"] == 1
    assert data["must_visit_count"] == 1


def test_building_carries_its_address_parts_and_wgs84_coordinates(world: World) -> None:
    building = world.household.building

    data = body(client_for(world.cadre).get(reverse("api_building_detail", args=[building.pk])))

    assert data["address"] == "常德路633弄5号"
    assert (data["road"], data["lane"], data["number"]) == ("常德路", "633", "5")
    assert (data["lat"], data["lng"]) == (building.lat, building.lng)
    assert data["compound"] == {"id": building.compound.pk, "name": building.compound.name}
    assert data["area_code"] == "310106006006"
    assert data["household_count"] == 1


def test_household_carries_tags_building_coordinates_and_area_code(world: World) -> None:
    building = world.household.building
    lonely = models.Tag.objects.get(street=world.street, name="独居老人")

    data = body(client_for(world.cadre).get(reverse("api_household_detail", args=[world.household.pk])))

    assert data["id"] == world.household.pk
    assert data["room"] == "302"
    assert data["address"] == "常德路633弄5号302室"
    assert data["tenure"] == "owner"
    assert data["tenure_display"] == "自有产权"
    assert data["tags"] == [
        {"id": lonely.pk, "name": "独居老人", "category": "must_visit", "high_risk": lonely.high_risk}
    ]
    assert data["building"] == {
        "id": building.pk,
        "address": "常德路633弄5号",
        "lat": building.lat,
        "lng": building.lng,
    }
    assert data["area_code"] == "310106006006"
    assert data["resident_count"] == 1


def test_resident_shows_masked_identifiers_and_never_the_clear_text(world: World) -> None:
    client = client_for(world.cadre)

    response = client.get(reverse("api_resident_detail", args=[world.resident.pk]))

    data = body(response)
    assert data["name"] == "王秀英"
    assert data["gender"] == "F"
    assert data["household"] == world.household.pk
    assert data["phone"] == "138****5678"
    assert data["id_number"] == "310106********1228"
    assert CLEAR_PHONE.encode() not in response.content
    assert CLEAR_ID_NUMBER.encode() not in response.content


@pytest.mark.parametrize("endpoint", ["api_resident_list", "api_household_list"])
def test_lists_never_contain_clear_identifiers(world: World, endpoint: str) -> None:
    response = client_for(world.admin).get(reverse(endpoint))

    assert response.status_code == 200
    assert CLEAR_PHONE.encode() not in response.content
    assert CLEAR_ID_NUMBER.encode() not in response.content
    assert b"13900001111" not in response.content


def test_browsable_api_page_never_contains_clear_identifiers(world: World) -> None:
    response = client_for(world.admin).get(reverse("api_resident_list"), HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert "138****5678" in response.content.decode()
    assert CLEAR_PHONE.encode() not in response.content


def test_resident_without_phone_shows_null(world: World) -> None:
    resident = factories.ResidentFactory.create(household=world.household, phone="", id_number="")

    data = body(client_for(world.cadre).get(reverse("api_resident_detail", args=[resident.pk])))

    assert data["phone"] is None
    assert data["id_number"] is None


def test_resident_age_is_computed_from_birth_date(world: World) -> None:
    data = body(client_for(world.cadre).get(reverse("api_resident_detail", args=[world.resident.pk])))

    assert data["birth_date"] == str(world.resident.birth_date)
    assert data["age"] == world.resident.age


# --- paging ------------------------------------------------------------------------------------------------


def test_page_size_chooses_how_many_records_come_back(world: World) -> None:
    for _ in range(4):
        factories.HouseholdFactory.create(building=world.household.building)

    data = body(client_for(world.cadre).get(reverse("api_household_list"), {"page_size": 2}))

    assert data["count"] == 5
    assert len(data["results"]) == 2
    assert "page=2" in data["next"]


def test_second_page_continues_where_the_first_stopped(world: World) -> None:
    for _ in range(4):
        factories.HouseholdFactory.create(building=world.household.building)
    client = client_for(world.cadre)

    first = body(client.get(reverse("api_household_list"), {"page_size": 3}))
    second = body(client.get(reverse("api_household_list"), {"page_size": 3, "page": 2}))

    ids = [item["id"] for item in first["results"] + second["results"]]
    assert len(ids) == 5
    assert len(set(ids)) == 5
    assert second["next"] is None


def test_page_size_is_capped_at_1000(world: World) -> None:
    building = world.household.building
    models.Household.objects.bulk_create([models.Household(building=building, room=f"r{n}") for n in range(1001)])
    client = client_for(world.cadre)

    data = body(client.get(reverse("api_household_list"), {"page_size": 1000}))
    refused = client.get(reverse("api_household_list"), {"page_size": 5000})

    assert data["count"] == 1002
    assert len(data["results"]) == 1000
    assert data["next"] is not None
    # Past the documented maximum is a 400 saying so, not a silent cap.
    assert refused.status_code == 400
    assert body(refused)["fields"]["page_size"] == ["须为1至1000之间的整数。"]


def test_default_page_holds_50_records(world: World) -> None:
    building = world.household.building
    models.Household.objects.bulk_create([models.Household(building=building, room=f"r{n}") for n in range(60)])

    data = body(client_for(world.cadre).get(reverse("api_household_list")))

    assert len(data["results"]) == 50


def test_household_page_of_100_costs_a_fixed_number_of_queries(
    world: World, django_assert_max_num_queries: Any
) -> None:
    tags = list(models.Tag.objects.filter(street=world.street)[:3])
    for n in range(100):
        household = factories.HouseholdFactory.create(
            building__compound=world.household.building.compound, room=str(n), tags=tags
        )
        factories.ResidentFactory.create(household=household)
    client = client_for(world.cadre)

    # token look-up, count, page, tags
    with django_assert_max_num_queries(4):
        response = client.get(reverse("api_household_list"), {"page_size": 100})

    assert len(body(response)["results"]) == 100
    assert all(len(item["tags"]) == 3 for item in body(response)["results"][1:])


def test_resident_page_of_100_costs_a_fixed_number_of_queries(
    world: World, django_assert_max_num_queries: Any
) -> None:
    tags = list(models.Tag.objects.filter(street=world.street)[:2])
    for _ in range(100):
        factories.ResidentFactory.create(household=world.household).tags.set(tags)
    client = client_for(world.cadre)

    with django_assert_max_num_queries(4):
        response = client.get(reverse("api_resident_list"), {"page_size": 100})

    assert len(body(response)["results"]) == 100


# --- filters -------------------------------------------------------------------------------------------------


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {item["id"] for item in body(response)["results"]}


def test_households_filter_by_area_code(world: World) -> None:
    client = client_for(world.admin)

    assert ids(client.get(reverse("api_household_list"), {"area": "310106006006"})) == {world.household.pk}
    assert ids(client.get(reverse("api_household_list"), {"area": "310106006009"})) == {world.other_household.pk}


def test_filtering_by_another_area_does_not_widen_the_scope(world: World) -> None:
    response = client_for(world.cadre).get(reverse("api_household_list"), {"area": "310106006009"})

    assert ids(response) == set()


def test_malformed_area_code_is_refused_with_a_message(world: World) -> None:
    response = client_for(world.admin).get(reverse("api_household_list"), {"area": "恒德里"})

    assert response.status_code == 400
    assert body(response)["fields"]["area"] == ["居民区代码应为12位数字。"]


def test_households_filter_by_building(world: World) -> None:
    neighbour = factories.HouseholdFactory.create(building=world.household.building)
    factories.HouseholdFactory.create(building__compound=world.household.building.compound)

    response = client_for(world.cadre).get(
        reverse("api_household_list"), {"building": world.household.building.pk}
    )

    assert ids(response) == {world.household.pk, neighbour.pk}


def test_non_numeric_building_is_refused(world: World) -> None:
    response = client_for(world.cadre).get(reverse("api_household_list"), {"building": "五号楼"})

    assert response.status_code == 400
    assert "building" in body(response)["fields"]


def test_households_filter_by_tag_id_or_name_including_residents_tags(world: World) -> None:
    lonely = models.Tag.objects.get(street=world.street, name="独居老人")
    through_resident = factories.HouseholdFactory.create(building=world.household.building)
    factories.ResidentFactory.create(household=through_resident).tags.add(lonely)
    moved_out = factories.HouseholdFactory.create(building=world.household.building)
    factories.ResidentFactory.create(household=moved_out, active=False).tags.add(lonely)
    factories.HouseholdFactory.create(building=world.household.building)  # untagged
    client = client_for(world.cadre)

    expected = {world.household.pk, through_resident.pk}
    assert ids(client.get(reverse("api_household_list"), {"tag": "独居老人"})) == expected
    assert ids(client.get(reverse("api_household_list"), {"tag": str(lonely.pk)})) == expected


def test_household_with_tag_on_itself_and_resident_is_listed_once(world: World) -> None:
    lonely = models.Tag.objects.get(street=world.street, name="独居老人")
    world.resident.tags.add(lonely)

    data = body(client_for(world.cadre).get(reverse("api_household_list"), {"tag": "独居老人"}))

    assert [item["id"] for item in data["results"]] == [world.household.pk]
    assert data["count"] == 1


def test_unknown_tag_is_refused_with_a_message(world: World) -> None:
    response = client_for(world.cadre).get(reverse("api_household_list"), {"tag": "不存在的标签"})

    assert response.status_code == 400
    assert body(response)["detail"] == "没有这个标签：不存在的标签"


def test_households_filters_combine(world: World) -> None:
    lonely = models.Tag.objects.get(street=world.street, name="独居老人")
    factories.HouseholdFactory.create(building__compound__area=world.hengdeli, tags=[lonely])
    client = client_for(world.admin)

    response = client.get(
        reverse("api_household_list"),
        {"area": "310106006006", "building": str(world.household.building.pk), "tag": "独居老人"},
    )

    assert ids(response) == {world.household.pk}


def test_residents_filter_by_household(world: World) -> None:
    housemate = factories.ResidentFactory.create(household=world.household)

    response = client_for(world.admin).get(reverse("api_resident_list"), {"household": world.household.pk})

    assert ids(response) == {world.resident.pk, housemate.pk}


def test_buildings_filter_by_compound(world: World) -> None:
    compound = world.household.building.compound
    sibling = factories.BuildingFactory.create(compound=compound)
    factories.BuildingFactory.create(compound__area=world.hengdeli)

    response = client_for(world.cadre).get(reverse("api_building_list"), {"compound": compound.pk})

    assert ids(response) == {world.household.building.pk, sibling.pk}


def test_compounds_filter_by_area_code(world: World) -> None:
    second = factories.CompoundFactory.create(area=world.hengdeli)

    response = client_for(world.admin).get(reverse("api_compound_list"), {"area": "310106006006"})

    assert ids(response) == {world.household.building.compound.pk, second.pk}


# --- token ---------------------------------------------------------------------------------------------------


def post_token(username: str, password: str) -> Any:
    return APIClient().post(reverse("api_token"), {"username": username, "password": password}, format="json")


def test_token_obtained_with_password_opens_the_api(world: World) -> None:
    response = post_token("cadre-006-1", PASSWORD)

    assert response.status_code == 200
    token = body(response)["token"]
    stored = DeviceToken.objects.get(user=world.cadre)
    assert token not in (stored.digest, stored.token_key), "only the token's hash is stored"
    assert response["Cache-Control"] == "no-store"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert ids(client.get(reverse("api_household_list"))) == {world.household.pk}


def test_token_login_is_audited(world: World) -> None:
    post_token("cadre-006-1", PASSWORD)

    entry = AuditEntry.objects.get(action=AuditAction.LOGIN, user=world.cadre)
    assert entry.detail == {"via": "api_token", "device": ""}
    world.cadre.refresh_from_db()
    assert world.cadre.last_login is not None


def test_each_sign_in_is_a_device_with_its_own_token(world: World) -> None:
    first = body(post_token("cadre-006-1", PASSWORD))["token"]
    second = body(post_token("cadre-006-1", PASSWORD))["token"]

    assert first != second
    assert DeviceToken.objects.filter(user=world.cadre).count() == 2
    for token in (first, second):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        assert client.get(reverse("api_household_list")).status_code == 200


def test_wrong_password_gets_no_token_and_is_audited(world: World) -> None:
    response = post_token("cadre-006-1", "wrong-password")

    assert response.status_code == 400
    assert body(response)["detail"] == "用户名或密码不正确。"
    assert not DeviceToken.objects.filter(user=world.cadre).exists()
    assert AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED, username="cadre-006-1").count() == 1


def test_missing_password_is_refused(world: World) -> None:
    response = APIClient().post(reverse("api_token"), {"username": "cadre-006-1"}, format="json")

    assert response.status_code == 400
    assert "password" in body(response)["fields"]


def test_inactive_user_gets_no_token(world: World) -> None:
    world.cadre.is_active = False
    world.cadre.save(update_fields=["is_active"])

    response = post_token("cadre-006-1", PASSWORD)

    assert response.status_code == 400
    assert not DeviceToken.objects.filter(user=world.cadre).exists()


def test_five_failed_attempts_lock_the_account_even_for_the_right_password(world: World, settings: Any) -> None:
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 5
    answers = [post_token("cadre-006-1", f"wrong-{n}") for n in range(limit)]

    assert [a.status_code for a in answers[: limit - 1]] == [400] * (limit - 1)
    assert answers[-1].status_code == 403
    assert "账号已被暂时锁定" in body(answers[-1])["detail"]

    right = post_token("cadre-006-1", PASSWORD)
    assert right.status_code == 403
    assert right["Content-Type"] == "application/json"
    assert (
        body(right)["detail"] == "连续登录失败次数过多，该账号已被暂时锁定。请15分钟后再试，或联系街道管理员解锁。"
    )
    assert not DeviceToken.objects.filter(user=world.cadre).exists()
    assert AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED, username="cadre-006-1").count() == limit + 1


def test_lockout_through_the_api_also_locks_the_sign_in_page(world: World) -> None:
    for n in range(5):
        post_token("cadre-006-1", f"wrong-{n}")

    response = APIClient().post(reverse("login"), {"username": "cadre-006-1", "password": PASSWORD})

    assert response.status_code == 429
    assert "账号已暂时锁定" in response.content.decode()


def test_lockout_is_per_account(world: World) -> None:
    for n in range(5):
        post_token("cadre-006-1", f"wrong-{n}")

    assert post_token("head-006", PASSWORD).status_code == 200


def test_successful_token_login_resets_the_failure_count(world: World) -> None:
    for n in range(4):
        post_token("cadre-006-1", f"wrong-{n}")
    assert post_token("cadre-006-1", PASSWORD).status_code == 200

    answers = [post_token("cadre-006-1", f"again-{n}").status_code for n in range(4)]

    assert answers == [400] * 4
    assert post_token("cadre-006-1", PASSWORD).status_code == 200


def test_token_endpoint_is_throttled(world: World) -> None:
    # settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["token"] is 20/min.
    statuses = [post_token(f"someone-{n}", "guess").status_code for n in range(21)]

    assert 429 not in statuses[:20]
    assert statuses[20] == 429


# --- reveal --------------------------------------------------------------------------------------------------


def reveal(user: User | None, resident: models.Resident, field: str = "phone", reason: str = "电话回访") -> Any:
    return client_for(user).post(
        reverse("api_resident_reveal", args=[resident.pk]), {"field": field, "reason": reason}, format="json"
    )


def reveals() -> "list[AuditEntry]":
    return list(AuditEntry.objects.filter(action=AuditAction.REVEAL))


@pytest.mark.parametrize("role", ["street_admin", "area_head", "cadre"])
def test_allowed_roles_reveal_the_phone_and_the_reveal_is_audited(world: World, role: str) -> None:
    user = world.users()[role]

    response = reveal(user, world.resident, "phone", "电话回访")

    assert response.status_code == 200
    assert body(response) == {"value": CLEAR_PHONE}
    assert response["Cache-Control"] == "no-store"
    [entry] = reveals()
    assert (entry.user, entry.field, entry.reason) == (user, "phone", "电话回访")
    assert (entry.target_type, entry.target_id) == ("registry.resident", str(world.resident.pk))


def test_cadre_reveals_the_id_number(world: World) -> None:
    response = reveal(world.cadre, world.resident, "id_number", "核对身份")

    assert body(response) == {"value": CLEAR_ID_NUMBER}
    assert reveals()[0].field == "id_number"


@pytest.mark.parametrize("role", ["other_cadre", "liaison", "nobody"])
def test_roles_outside_the_residents_scope_cannot_reveal(world: World, role: str) -> None:
    response = reveal(world.users()[role], world.resident)

    assert response.status_code == 403
    assert CLEAR_PHONE.encode() not in response.content
    assert reveals() == []


def test_anonymous_cannot_reveal(world: World) -> None:
    response = reveal(None, world.resident)

    assert response.status_code in (401, 403)
    assert CLEAR_PHONE.encode() not in response.content
    assert reveals() == []


def test_role_not_configured_to_reveal_is_refused(world: World) -> None:
    with override_settings(NINGJU_REVEAL_ROLES=["street_admin"]):
        response = reveal(world.cadre, world.resident)

    assert response.status_code == 403
    assert "无权查看居民的完整身份证号或手机号" in body(response)["detail"]
    assert reveals() == []


@pytest.mark.parametrize(
    ("payload", "message_key"),
    [
        ({"field": "phone"}, "reason"),
        ({"field": "name", "reason": "电话回访"}, "field"),
        ({"field": "phone", "reason": "  x "}, "detail"),
    ],
)
def test_reveal_without_a_proper_field_and_reason_is_refused(
    world: World, payload: dict[str, str], message_key: str
) -> None:
    response = client_for(world.cadre).post(
        reverse("api_resident_reveal", args=[world.resident.pk]), payload, format="json"
    )

    assert response.status_code == 400
    refusal = body(response)
    if message_key == "detail":  # a rule of the reveal, not one input: the message alone
        assert refusal["detail"] and "fields" not in refusal
    else:
        assert message_key in refusal["fields"]
    assert CLEAR_PHONE.encode() not in response.content
    assert reveals() == []


def test_reveal_of_missing_resident_is_not_found(world: World) -> None:
    response = client_for(world.cadre).post(
        reverse("api_resident_reveal", args=[987654]), {"field": "phone", "reason": "电话回访"}, format="json"
    )

    assert response.status_code == 404


def test_reveal_through_a_browser_session_needs_the_csrf_token(world: World) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(world.cadre)

    response = client.post(
        reverse("api_resident_reveal", args=[world.resident.pk]),
        {"field": "phone", "reason": "电话回访"},
        format="json",
    )

    assert response.status_code == 403
    assert "CSRF" in body(response)["detail"]
    assert reveals() == []
