"""The general intake form says where and from whom: a compound, building and room picked within the user's scope
(another area's record gets the one "not found or out of scope" answer), or an address typed for what the registry
does not hold, and the reporter's name and phone (stored encrypted, shown masked)."""

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from ningju.core.scoping import NOT_FOUND_OR_OUT_OF_SCOPE
from ningju.demands.models import Demand, Kind, Source
from tests.conftest import World

pytestmark = pytest.mark.django_db


def form_data(**overrides: Any) -> dict[str, Any]:
    return {
        "kind": Kind.PROBLEM,
        "text": "沿街商铺门口夜间堆放垃圾",
        "source": Source.WALK_IN,
        "category": "",
        "client_key": uuid.uuid4().hex,
        **overrides,
    }


def post(client: Client, **data: Any) -> Any:
    return client.post(reverse("demand_new"), form_data(**data))


def test_the_general_form_offers_place_and_reporter_inputs_scoped_to_the_area(
    client: Client, world: World
) -> None:
    client.force_login(world.cadre)
    body = client.get(reverse("demand_new")).content.decode()
    for name in ("compound", "building", "room", "address", "reporter_name", "reporter_phone"):
        assert f'name="{name}"' in body, name
    assert world.household.building.address in body
    assert world.other_household.building.address not in body  # 又一村's building is not offered to 恒德里
    # The suggestion panel listens for `input` (typing, pasting, dictation), not only for a key press.
    trigger = body[body.index('id="suggest-panel"') :].split('hx-trigger="')[1].split('"')[0]
    assert "input changed delay:" in trigger and "from:#id_text" in trigger and "keyup" not in trigger
    assert "{#" not in body and "The live suggestion" not in body


def test_a_typed_address_and_reporter_are_stored_and_shown_masked(client: Client, world: World) -> None:
    client.force_login(world.cadre)
    response = post(
        client, address="常德路620号沿街商铺门口", reporter_name="张先生", reporter_phone="139 1234 5678"
    )
    demand = Demand.objects.get()
    assert response.status_code == 302
    assert demand.address == "常德路620号沿街商铺门口" and demand.reporter_name == "张先生"
    assert demand.reporter_phone.reveal() == "13912345678"
    with connection.cursor() as cursor:  # encrypted at rest, like a resident's phone
        cursor.execute("SELECT reporter_phone, reporter_phone_hash FROM demands_demand")
        stored, hashed = cursor.fetchone()
    assert "13912345678" not in stored and hashed and "13912345678" not in hashed
    page = client.get(response.url).content.decode()
    assert "常德路620号沿街商铺门口" in page
    assert "张先生 139****5678" in page and "13912345678" not in page
    rows = client.get(reverse("demand_mine")).content.decode()
    assert "常德路620号沿街商铺门口" in rows  # the list's 地点 column no longer says "—"


def test_a_building_and_room_find_the_household(client: Client, world: World) -> None:
    client.force_login(world.cadre)
    post(client, building=world.household.building_id, room="302")
    demand = Demand.objects.get()
    assert demand.household == world.household and demand.area == world.hengdeli


def test_a_room_that_does_not_exist_is_refused_and_nothing_is_written(client: Client, world: World) -> None:
    client.force_login(world.cadre)
    response = post(client, building=world.household.building_id, room="999")
    assert response.status_code == 400
    assert "所选楼栋没有室号“999”" in response.content.decode()
    response = post(client, room="302")
    assert "填写室号前请先选择楼栋" in response.content.decode()
    assert not Demand.objects.exists()


@pytest.mark.parametrize("field", ["compound", "building"])
def test_another_areas_compound_or_building_is_refused_with_the_one_out_of_scope_message(
    client: Client, world: World, field: str
) -> None:
    client.force_login(world.cadre)
    building = world.other_household.building
    value = building.compound_id if field == "compound" else building.pk
    response = post(client, **{field: value})
    assert response.status_code == 400
    assert str(NOT_FOUND_OR_OUT_OF_SCOPE) in response.content.decode()
    assert not Demand.objects.exists()
    # A missing id reads exactly the same: the answer does not tell what exists elsewhere.
    missing = post(client, **{field: 987654})
    assert str(NOT_FOUND_OR_OUT_OF_SCOPE) in missing.content.decode()


def test_a_bad_phone_is_refused_in_plain_chinese(client: Client, world: World) -> None:
    client.force_login(world.cadre)
    response = post(client, reporter_phone="12345")
    assert response.status_code == 400
    assert "手机号格式不正确" in response.content.decode()
    assert not Demand.objects.exists()


def test_the_street_desk_picks_area_and_compound_and_a_mismatch_is_refused(client: Client, world: World) -> None:
    client.force_login(world.admin)
    compound = world.other_household.building.compound
    response = post(client, area=world.hengdeli.pk, compound=compound.pk)
    assert response.status_code == 400
    assert "所选小区不在所选居民区内" in response.content.decode()
    post(client, area=world.youyicun.pk, compound=compound.pk, address="545弄12号门口")
    demand = Demand.objects.get()
    assert (demand.area, demand.compound, demand.address) == (world.youyicun, compound, "545弄12号门口")
