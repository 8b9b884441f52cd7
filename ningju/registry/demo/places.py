"""Generated geography for the demo street: each area's compounds, buildings with lane addresses, rooms, patrol
sites and office, laid out inside the area's own patch of the street so that a cadre's walk stays local.

Pure functions of a seeded `random.Random`: the same seed gives the same places.
"""

import math
import random
from dataclasses import dataclass, field

from ningju.registry.demo import reference as ref
from ningju.registry.demo.people import PeopleMaker
from ningju.registry.models import Tenure

PATROL_STAIRWELL, PATROL_BICYCLES, PATROL_GARBAGE, PATROL_SHOPS = (
    "楼道及公共部位",
    "非机动车棚及充电区域",
    "垃圾厢房",
    "沿街商铺",
)
MAX_SITES_PER_TYPE = 12  # per area: a weekly patrol round stays walkable even for a 200,000-household street


@dataclass(frozen=True, slots=True)
class CompoundKind:
    """A kind of housing in Shanghai's old town, with the shape of its buildings and who lives there."""

    weight: float
    buildings: tuple[int, int]
    floors: tuple[int, int]
    rooms_per_floor: tuple[int, int]
    built: tuple[int, int]
    on_lane: bool
    tenure: dict[str, float]


KINDS: dict[str, CompoundKind] = {
    # 石库门/新式里弄: two- or three-storey lane houses, several families per house, mostly public housing.
    "lilong": CompoundKind(
        0.35, (6, 24), (2, 3), (2, 3), (1912, 1940), True,
        {Tenure.PUBLIC_RENT: 0.62, Tenure.OWNER: 0.18, Tenure.TENANT: 0.14, Tenure.VACANT: 0.04, Tenure.OTHER: 0.02},
    ),
    # 公房新村: five- to seven-storey walk-ups, many bought by their tenants in the 1990s (售后公房).
    "new_village": CompoundKind(
        0.33, (3, 10), (5, 7), (2, 4), (1955, 1992), True,
        {Tenure.PUBLIC_RENT: 0.40, Tenure.OWNER: 0.40, Tenure.TENANT: 0.14, Tenure.VACANT: 0.04, Tenure.OTHER: 0.02},
    ),
    # 商品房: high-rise estates of the late 1990s and 2000s.
    "estate": CompoundKind(
        0.20, (2, 8), (11, 28), (4, 6), (1996, 2012), True,
        {Tenure.OWNER: 0.68, Tenure.TENANT: 0.25, Tenure.VACANT: 0.05, Tenure.OTHER: 0.02},
    ),
    # 大楼: a single block on the street front.
    "tower": CompoundKind(
        0.12, (1, 1), (10, 24), (6, 10), (1985, 2008), False,
        {Tenure.OWNER: 0.50, Tenure.PUBLIC_RENT: 0.15, Tenure.TENANT: 0.28, Tenure.VACANT: 0.05, Tenure.OTHER: 0.02},
    ),
}  # fmt: skip
_KIND_NAMES = tuple(KINDS)
_KIND_WEIGHTS = tuple(kind.weight for kind in KINDS.values())


@dataclass(frozen=True, slots=True)
class Patch:
    """A rectangle of the street, in degrees."""

    west: float
    south: float
    east: float
    north: float

    def point(self, x: float, y: float) -> tuple[float, float]:
        """(lat, lng) of the point at fractions x (west→east) and y (south→north) of the patch."""
        return (
            round(self.south + (self.north - self.south) * y, 6),
            round(self.west + (self.east - self.west) * x, 6),
        )

    def inner(self, x0: float, y0: float, x1: float, y1: float) -> "Patch":
        width, height = self.east - self.west, self.north - self.south
        return Patch(
            self.west + width * x0, self.south + height * y0, self.west + width * x1, self.south + height * y1
        )

    def contains(self, lat: float, lng: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lng <= self.east


def area_patch(area: ref.AreaRef) -> Patch:
    """The area's cell of the 4×4 cut of the street's box, with a thin margin so neighbours never touch."""
    width = (ref.EAST - ref.WEST) / ref.GRID_COLUMNS
    height = (ref.NORTH - ref.SOUTH) / ref.GRID_ROWS
    cell = Patch(
        ref.WEST + width * area.column,
        ref.SOUTH + height * area.row,
        ref.WEST + width * (area.column + 1),
        ref.SOUTH + height * (area.row + 1),
    )
    return cell.inner(0.03, 0.03, 0.97, 0.97)


def patch_roads(area: ref.AreaRef) -> tuple[str, ...]:
    return (
        *ref.COLUMN_ROADS[area.column],
        *ref.ROW_ROADS[area.row],
        *ref.EXTRA_ROADS.get((area.row, area.column), ()),
    )


class AddressBook:
    """Hands out house and lane numbers so that no two places on a road share a number. Numbers run up the road
    patch by patch, odd on one side and even on the other, as they do in Shanghai."""

    def __init__(self) -> None:
        self._used: dict[str, set[int]] = {}
        self._next: dict[tuple[str, int, int], int] = {}

    def take(self, road: str, area: ref.AreaRef, rng: random.Random, parity: int | None = None) -> int:
        """The next free number on `road` in `area`'s stretch of it (odd side or even side at random)."""
        info = ref.ROADS[road]
        position = area.row if info.north_south else ref.GRID_COLUMNS - 1 - area.column
        if parity is None:
            parity = rng.randint(0, 1)
        key = (road, position, parity)
        start = info.start + info.span * position
        candidate = self._next.get(key, start + (start + parity) % 2)
        used = self._used.setdefault(road, set())
        while candidate in used:
            candidate += 2
        used.add(candidate)
        self._next[key] = candidate + 2 * rng.randint(1, 4)
        return candidate


@dataclass(slots=True)
class BuildingPlan:
    road: str
    lane: str
    number: str
    floors: int
    rooms: list[str]
    lat: float = 0.0
    lng: float = 0.0


@dataclass(slots=True)
class CompoundPlan:
    name: str
    kind: str
    address: str
    built_year: int
    owners_committee: str
    owners_committee_contact: str
    property_company: str
    property_contact: str
    buildings: list[BuildingPlan]
    sub_grid: int = 0
    lat: float = 0.0
    lng: float = 0.0

    @property
    def tenure_weights(self) -> dict[str, float]:
        return KINDS[self.kind].tenure

    @property
    def household_count(self) -> int:
        return sum(len(building.rooms) for building in self.buildings)


@dataclass(slots=True)
class PatrolSitePlan:
    type_name: str
    name: str
    address: str
    lat: float
    lng: float
    compound: int | None  # index into the area's compounds


@dataclass(slots=True)
class AreaPlan:
    area: ref.AreaRef
    patch: Patch
    office_address: str
    office_lat: float
    office_lng: float
    phone: str
    sub_grids: int
    compounds: list[CompoundPlan] = field(default_factory=list)
    patrol_sites: list[PatrolSitePlan] = field(default_factory=list)


def area_quotas(total: int, rng: random.Random) -> list[int]:
    """Split `total` households over the 16 areas, unevenly as in life (each area gets at least one)."""
    weights = [rng.uniform(0.7, 1.3) for _ in ref.AREAS]
    scale = (total - len(ref.AREAS)) / sum(weights)
    quotas = [1 + int(weight * scale) for weight in weights]
    for index in range(total - sum(quotas)):
        quotas[index % len(quotas)] += 1
    return quotas


def plan_area(
    area: ref.AreaRef,
    households: int,
    rng: random.Random,
    book: AddressBook,
    people: PeopleMaker,
    used_names: set[str],
) -> AreaPlan:
    """Compounds, buildings and rooms for `households` households of one area, laid out inside its patch."""
    patch = area_patch(area)
    roads = patch_roads(area)
    office_road = roads[0]
    office_lat, office_lng = patch.point(rng.uniform(0.4, 0.6), rng.uniform(0.4, 0.6))
    plan = AreaPlan(
        area=area,
        patch=patch,
        office_address=f"{office_road}{book.take(office_road, area, rng)}号",
        office_lat=office_lat,
        office_lng=office_lng,
        phone=people.landline(),
        sub_grids=1 if households < 200 else 2 if households < 2500 else 3,
    )
    remaining = households
    while remaining > 0:
        compound = _plan_compound(area, rng, book, people, roads, used_names, remaining)
        remaining -= compound.household_count
        plan.compounds.append(compound)
    _lay_out(plan, rng)
    plan.patrol_sites = _plan_patrol_sites(plan, rng, book, roads)
    return plan


def _plan_compound(
    area: ref.AreaRef,
    rng: random.Random,
    book: AddressBook,
    people: PeopleMaker,
    roads: tuple[str, ...],
    used_names: set[str],
    remaining: int,
) -> CompoundPlan:
    kind_name = rng.choices(_KIND_NAMES, _KIND_WEIGHTS)[0]
    kind = KINDS[kind_name]
    road = rng.choice(roads)
    number = book.take(road, area, rng)
    buildings: list[BuildingPlan] = []
    for index in range(rng.randint(*kind.buildings)):
        if remaining <= 0:
            break
        floors = rng.randint(*kind.floors)
        per_floor = rng.randint(*kind.rooms_per_floor)
        rooms = [f"{floor}{unit:02d}" for floor in range(1, floors + 1) for unit in range(1, per_floor + 1)]
        rooms = rooms[:remaining]
        remaining -= len(rooms)
        if kind.on_lane:
            buildings.append(BuildingPlan(road, str(number), str(index + 1), floors, rooms))
        else:
            buildings.append(BuildingPlan(road, "", str(number), floors, rooms))
    address = f"{road}{number}弄" if kind.on_lane else f"{road}{number}号"
    name = _compound_name(kind_name, road, number, rng, used_names)
    built = rng.randint(*kind.built)
    has_committee = kind_name in ("estate", "tower") or rng.random() < 0.85
    committee_head = people.full_name(rng.choice("MF"), rng.randint(1950, 1975))
    manager = people.full_name(rng.choice("MF"), rng.randint(1970, 1995))
    return CompoundPlan(
        name=name,
        kind=kind_name,
        address=address,
        built_year=built,
        owners_committee=f"{name}业主委员会" if has_committee else "",
        owners_committee_contact=f"{committee_head} {people.mobile()}" if has_committee else "",
        property_company=rng.choice(ref.PROPERTY_COMPANIES),
        property_contact=f"{manager} {people.mobile()}",
        buildings=buildings,
    )


def _compound_name(kind: str, road: str, number: int, rng: random.Random, used: set[str]) -> str:
    """A made-up but typical name; the road-and-lane name (常德路548弄小区) is unique by construction."""
    fallback = f"{road}{number}弄小区" if kind != "tower" else f"{road}{number}号大楼"
    if kind == "lilong":
        name = rng.choice(ref.LILONG_WORDS) + rng.choice(ref.LILONG_SUFFIXES)
    elif kind == "new_village":
        name = f"{rng.choice(ref.NEW_VILLAGE_WORDS)}新村" if rng.random() < 0.3 else fallback
    elif kind == "estate":
        name = rng.choice(ref.ESTATE_PATTERNS).format(rng.choice(ref.ESTATE_WORDS))
    else:
        name = rng.choice(ref.TOWER_PATTERNS).format(rng.choice(ref.TOWER_WORDS))
    if name in used:
        name = fallback
    used.add(name)
    return name


def _lay_out(plan: AreaPlan, rng: random.Random) -> None:
    """Place compounds on a grid of slots over the patch and buildings on a grid inside each slot."""
    count = len(plan.compounds)
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    for index, compound in enumerate(plan.compounds):
        row, column = divmod(index, columns)
        slot = plan.patch.inner(column / columns, row / rows, (column + 1) / columns, (row + 1) / rows)
        slot = slot.inner(0.08, 0.08, 0.92, 0.92)
        compound.lat, compound.lng = slot.point(0.5, 0.5)
        compound.sub_grid = index * plan.sub_grids // count
        inner_columns = math.ceil(math.sqrt(len(compound.buildings)))
        inner_rows = math.ceil(len(compound.buildings) / inner_columns)
        for number, building in enumerate(compound.buildings):
            brow, bcol = divmod(number, inner_columns)
            building.lat, building.lng = slot.point(
                (bcol + rng.uniform(0.3, 0.7)) / inner_columns, (brow + rng.uniform(0.3, 0.7)) / inner_rows
            )


def _plan_patrol_sites(
    plan: AreaPlan, rng: random.Random, book: AddressBook, roads: tuple[str, ...]
) -> list[PatrolSitePlan]:
    sites: list[PatrolSitePlan] = []
    counts = dict.fromkeys((PATROL_STAIRWELL, PATROL_BICYCLES, PATROL_GARBAGE), 0)

    def add(type_name: str, name: str, address: str, index: int, near: BuildingPlan | CompoundPlan) -> None:
        if counts[type_name] >= MAX_SITES_PER_TYPE:
            return
        counts[type_name] += 1
        lat, lng = near.lat + rng.uniform(-0.00012, 0.00012), near.lng + rng.uniform(-0.00012, 0.00012)
        lat = min(max(lat, plan.patch.south), plan.patch.north)
        lng = min(max(lng, plan.patch.west), plan.patch.east)
        sites.append(PatrolSitePlan(type_name, name, address, round(lat, 6), round(lng, 6), index))

    for index, compound in enumerate(plan.compounds):
        building = rng.choice(compound.buildings)
        where = f"{building.road}{building.lane}弄{building.number}号" if building.lane else compound.address
        stair_name = f"{compound.name}{building.number}号楼道" if building.lane else f"{compound.name}楼道"
        add(PATROL_STAIRWELL, stair_name, where, index, building)
        if compound.household_count >= 30 or rng.random() < 0.5:
            add(PATROL_GARBAGE, f"{compound.name}垃圾厢房", compound.address, index, compound)
        if compound.kind != "lilong" or rng.random() < 0.4:
            add(PATROL_BICYCLES, f"{compound.name}非机动车棚", compound.address, index, compound)
    for _ in range(rng.randint(2, 4)):
        road = rng.choice(roads)
        first = book.take(road, plan.area, rng)
        last = max(first, *(book.take(road, plan.area, rng, parity=first % 2) for _ in range(3)))
        lat, lng = plan.patch.point(rng.uniform(0.05, 0.95), rng.uniform(0.05, 0.95))
        address = f"{road}{first}-{last}号"
        sites.append(PatrolSitePlan(PATROL_SHOPS, f"{address}沿街商铺", address, lat, lng, None))
    return sites
