"""`ningju demo`: the demo street is the real 江宁路街道, plausible, valid, deterministic, and safe to run twice."""

import random
from datetime import date
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from ningju.core.fields import SensitiveValue
from ningju.core.identifiers import id_birth_date, id_gender, validate_id_number
from ningju.core.models import Role, User
from ningju.registry.demo import reference as ref
from ningju.registry.demo.people import IdIssuer, PeopleMaker, age_on
from ningju.registry.demo.places import area_patch
from ningju.registry.models import (
    Building,
    Compound,
    Department,
    Grid,
    Household,
    PatrolSite,
    Resident,
    ResidentialArea,
    Street,
)

pytestmark = pytest.mark.django_db

REAL_AREAS = {
    "310106006002": "新安",
    "310106006003": "永乐",
    "310106006005": "联宝里",
    "310106006006": "恒德里",
    "310106006008": "景苑",
    "310106006009": "又一村",
    "310106006011": "北京",
    "310106006013": "众乐里",
    "310106006014": "武定坊",
    "310106006015": "三星坊",
    "310106006019": "蒋家巷",
    "310106006020": "海防村",
    "310106006024": "通安里",
    "310106006027": "三乐里",
    "310106006028": "句容里",
    "310106006029": "天河",
}
REAL_ROADS = {
    "常德路", "武定路", "西康路", "江宁路", "昌平路", "海防路", "胶州路", "新闸路", "康定路", "余姚路", "安远路",
    "陕西北路", "武宁南路", "新丰路",
}  # fmt: skip
SMALL = 200


def build(households: int = SMALL, *args: str, seed: int = 7) -> str:
    out = StringIO()
    call_command("demo", *args, households=households, seed=seed, stdout=out)
    return out.getvalue()


def clear(value: object) -> str:
    """The clear text of an encrypted field's value ('' when empty)."""
    if value is None:
        return ""
    assert isinstance(value, SensitiveValue)
    return value.reveal()


def snapshot() -> list[tuple[str, str, str, str]]:
    """What a user would compare between two runs: each resident's address, name, ID number and phone."""
    return [
        (r.household.address, r.name, clear(r.id_number), clear(r.phone))
        for r in Resident.objects.select_related("household__building").order_by(
            "household__building__road", "household__building__lane", "household__building__number",
            "household__room", "name",
        )
    ]  # fmt: skip


def test_demo_builds_jiangning_road_with_its_sixteen_real_committees() -> None:
    build()
    street = Street.objects.get()
    assert (street.code, street.name) == ("310106006", "江宁路街道")
    assert dict(ResidentialArea.objects.values_list("code", "name")) == REAL_AREAS
    assert Household.objects.count() == SMALL
    assert all(ResidentialArea.objects.get(code=code).compounds.exists() for code in REAL_AREAS)


def test_every_household_lies_inside_the_street_and_its_area_patch() -> None:
    build()
    patches = {area.code: area_patch(area) for area in ref.AREAS}
    for code, lat, lng in Household.objects.values_list(
        "building__compound__area__code", "building__lat", "building__lng"
    ):
        assert ref.SOUTH <= lat <= ref.NORTH and ref.WEST <= lng <= ref.EAST
        assert patches[code].contains(lat, lng), f"a household of {code} lies outside its area's patch"
    for area in ResidentialArea.objects.all():
        assert area.office_address and area.office_lat is not None and area.office_lng is not None
        assert patches[area.code].contains(area.office_lat, area.office_lng)


def test_buildings_have_lane_addresses_on_the_areas_real_roads() -> None:
    build()
    roads = set(Building.objects.values_list("road", flat=True))
    assert roads <= REAL_ROADS
    assert Building.objects.exclude(lane="").exists()
    household = Household.objects.filter(building__lane__gt="").select_related("building").first()
    assert household is not None
    b = household.building
    assert household.address == f"{b.road}{b.lane}弄{b.number}号{household.room}室"
    for compound in Compound.objects.all():
        assert compound.property_company.endswith("公司")
        assert compound.buildings.exists()


def test_every_id_number_is_valid_unique_and_agrees_with_gender_and_birth_date() -> None:
    build()
    residents = list(Resident.objects.all())
    assert len(residents) > SMALL  # more people than households: families, not only single rooms
    for resident in residents:
        number = validate_id_number(clear(resident.id_number))
        assert id_gender(number) == resident.gender
        assert id_birth_date(number) == resident.birth_date
        if resident.phone:
            assert resident.phone_hash
    hashes = [r.id_number_hash for r in residents]
    assert all(hashes) and len(set(hashes)) == len(hashes)


def test_id_issuer_never_repeats_a_number_even_for_a_crowded_birthday() -> None:
    issuer = IdIssuer()
    numbers = [issuer.issue("310106", date(1950, 3, 7), "F")[0] for _ in range(600)]
    assert len(set(numbers)) == 600
    assert all(validate_id_number(n) == n and id_gender(n) == "F" for n in numbers)
    assert {id_birth_date(n) for n in numbers} == {date(1950, 3, 7), date(1950, 3, 8)}


def test_must_visit_tags_follow_the_people_they_describe() -> None:
    build(600)
    today = date.today()
    alone = Household.objects.filter(tags__name=ref.TAG_LIVING_ALONE).prefetch_related("residents")
    assert alone.exists()
    for household in alone:
        (person,) = household.residents.all()
        assert person.age is not None and person.age >= 60
    over_80 = set(Resident.objects.filter(tags__name=ref.TAG_OVER_80).values_list("pk", flat=True))
    aged = {r.pk for r in Resident.objects.all() if r.birth_date and age_on(r.birth_date, today) >= 80}
    assert over_80 == aged and aged


def test_every_household_and_resident_has_its_created_history_entry_with_its_tags() -> None:
    build()
    household = Household.objects.filter(tags__isnull=False).first()
    assert household is not None
    (created,) = household.history.all()
    assert created.history_type == "+"
    assert created.history_user is None
    assert {t.tag_id for t in created.tags.all()} == set(household.tags.values_list("pk", flat=True))
    assert Household.history.count() == Household.objects.count()
    assert Resident.history.count() == Resident.objects.count()
    resident = Resident.objects.first()
    assert resident is not None
    assert clear(resident.history.get().id_number) == clear(resident.id_number)


def test_areas_have_grids_patrol_sites_of_the_four_kinds_and_the_street_has_departments() -> None:
    build()
    for area in ResidentialArea.objects.all():
        assert area.patrol_sites.exists()
        assert Grid.objects.filter(buildings__compound__area=area, parent__isnull=False).exists()
    assert set(PatrolSite.objects.values_list("site_type__name", flat=True)) == {
        "楼道及公共部位",
        "非机动车棚及充电区域",
        "垃圾厢房",
        "沿街商铺",
    }
    slugs = set(Department.objects.values_list("slug", flat=True))
    assert {
        "chengguan",
        "shichangjianguan",
        "fangguan",
        "paichusuo",
        "lvhua",
        "minzheng",
        "weijian",
        "wuye",
    } <= slugs


def test_demo_accounts_have_their_roles_and_scopes_and_can_sign_in() -> None:
    output = build()
    hengdeli = ResidentialArea.objects.get(code="310106006006")
    admin = User.objects.get(username="admin")
    assert (admin.role, admin.street) == (Role.STREET_ADMIN, Street.objects.get())
    head = User.objects.get(username="head-006")
    assert (head.role, head.area) == (Role.AREA_HEAD, hengdeli)
    cadres = User.objects.filter(role=Role.CADRE)
    assert cadres.count() >= 100
    for area in ResidentialArea.objects.all():
        assert 6 <= cadres.filter(area=area).count() <= 8
    cadre = User.objects.get(username="cadre-006-1")
    assert (cadre.role, cadre.area) == (Role.CADRE, hengdeli)
    liaison = User.objects.get(username="dept-chengguan")
    assert (liaison.role, liaison.department) == (Role.LIAISON, Department.objects.get(slug="chengguan"))
    assert all(user.full_name for user in User.objects.all())
    for username in ("admin", "head-006", "cadre-006-1", "dept-chengguan"):
        client = Client()
        response = client.post(reverse("login"), {"username": username, "password": settings.NINGJU_DEMO_PASSWORD})
        assert response.status_code == 302, username
        assert client.session["_auth_user_id"] == str(User.objects.get(username=username).pk)
    for shown in ("admin", "head-006", "cadre-006-1", "dept-chengguan", settings.NINGJU_DEMO_PASSWORD):
        assert shown in output


def test_same_seed_builds_the_same_street_and_another_seed_a_different_one() -> None:
    build(120, seed=11)
    first = snapshot()
    build(120, "--reset", seed=11)
    assert snapshot() == first
    build(120, "--reset", seed=12)
    assert snapshot() != first


def test_if_empty_leaves_an_existing_street_alone_but_lists_the_accounts() -> None:
    build()
    before = (Household.objects.count(), Resident.objects.count(), User.objects.count())
    output = build(SMALL, "--if-empty")
    assert (Household.objects.count(), Resident.objects.count(), User.objects.count()) == before
    assert Street.objects.count() == 1
    assert "head-006" in output and settings.NINGJU_DEMO_PASSWORD in output


def test_demo_refuses_to_build_over_an_existing_street_without_reset() -> None:
    build()
    before = Resident.objects.count()
    with pytest.raises(CommandError, match="已存在"):
        build(SMALL)
    assert Resident.objects.count() == before


def test_reset_rebuilds_at_the_new_size_without_leftovers() -> None:
    build()
    build(100, "--reset")
    assert Household.objects.count() == 100
    assert Household.history.count() == 100
    assert Resident.history.count() == Resident.objects.count()
    assert User.objects.filter(username="admin").count() == 1


def test_demo_refuses_too_few_households_and_writes_nothing() -> None:
    with pytest.raises(CommandError, match="户数至少为16"):
        build(5)
    assert not Street.objects.exists() and not User.objects.exists()


def test_demo_refuses_when_a_demo_username_is_taken_and_writes_nothing() -> None:
    User.objects.create_user(username="admin", password="something-else-1")
    with pytest.raises(CommandError, match="admin"):
        build()
    assert not Street.objects.exists()
    assert User.objects.count() == 1


def test_demo_refuses_to_run_in_production(settings: Any) -> None:
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="生产环境"):
        build()
    assert not Street.objects.exists() and not User.objects.exists()


def test_people_get_given_names_of_their_generation() -> None:
    maker = PeopleMaker(random.Random(1), date(2025, 6, 1))
    old = {maker.given_name("F", 1935) for _ in range(50)}
    young = {maker.given_name("F", 2012) for _ in range(50)}
    assert old and young and not old & young
