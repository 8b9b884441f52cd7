"""走访包联: the automatic proposal is balanced and compact, re-pairing keeps history, the area head pairs by hand,
and only the area's head and the street administrator may change anything."""

import math
import random
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from ningju.core.errors import ApplicationError
from ningju.core.models import Role, User
from ningju.registry.models import Building, Compound, Household, PatrolSite, PatrolSiteType, ResidentialArea, Tag
from ningju.visits import pairing
from ningju.visits.models import Pairing
from ningju.visits.rules import ensure_rules
from tests import factories
from tests.conftest import World

OFFICE = (31.2400, 121.4520)
STEP = 0.0004  # about 40 m between neighbouring buildings


def build_grid(area: ResidentialArea, columns: int = 8, rows: int = 6, seed: int = 1) -> list[Building]:
    """A block of buildings on a grid around the office, 3–14 households each, some of them must-visit."""
    rng = random.Random(seed)
    lonely = Tag.objects.get(street=area.street, name="独居老人")
    risky = Tag.objects.get(street=area.street, name="重点关注人员")
    compound = Compound.objects.create(area=area, name=f"网格小区{seed}")
    buildings: list[Building] = []
    for column in range(columns):
        for row in range(rows):
            building = Building.objects.create(
                compound=compound,
                road="测试路",
                lane=str(seed),
                number=str(len(buildings) + 1),
                lat=OFFICE[0] + (row - rows / 2) * STEP,
                lng=OFFICE[1] + (column - columns / 2) * STEP,
            )
            households = Household.objects.bulk_create(
                Household(building=building, room=str(101 + n)) for n in range(rng.randint(3, 14))
            )
            through = Household.tags.through
            through.objects.bulk_create(
                through(household_id=h.pk, tag_id=(risky if rng.random() < 0.03 else lonely).pk)
                for h in households
                if rng.random() < 0.15
            )
            buildings.append(building)
    return buildings


def cadres(area: ResidentialArea, count: int) -> list[User]:
    short = area.code[-3:]
    existing = User.objects.filter(area=area, role=Role.CADRE).count()
    return [
        factories.area_user(
            area, username=f"cadre-{short}-{existing + n + 1}", full_name=f"干部{existing + n + 1}"
        )
        for n in range(count)
    ]


def expected_weight(building: Building) -> int:
    """What the rules ask of a building per year, counted here independently of the code under test."""
    total = 0
    for household in building.households.prefetch_related("tags"):
        names = {t.name for t in household.tags.all()}
        total += 52 if "重点关注人员" in names else 12 if "独居老人" in names else 1
    return total


def spread_m(buildings: list[Building]) -> float:
    """Mean distance of the buildings from their centre, in metres."""
    lat = sum(b.lat for b in buildings) / len(buildings)
    lng = sum(b.lng for b in buildings) / len(buildings)
    kx = 111_320 * math.cos(math.radians(lat))
    return sum(math.hypot((b.lng - lng) * kx, (b.lat - lat) * 110_574) for b in buildings) / len(buildings)


@pytest.fixture
def grid(world: World) -> list[Building]:
    ensure_rules(world.street)
    return build_grid(world.hengdeli)


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the proposal ----------------------------------------------------------------------------------------------


def test_proposal_gives_every_building_to_exactly_one_cadre(world: World, grid: list[Building]) -> None:
    team = [world.cadre, *cadres(world.hengdeli, 3)]
    proposal = pairing.propose_pairings(world.hengdeli)
    assert set(proposal.shares) == {c.pk for c in team}
    given = [pk for share in proposal.shares.values() for pk in share.building_ids]
    all_buildings = set(Building.objects.filter(compound__area=world.hengdeli).values_list("pk", flat=True))
    assert sorted(given) == sorted(all_buildings)


def test_proposal_balances_due_visits_within_fifteen_percent(world: World, grid: list[Building]) -> None:
    cadres(world.hengdeli, 3)
    proposal = pairing.propose_pairings(world.hengdeli)
    weights = {b.pk: expected_weight(b) for b in Building.objects.filter(compound__area=world.hengdeli)}
    loads = [sum(weights[pk] for pk in share.building_ids) for share in proposal.shares.values()]
    mean = sum(loads) / len(loads)
    assert sum(loads) == sum(weights.values())
    assert max(abs(load - mean) for load in loads) <= 0.15 * mean, loads
    # The proposal's own figures are the same weights.
    assert sorted(round(s.weight) for s in proposal.shares.values()) == sorted(loads)


def test_proposal_keeps_each_cadres_buildings_together(world: World, grid: list[Building]) -> None:
    cadres(world.hengdeli, 3)
    proposal = pairing.propose_pairings(world.hengdeli)
    everything = list(Building.objects.filter(compound__area=world.hengdeli))
    whole = spread_m(everything)
    by_pk = {b.pk: b for b in everything}
    for share in proposal.shares.values():
        mine = [by_pk[pk] for pk in share.building_ids]
        assert spread_m(mine) < 0.7 * whole, (spread_m(mine), whole)


def test_a_weekly_household_weighs_like_fifty_two_yearly_ones(world: World) -> None:
    ensure_rules(world.street)
    risky = Tag.objects.get(street=world.street, name="重点关注人员")
    building = world.household.building
    items = {item.key: item.weight for item in pairing.area_items(world.hengdeli)}
    assert items[(pairing.BUILDING, building.pk)] == 12  # the fixture's household lives alone: monthly
    world.household.tags.add(risky)
    items = {item.key: item.weight for item in pairing.area_items(world.hengdeli)}
    assert items[(pairing.BUILDING, building.pk)] == 52


def test_patrol_sites_are_shared_out_with_the_buildings(world: World, grid: list[Building]) -> None:
    cadres(world.hengdeli, 1)
    shed = PatrolSiteType.objects.get(street=world.street, name="非机动车棚及充电区域")
    sites = [
        PatrolSite.objects.create(
            area=world.hengdeli, site_type=shed, name=f"车棚{n}", lat=OFFICE[0] + n * STEP, lng=OFFICE[1]
        )
        for n in range(4)
    ]
    proposal = pairing.propose_pairings(world.hengdeli)
    given = sorted(pk for share in proposal.shares.values() for pk in share.site_ids)
    assert given == sorted(s.pk for s in sites)
    total = sum(s.weight for s in proposal.shares.values())
    assert (
        total == sum(expected_weight(b) for b in Building.objects.filter(compound__area=world.hengdeli)) + 4 * 52
    )


def test_rerunning_an_accepted_proposal_changes_nothing(world: World, grid: list[Building]) -> None:
    cadres(world.hengdeli, 3)
    first = pairing.propose_pairings(world.hengdeli)
    assert pairing.pairing_apply(user=world.head, area=world.hengdeli, assignment=first.assignment()) > 0
    second = pairing.propose_pairings(world.hengdeli)
    assert second.assignment() == first.assignment()
    assert pairing.pairing_apply(user=world.head, area=world.hengdeli, assignment=second.assignment()) == 0


def test_an_area_without_cadres_gets_a_clear_message(world: World) -> None:
    with pytest.raises(ApplicationError, match="没有在岗的居民区干部"):
        pairing.propose_pairings(world.youyicun, exclude=[world.other_cadre.pk])


def test_balanced_cut_never_leaves_a_cadre_empty_while_places_remain() -> None:
    bounds = pairing.cut_balanced([100, 1, 1, 1, 1], 4)
    runs = [bounds[n + 1] - bounds[n] for n in range(4)]
    assert all(run >= 1 for run in runs) and sum(runs) == 5
    assert pairing.cut_balanced([0, 0, 0, 0], 2) == [0, 2, 4]  # nothing due: share the places evenly


# --- accepting, reassigning, handing over ------------------------------------------------------------------------


def test_area_head_previews_and_accepts_the_proposal(world: World, grid: list[Building]) -> None:
    team = [world.cadre, *cadres(world.hengdeli, 2)]
    client = login(world.head)
    preview = client.get(reverse("pairing_proposal", args=[world.hengdeli.code]))
    page = preview.content.decode()
    assert preview.status_code == 200
    assert "采用此方案" in page and team[1].full_name in page
    assert not Pairing.objects.exists()  # a preview writes nothing

    plan = preview.context["accept_form"]["plan"].value()
    response = client.post(reverse("pairing_proposal", args=[world.hengdeli.code]), {"plan": plan})
    assert response.status_code == 302
    buildings = Building.objects.filter(compound__area=world.hengdeli).count()
    assert Pairing.objects.current().filter(area=world.hengdeli, building__isnull=False).count() == buildings
    assert set(Pairing.objects.values_list("cadre_id", flat=True)) == {c.pk for c in team}


def test_hand_over_to_a_successor_ends_the_old_pairings_and_keeps_them(world: World, grid: list[Building]) -> None:
    leaving, successor = world.cadre, cadres(world.hengdeli, 1)[0]
    start = date.today() - timedelta(days=200)
    pairing.pairing_apply(
        user=world.head,
        area=world.hengdeli,
        assignment=pairing.propose_pairings(world.hengdeli).assignment(),
        today=start,
    )
    held = set(Pairing.objects.current().filter(cadre=leaving).values_list("building_id", flat=True))
    assert held

    response = login(world.head).post(
        reverse("pairing_hand_over", args=[world.hengdeli.code]),
        {"leaving": leaving.pk, "successor": successor.pk},
    )
    assert response.status_code == 302
    assert not Pairing.objects.current().filter(cadre=leaving).exists()
    ended = Pairing.objects.filter(cadre=leaving)
    assert set(ended.values_list("building_id", flat=True)) == held
    assert {(p.started_on, p.ended_on) for p in ended} == {(start, date.today())}
    now = Pairing.objects.current().filter(building_id__in=held)
    assert {p.cadre_id for p in now} == {successor.pk}
    assert {p.started_on for p in now} == {date.today()}

    page = login(world.head).get(reverse("pairing_area", args=[world.hengdeli.code])).content.decode()
    assert f"{leaving.full_name}：{start:%Y-%m-%d} — {date.today():%Y-%m-%d}" in page


def test_hand_over_without_successor_proposes_among_the_others(world: World, grid: list[Building]) -> None:
    others = cadres(world.hengdeli, 2)
    pairing.pairing_apply(
        user=world.head, area=world.hengdeli, assignment=pairing.propose_pairings(world.hengdeli).assignment()
    )
    client = login(world.head)
    response = client.post(reverse("pairing_hand_over", args=[world.hengdeli.code]), {"leaving": world.cadre.pk})
    assert response.status_code == 302 and f"without={world.cadre.pk}" in response["Location"]
    preview = client.get(response["Location"])
    assert "不参与本方案（离岗）" in preview.content.decode()
    client.post(
        reverse("pairing_proposal", args=[world.hengdeli.code]),
        {"plan": preview.context["accept_form"]["plan"].value()},
    )
    assert not Pairing.objects.current().filter(cadre=world.cadre).exists()
    assert Pairing.objects.filter(cadre=world.cadre, ended_on__isnull=False).exists()
    assert {p.cadre_id for p in Pairing.objects.current()} == {c.pk for c in others}


def test_area_head_reassigns_one_building_by_hand(world: World, grid: list[Building]) -> None:
    helper = cadres(world.hengdeli, 1)[0]
    pairing.pairing_apply(
        user=world.head,
        area=world.hengdeli,
        assignment={(pairing.BUILDING, b.pk): world.cadre.pk for b in grid},
    )
    target = grid[5]
    data = {"action": "save", **{f"b-{b.pk}": world.cadre.pk for b in grid}, f"b-{target.pk}": helper.pk}
    response = login(world.head).post(reverse("pairing_area", args=[world.hengdeli.code]), data)
    assert response.status_code == 302
    assert Pairing.objects.current().get(building=target).cadre == helper
    assert Pairing.objects.current().filter(cadre=world.cadre).count() == len(grid) - 1
    assert Pairing.objects.get(building=target, cadre=world.cadre).ended_on == date.today()


def test_area_head_reassigns_several_buildings_at_once(world: World, grid: list[Building]) -> None:
    helper = cadres(world.hengdeli, 1)[0]
    picked = grid[:3]
    response = login(world.head).post(
        reverse("pairing_area", args=[world.hengdeli.code]),
        {"action": "bulk", "pick": [f"b-{b.pk}" for b in picked], "to": helper.pk},
    )
    assert response.status_code == 302
    assert {p.building_id for p in Pairing.objects.current().filter(cadre=helper)} == {b.pk for b in picked}


def test_bulk_reassign_without_a_cadre_is_refused_in_chinese(world: World, grid: list[Building]) -> None:
    response = login(world.head).post(
        reverse("pairing_area", args=[world.hengdeli.code]), {"action": "bulk", "pick": [f"b-{grid[0].pk}"]}
    )
    assert response.status_code == 200
    assert "请选择接手的干部" in response.content.decode()
    assert not Pairing.objects.exists()


def test_pairing_page_shows_workload_per_cadre(world: World, grid: list[Building]) -> None:
    pairing.pairing_apply(
        user=world.head, area=world.hengdeli, assignment={(pairing.BUILDING, b.pk): world.cadre.pk for b in grid}
    )
    page = login(world.head).get(reverse("pairing_area", args=[world.hengdeli.code]))
    loads = {load.cadre.pk: load for load, _colour in page.context["workloads"]}
    assert loads[world.cadre.pk].buildings == len(grid)
    assert loads[world.cadre.pk].weight == sum(expected_weight(b) for b in grid)
    assert "干部离岗，移交包联" in page.content.decode()


# --- who may pair ------------------------------------------------------------------------------------------------


def test_cadre_sees_the_pairing_but_cannot_change_it(world: World, grid: list[Building]) -> None:
    client = login(world.cadre)
    page = client.get(reverse("pairing_area", args=[world.hengdeli.code]))
    assert page.status_code == 200
    assert "批量改派" not in page.content.decode() and "干部离岗，移交包联" not in page.content.decode()
    response = client.post(
        reverse("pairing_area", args=[world.hengdeli.code]),
        {"action": "bulk", "pick": [f"b-{grid[0].pk}"], "to": world.cadre.pk},
    )
    assert response.status_code == 403
    assert client.get(reverse("pairing_proposal", args=[world.hengdeli.code])).status_code == 403
    with pytest.raises(PermissionDenied):
        pairing.pairing_apply(
            user=world.cadre, area=world.hengdeli, assignment={(pairing.BUILDING, grid[0].pk): world.cadre.pk}
        )
    assert not Pairing.objects.exists()


def test_head_of_another_area_is_refused(world: World, grid: list[Building]) -> None:
    other_head = factories.area_user(world.youyicun, Role.AREA_HEAD, username="head-009")
    assert not pairing.can_manage_pairing(other_head, world.hengdeli)
    client = login(other_head)
    assert client.get(reverse("pairing_area", args=[world.hengdeli.code])).status_code == 403
    response = client.post(reverse("pairing_hand_over", args=[world.hengdeli.code]), {"leaving": world.cadre.pk})
    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        pairing.pairing_hand_over(user=other_head, area=world.hengdeli, leaving=world.cadre, successor=world.cadre)


def test_street_administrator_pairs_any_area_of_the_street(world: World, grid: list[Building]) -> None:
    assert pairing.can_manage_pairing(world.admin, world.youyicun)
    assert not pairing.can_manage_pairing(world.liaison, world.hengdeli)
    page = login(world.admin).get(reverse("pairing_index")).content.decode()
    assert "恒德里" in page and "又一村" in page
    assert login(world.head).get(reverse("pairing_index"))["Location"].endswith(f"/{world.hengdeli.code}/")


def test_cannot_pair_with_a_cadre_of_another_area(world: World, grid: list[Building]) -> None:
    with pytest.raises(ApplicationError, match="在岗干部"):
        pairing.pairing_apply(
            user=world.admin,
            area=world.hengdeli,
            assignment={
                (pairing.BUILDING, grid[0].pk): world.cadre.pk,
                (pairing.BUILDING, grid[1].pk): world.other_cadre.pk,
            },
        )
    with pytest.raises(ApplicationError, match="不属于"):
        pairing.pairing_apply(
            user=world.admin,
            area=world.hengdeli,
            assignment={(pairing.BUILDING, world.other_household.building_id): world.cadre.pk},
        )
    assert not Pairing.objects.exists()


def test_a_tampered_proposal_is_refused(world: World, grid: list[Building]) -> None:
    response = login(world.head).post(
        reverse("pairing_proposal", args=[world.hengdeli.code]), {"plan": '{"b-x": "nobody"}'}, follow=True
    )
    assert "方案数据无效" in response.content.decode()
    assert not Pairing.objects.exists()
