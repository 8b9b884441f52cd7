"""Recording demands from the pages: the desk form for cadres, heads and the street (never liaisons), prefilled
from the household, patrol site or visit finding the user came from, photos stored with it, a double submit stored
once, and the one-tap "转为诉求" of a finding that never makes two demands of one finding."""

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ningju.demands.models import Attachment, Category, Demand, DemandEvent, Kind, Source
from ningju.demands.workflow import State
from ningju.registry.models import PatrolSite, PatrolSiteType
from ningju.visits.models import Finding, Visit, VisitMode
from tests.conftest import World

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def site(world: World) -> PatrolSite:
    return PatrolSite.objects.create(
        area=world.hengdeli,
        site_type=PatrolSiteType.objects.get(street=world.street, name="垃圾厢房"),
        name="633弄垃圾厢房",
        address="常德路633弄",
        lat=31.2381,
        lng=121.4512,
    )


@pytest.fixture
def finding(world: World) -> Finding:
    visit = Visit.objects.create(
        area=world.hengdeli,
        cadre=world.cadre,
        household=world.household,
        visited_at=timezone.now(),
        mode=VisitMode.FACE_TO_FACE,
    )
    return Finding.objects.create(visit=visit, text="楼道堆放杂物，影响通行")


def new_url(**query: Any) -> str:
    url = reverse("demand_new")
    return url + ("?" + "&".join(f"{key}={value}" for key, value in query.items()) if query else "")


def form_data(**overrides: Any) -> dict[str, Any]:
    return {
        "kind": Kind.PROBLEM,
        "text": "想申请老年助餐",
        "source": Source.WALK_IN,
        "category": "",
        "client_key": uuid.uuid4().hex,
        **overrides,
    }


# --- who may record ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["liaison", "nobody"])
def test_liaison_and_user_without_role_cannot_open_the_form(client: Client, world: World, who: str) -> None:
    client.force_login(world.users()[who])
    response = client.get(new_url())
    assert response.status_code == 403
    assert "只有街道和居民区的工作人员可以登记诉求" in response.content.decode()


def test_cadre_records_a_walk_in_and_becomes_its_owner(client: Client, world: World) -> None:
    client.force_login(world.cadre)
    form = client.get(new_url())
    assert form.status_code == 200
    body = form.content.decode()
    assert 'value="walk_in" selected' in body  # the desk's default source
    assert "<optgroup" in body  # categories grouped under their parents
    response = client.post(new_url(), form_data())
    demand = Demand.objects.get()
    assert response.status_code == 302 and response.url == reverse("demand_detail", args=[demand.pk])
    assert demand.owner == world.cadre and demand.area == world.hengdeli
    assert demand.state == State.ACCEPTED and demand.source == Source.WALK_IN
    follow = client.get(response.url).content.decode()
    assert f"已登记诉求 #{demand.pk}，您是首问负责人，请在" in follow
    assert timezone.localtime(demand.due_at).strftime("%Y-%m-%d %H:%M") in follow


def test_empty_text_is_refused_with_a_chinese_message_and_nothing_is_written(client: Client, world: World) -> None:
    client.force_login(world.cadre)
    response = client.post(new_url(), form_data(text="   "))
    assert response.status_code == 400
    assert "请填写诉求内容。" in response.content.decode()
    assert not Demand.objects.exists()


def test_street_admin_chooses_the_area_and_a_category(client: Client, world: World) -> None:
    noise = Category.objects.get(street=world.street, name="噪音扰民", parent=None)
    client.force_login(world.admin)
    assert 'name="area"' in client.get(new_url()).content.decode()
    client.post(new_url(), form_data(area=world.youyicun.pk, category=noise.pk, kind=Kind.OPINION))
    demand = Demand.objects.get()
    assert demand.area == world.youyicun and demand.category == noise and demand.owner == world.admin


def test_double_submit_with_the_same_client_key_stores_one_demand(client: Client, world: World) -> None:
    client.force_login(world.cadre)
    data = form_data()
    first = client.post(new_url(), data)
    second = client.post(new_url(), data)
    assert Demand.objects.count() == 1 and DemandEvent.objects.count() == 1
    assert first.url == second.url == reverse("demand_detail", args=[Demand.objects.get().pk])


# --- prefill -------------------------------------------------------------------------------------------------------


def test_intake_from_a_household_offers_its_residents_and_keeps_the_place(client: Client, world: World) -> None:
    client.force_login(world.cadre)
    body = client.get(new_url(household=world.household.pk)).content.decode()
    assert world.household.address in body
    assert re.search(rf'<option value="{world.resident.pk}">王秀英</option>', body)
    assert "13812345678" not in body
    client.post(new_url(household=world.household.pk), form_data(reporter=world.resident.pk))
    demand = Demand.objects.get()
    assert demand.household == world.household and demand.reporter == world.resident
    assert demand.area == world.hengdeli


def test_household_of_another_area_cannot_be_prefilled(client: Client, world: World) -> None:
    client.force_login(world.cadre)
    assert client.get(new_url(household=world.other_household.pk)).status_code == 403
    assert client.post(new_url(household=world.other_household.pk), form_data()).status_code == 403
    assert not Demand.objects.exists()


def test_intake_from_a_patrol_site_is_a_patrol_demand(client: Client, world: World, site: PatrolSite) -> None:
    client.force_login(world.cadre)
    body = client.get(new_url(patrol_site=site.pk)).content.decode()
    assert 'value="patrol" selected' in body and "633弄垃圾厢房" in body
    client.post(new_url(patrol_site=site.pk), form_data(source=Source.PATROL))
    demand = Demand.objects.get()
    assert demand.patrol_site == site and demand.source == Source.PATROL


def test_intake_from_a_finding_prefills_its_text_visit_and_household(
    client: Client, world: World, finding: Finding
) -> None:
    client.force_login(world.cadre)
    body = client.get(new_url(finding=finding.pk)).content.decode()
    assert "楼道堆放杂物，影响通行" in body and 'value="visit" selected' in body
    client.post(new_url(finding=finding.pk), form_data(text=finding.text, source=Source.VISIT))
    demand = Demand.objects.get()
    assert demand.finding == finding and demand.visit == finding.visit
    assert demand.household == world.household and demand.source == Source.VISIT
    # The finding is now a demand: the form sends the user to it instead of recording it twice.
    again = client.get(new_url(finding=finding.pk))
    assert again.status_code == 302 and again.url == reverse("demand_detail", args=[demand.pk])


def test_photos_are_stored_with_the_new_demand(client: Client, world: World, media: Path) -> None:
    client.force_login(world.cadre)
    photos = [SimpleUploadedFile("1.png", PNG), SimpleUploadedFile("2.png", PNG)]
    client.post(new_url(household=world.household.pk), form_data(photos=photos))
    demand = Demand.objects.get()
    stored = list(Attachment.objects.filter(demand=demand))
    assert [a.name for a in stored] == ["1.png", "2.png"]
    assert all(a.event is None and a.uploaded_by == world.cadre for a in stored)
    assert all((media / a.file.name).exists() for a in stored)


def test_a_bad_photo_refuses_the_whole_intake(client: Client, world: World, media: Path) -> None:
    client.force_login(world.cadre)
    photos = [SimpleUploadedFile("1.png", PNG), SimpleUploadedFile("virus.png", b"MZ not a png")]
    response = client.post(new_url(), form_data(photos=photos))
    assert response.status_code == 400
    assert "virus.png" in response.content.decode()
    assert not Demand.objects.exists() and not Attachment.objects.exists()
    assert not any(media.rglob("*.*"))


# --- one tap from a visit finding -------------------------------------------------------------------------------


def test_one_tap_turns_a_finding_into_a_demand_once(client: Client, world: World, finding: Finding) -> None:
    client.force_login(world.cadre)
    url = reverse("finding_to_demand", args=[finding.pk])
    first = client.post(url)
    demand = Demand.objects.get()
    assert first.status_code == 302 and first.url == reverse("demand_detail", args=[demand.pk])
    assert demand.kind == Kind.PROBLEM and demand.source == Source.VISIT and demand.text == finding.text
    assert demand.visit == finding.visit and demand.household == world.household and demand.area == world.hengdeli
    assert demand.owner == world.cadre
    client.force_login(world.head)
    second = client.post(url)
    assert second.url == first.url and Demand.objects.count() == 1


def test_one_tap_from_a_patrol_is_a_patrol_demand(client: Client, world: World, site: PatrolSite) -> None:
    visit = Visit.objects.create(
        area=world.hengdeli, cadre=world.cadre, patrol_site=site, visited_at=timezone.now(), mode=VisitMode.PATROL
    )
    finding = Finding.objects.create(visit=visit, text="垃圾满溢")
    client.force_login(world.cadre)
    client.post(reverse("finding_to_demand", args=[finding.pk]))
    demand = Demand.objects.get()
    assert demand.patrol_site == site and demand.household is None and demand.source == Source.PATROL


def test_one_tap_needs_a_post_and_the_visit_in_scope(client: Client, world: World, finding: Finding) -> None:
    url = reverse("finding_to_demand", args=[finding.pk])
    client.force_login(world.cadre)
    assert client.get(url).status_code == 405
    client.force_login(world.other_cadre)
    assert client.post(url).status_code == 403
    client.force_login(world.liaison)
    assert client.post(url).status_code == 403
    assert not Demand.objects.exists()


def test_visit_page_offers_the_tap_then_links_to_the_demand(
    client: Client, world: World, finding: Finding
) -> None:
    client.force_login(world.cadre)
    visit_url = reverse("visit_detail", args=[finding.visit_id])
    assert reverse("finding_to_demand", args=[finding.pk]) in client.get(visit_url).content.decode()
    client.post(reverse("finding_to_demand", args=[finding.pk]))
    body = client.get(visit_url).content.decode()
    demand = Demand.objects.get()
    assert reverse("finding_to_demand", args=[finding.pk]) not in body
    assert reverse("demand_detail", args=[demand.pk]) in body


def test_household_page_offers_intake_and_lists_its_demands(client: Client, world: World) -> None:
    client.force_login(world.cadre)
    client.post(new_url(household=world.household.pk), form_data(text="水管漏水"))
    demand = Demand.objects.get()
    body = client.get(reverse("household_detail", args=[world.household.pk])).content.decode()
    assert f"{reverse('demand_new')}?household={world.household.pk}" in body
    assert reverse("demand_detail", args=[demand.pk]) in body and "受理" in body and "水管漏水" in body
