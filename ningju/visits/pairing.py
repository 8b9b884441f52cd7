"""走访包联: who may pair, the workload of each building and patrol site, the automatic proposal, and the writes.

The proposal balances each cadre's yearly visits (a weekly household counts 52, a monthly one 12, a yearly one 1)
and keeps each cadre's buildings together on the map: the area's buildings and patrol sites are put in one
line that follows space (an angular sweep around the office, or a Hilbert curve), and that line is cut into
contiguous pieces of equal weight. Several lines are tried and the most compact cut wins. Pieces go to the cadres
who already hold most of them, so re-running the proposal moves as little as possible.
"""

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ningju.core import scoping
from ningju.core.errors import ApplicationError
from ningju.core.models import Role, User
from ningju.registry.models import Building, Household, PatrolSite, ResidentialArea
from ningju.visits.models import Interval, Pairing
from ningju.visits.rules import RuleBook, household_tag_ids, site_requirements

VISITS_PER_YEAR = {Interval.WEEK: 52, Interval.MONTH: 12, Interval.YEAR: 1}
BUILDING, SITE = "b", "s"
SWEEP_STARTS = 12  # angles the sweep may start from; the largest empty sector is always among the candidates
BALANCE_SLACK = 0.05  # a cut this much less balanced than the best one may still win by being more compact

ItemKey = tuple[str, int]  # (BUILDING or SITE, pk)


def can_manage_pairing(user: User, area: ResidentialArea) -> bool:
    """The area's own head and the street administrator pair cadres; cadres and other areas only read."""
    if not (getattr(user, "is_authenticated", False) and user.is_active):
        return False
    if user.role == Role.STREET_ADMIN:
        return user.street_id == area.street_id
    return user.role == Role.AREA_HEAD and user.area_id == area.pk


def require_manage_pairing(user: User, area: ResidentialArea) -> None:
    if not can_manage_pairing(user, area):
        raise PermissionDenied(_("只有本居民区书记/主任或街道管理员可以调整走访包联。"))


def area_cadres(area: ResidentialArea) -> list[User]:
    """The cadres who can be paired: active users with the cadre role in the area."""
    return list(User.objects.filter(area=area, role=Role.CADRE, is_active=True).order_by("username"))


@dataclass(frozen=True, slots=True)
class Item:
    """A building or a patrol site with its place and its yearly visits."""

    kind: str
    pk: int
    lat: float
    lng: float
    weight: float

    @property
    def key(self) -> ItemKey:
        return (self.kind, self.pk)


def area_items(area: ResidentialArea, book: RuleBook | None = None) -> list[Item]:
    """Every building and active patrol site of the area with its due visits per year (four queries)."""
    book = book or RuleBook(area.street)
    households = list(
        Household.objects.filter(building__compound__area=area).values_list("pk", "building_id").order_by("pk")
    )
    tags = household_tag_ids(pk for pk, _building in households)
    weights: dict[int, float] = defaultdict(float)
    for pk, building_id in households:
        requirement = book.household(tags.get(pk, ()))
        if requirement is not None:
            weights[building_id] += VISITS_PER_YEAR[Interval(requirement.interval)]
    items = [
        Item(BUILDING, pk, lat, lng, weights.get(pk, 0.0))
        for pk, lat, lng in Building.objects.filter(compound__area=area)
        .values_list("pk", "lat", "lng")
        .order_by("pk")
    ]
    sites = list(PatrolSite.objects.filter(area=area, active=True).order_by("pk"))
    requirements = site_requirements(book, sites)
    for site in sites:
        requirement = requirements.get(site.pk)
        weight = VISITS_PER_YEAR[Interval(requirement.interval)] if requirement else 0
        items.append(Item(SITE, site.pk, site.lat, site.lng, float(weight)))
    return items


@dataclass(slots=True)
class Share:
    """One cadre's part of a proposal."""

    building_ids: list[int] = field(default_factory=list)
    site_ids: list[int] = field(default_factory=list)
    weight: float = 0.0


@dataclass(slots=True)
class Proposal:
    area: ResidentialArea
    shares: dict[int, Share]  # cadre id → share

    def assignment(self) -> dict[ItemKey, int]:
        """(kind, pk) → cadre id, the form `pairing_apply` takes."""
        result: dict[ItemKey, int] = {}
        for cadre_id, share in self.shares.items():
            result.update({(BUILDING, pk): cadre_id for pk in share.building_ids})
            result.update({(SITE, pk): cadre_id for pk in share.site_ids})
        return result


def propose_pairings(
    area: ResidentialArea, *, exclude: Iterable[int] = (), book: RuleBook | None = None
) -> Proposal:
    """A balanced, compact split of the area's buildings and patrol sites among its cadres (minus `exclude`,
    e.g. a cadre who is leaving). Writes nothing."""
    excluded = set(exclude)
    cadres = [c for c in area_cadres(area) if c.pk not in excluded]
    if not cadres:
        raise ApplicationError(_("%(area)s没有在岗的居民区干部，无法分配包联。") % {"area": area.name})
    items = area_items(area, book)
    office = (
        (area.office_lat, area.office_lng) if area.office_lat is not None and area.office_lng is not None else None
    )
    chunks = split_items(items, len(cadres), office)
    current = dict(
        ((BUILDING, b) if b else (SITE, s), cadre)
        for b, s, cadre in Pairing.objects.current()
        .filter(area=area)
        .values_list("building_id", "patrol_site_id", "cadre_id")
    )
    owners = match_chunks(chunks, [c.pk for c in cadres], current)
    shares = {cadre.pk: Share() for cadre in cadres}
    for chunk, cadre_id in zip(chunks, owners, strict=True):
        share = shares[cadre_id]
        for item in chunk:
            (share.building_ids if item.kind == BUILDING else share.site_ids).append(item.pk)
            share.weight += item.weight
    return Proposal(area=area, shares=shares)


# --- the geometry of the proposal: pure functions on items -----------------------------------------------------


def to_metres(places: Iterable[tuple[float, float]], origin: tuple[float, float]) -> list[tuple[float, float]]:
    """(lat, lng) pairs as flat coordinates in metres from `origin` (x east, y north): an area is small enough
    for an equirectangular map."""
    lat0, lng0 = origin
    kx = 111_320.0 * math.cos(math.radians(lat0))
    return [((lng - lng0) * kx, (lat - lat0) * 110_574.0) for lat, lng in places]


def hilbert_index(x: int, y: int, order: int = 16) -> int:
    """Position of cell (x, y) along a Hilbert curve over a 2^order grid: near positions are near cells."""
    d, s = 0, 1 << (order - 1)
    while s > 0:
        rx = 1 if x & s else 0
        ry = 1 if y & s else 0
        d += s * s * ((3 * rx) ^ ry)
        if ry == 0:
            if rx == 1:
                x, y = s - 1 - x, s - 1 - y
            x, y = y, x
        s >>= 1
    return d


def _hilbert_orders(points: list[tuple[float, float]]) -> list[list[int]]:
    if not points:
        return []
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1.0)
    scale = ((1 << 16) - 1) / span
    cells = [(int((x - min(xs)) * scale), int((y - min(ys)) * scale)) for x, y in points]
    top = (1 << 16) - 1
    # The curve's seams fall differently in each of its four orientations; one of them usually suits the area.
    turns: list[Callable[[int, int], tuple[int, int]]] = [
        lambda x, y: (x, y),
        lambda x, y: (y, top - x),
        lambda x, y: (top - x, top - y),
        lambda x, y: (top - y, x),
    ]
    orders = []
    for turn in turns:
        positions = [hilbert_index(*turn(*cell)) for cell in cells]
        orders.append(sorted(range(len(points)), key=positions.__getitem__))
    return orders


def _sweep_orders(points: list[tuple[float, float]], centre: tuple[float, float]) -> list[list[int]]:
    """Angular sweeps around the office (the classic sweep of vehicle routing): each piece is a sector."""
    if not points:
        return []
    angles = [math.atan2(y - centre[1], x - centre[0]) % math.tau for x, y in points]
    by_angle = sorted(range(len(points)), key=lambda i: (angles[i], math.dist(points[i], centre)))
    starts = {0}
    if len(by_angle) > 1:  # start just after the widest empty sector, so no piece straddles it
        gaps = [
            ((angles[by_angle[(n + 1) % len(by_angle)]] - angles[by_angle[n]]) % math.tau, n + 1)
            for n in range(len(by_angle))
        ]
        starts.add(max(gaps)[1] % len(by_angle))
    starts.update(len(by_angle) * n // SWEEP_STARTS for n in range(SWEEP_STARTS))
    return [by_angle[s:] + by_angle[:s] for s in sorted(starts)]


def cut_balanced(weights: Sequence[float], parts: int) -> list[int]:
    """Boundaries b_0=0 ≤ … ≤ b_parts=len cutting `weights` into `parts` contiguous runs of near-equal sums.
    Each cut goes where the running sum is nearest its share; a run is never empty while items remain."""
    n = len(weights)
    if sum(weights) <= 0:  # nothing is due anywhere (no active rules): share the places out evenly instead
        weights = [1.0] * n
    total = sum(weights)
    running = [0.0]
    for w in weights:
        running.append(running[-1] + w)
    bounds = [0]
    for part in range(1, parts):
        target = total * part / parts
        low = bounds[-1] + (1 if bounds[-1] < n - (parts - part) else 0)
        high = max(low, n - (parts - part))
        best = min(range(low, high + 1), key=lambda b: (abs(running[b] - target), b))
        bounds.append(best)
    bounds.append(n)

    # Cutting at each share in turn can leave the last run off by the sum of earlier errors: nudge boundaries
    # one item at a time while that evens the runs out.
    def score(b: list[int]) -> tuple[float, float]:
        sums = [running[b[i + 1]] - running[b[i]] for i in range(parts)]
        return imbalance(sums), sum(abs(s - total / parts) for s in sums)

    current = score(bounds)
    for _pass in range(2 * n):
        improved = False
        for i in range(1, parts):
            for step in (-1, 1):
                moved = bounds[i] + step
                # Runs may only be empty when there are fewer items than parts.
                gap = 0 if n < parts else 1
                if not bounds[i - 1] + gap <= moved <= bounds[i + 1] - gap:
                    continue
                trial = [*bounds[:i], moved, *bounds[i + 1 :]]
                if (trial_score := score(trial)) < current:
                    bounds, current, improved = trial, trial_score, True
        if not improved:
            break
    return bounds


def spread(points: Sequence[tuple[float, float]]) -> float:
    """Mean distance from the centroid, in metres: how far apart a cadre's places are."""
    if not points:
        return 0.0
    cx = sum(p[0] for p in points) / len(points)
    cy = sum(p[1] for p in points) / len(points)
    return sum(math.dist(p, (cx, cy)) for p in points) / len(points)


def imbalance(sums: Sequence[float]) -> float:
    """The largest deviation of a part's weight from the mean, relative to the mean (0 = perfectly even)."""
    mean = sum(sums) / len(sums) if sums else 0.0
    return max(abs(s - mean) for s in sums) / mean if mean > 0 else 0.0


def split_items(items: Sequence[Item], parts: int, office: tuple[float, float] | None = None) -> list[list[Item]]:
    """`items` cut into `parts` balanced, compact groups (see the module docstring)."""
    if parts <= 0:
        raise ValueError("parts must be positive")
    if not items:
        return [[] for _part in range(parts)]
    origin = (sum(i.lat for i in items) / len(items), sum(i.lng for i in items) / len(items))
    points = to_metres(((i.lat, i.lng) for i in items), origin)
    # Walks start at the office, so sectors radiate from it; without one, from the middle of the area.
    centre = to_metres([office], origin)[0] if office else (0.0, 0.0)
    candidates: list[tuple[float, float, list[list[int]]]] = []
    for order in (*_sweep_orders(points, centre), *_hilbert_orders(points)):
        bounds = cut_balanced([items[i].weight for i in order], parts)
        groups = [order[bounds[n] : bounds[n + 1]] for n in range(parts)]
        sums = [sum(items[i].weight for i in g) for g in groups]
        compactness = sum(spread([points[i] for i in g]) * len(g) for g in groups) / len(items)
        candidates.append((imbalance(sums), compactness, groups))
    best_balance = min(c[0] for c in candidates)
    _balance, _compactness, groups = min(
        (c for c in candidates if c[0] <= best_balance + BALANCE_SLACK), key=lambda c: (c[1], c[0])
    )
    return [[items[i] for i in g] for g in groups]


def match_chunks(
    chunks: Sequence[Sequence[Item]], cadre_ids: Sequence[int], current: Mapping[ItemKey, int]
) -> list[int]:
    """The cadre for each chunk: greedily the pair with the most current pairings (by weight, then count) in
    common, so an unchanged area stays unchanged; the rest in order."""
    overlap: list[tuple[float, int, int, int]] = []
    for n, chunk in enumerate(chunks):
        held: dict[int, list[float]] = defaultdict(lambda: [0.0, 0])
        for item in chunk:
            owner = current.get(item.key)
            if owner is not None:
                held[owner][0] += item.weight
                held[owner][1] += 1
        overlap.extend((w, int(c), n, owner) for owner, (w, c) in held.items() if owner in cadre_ids)
    owners: dict[int, int] = {}
    taken: set[int] = set()
    for _w, _c, n, owner in sorted(overlap, key=lambda o: (-o[0], -o[1], o[2], o[3])):
        if n not in owners and owner not in taken:
            owners[n] = owner
            taken.add(owner)
    free = iter(c for c in cadre_ids if c not in taken)
    return [owners[n] if n in owners else next(free) for n in range(len(chunks))]


# --- writes ------------------------------------------------------------------------------------------------------


def _check_assignment(area: ResidentialArea, assignment: Mapping[ItemKey, int]) -> None:
    building_ids = {pk for kind, pk in assignment if kind == BUILDING}
    site_ids = {pk for kind, pk in assignment if kind == SITE}
    cadre_ids = set(assignment.values())
    if building_ids - set(
        Building.objects.filter(compound__area=area, pk__in=building_ids).values_list("pk", flat=True)
    ):
        raise ApplicationError(_("有楼栋不属于%(area)s，未做任何修改。") % {"area": area.name})
    if site_ids - set(PatrolSite.objects.filter(area=area, pk__in=site_ids).values_list("pk", flat=True)):
        raise ApplicationError(_("有巡查点不属于%(area)s，未做任何修改。") % {"area": area.name})
    valid = set(
        User.objects.filter(area=area, role=Role.CADRE, is_active=True, pk__in=cadre_ids).values_list(
            "pk", flat=True
        )
    )
    if cadre_ids - valid:
        raise ApplicationError(_("只能包联给%(area)s的在岗干部，未做任何修改。") % {"area": area.name})


@transaction.atomic
def pairing_apply(
    *, user: User | None, area: ResidentialArea, assignment: Mapping[ItemKey, int], today: date | None = None
) -> int:
    """Pair each (kind, pk) with its cadre from today. A place whose cadre changes gets its current pairing
    ended today and a new one started, so the history keeps who was responsible when; unchanged places keep
    their pairing. `user=None` is the demo builder. Returns how many places changed hands."""
    if user is not None:
        require_manage_pairing(user, area)
    _check_assignment(area, assignment)
    today = today or timezone.localdate()
    current = {
        ((BUILDING, p.building_id) if p.building_id else (SITE, p.patrol_site_id or 0)): p
        for p in Pairing.objects.current().filter(area=area).select_for_update()
    }
    ending = [
        current[key].pk for key, cadre in assignment.items() if key in current and current[key].cadre_id != cadre
    ]
    starting = [
        Pairing(
            area=area,
            cadre_id=cadre,
            building_id=pk if kind == BUILDING else None,
            patrol_site_id=pk if kind == SITE else None,
            started_on=today,
            created_by=user,
        )
        for (kind, pk), cadre in sorted(assignment.items())
        if _changes_hands(current, (kind, pk), cadre)
    ]
    # End first: the database allows one current pairing per building and site.
    Pairing.objects.filter(pk__in=ending).update(ended_on=today)
    Pairing.objects.bulk_create(starting)
    return len(starting)


def _changes_hands(current: Mapping[ItemKey, Pairing], key: ItemKey, cadre_id: int) -> bool:
    pairing = current.get(key)
    return pairing is None or pairing.cadre_id != cadre_id


def pairing_hand_over(
    *, user: User, area: ResidentialArea, leaving: User, successor: User, today: date | None = None
) -> int:
    """干部离岗: everything `leaving` holds now passes to `successor` from today (history kept)."""
    require_manage_pairing(user, area)
    if leaving.pk == successor.pk:
        raise ApplicationError(_("接手的干部不能是离岗干部本人。"))
    held = Pairing.objects.current().filter(area=area, cadre=leaving)
    assignment = {
        ((BUILDING, b) if b else (SITE, s or 0)): successor.pk
        for b, s in held.values_list("building_id", "patrol_site_id")
    }
    if not assignment:
        raise ApplicationError(_("%(name)s目前没有包联的楼栋或巡查点。") % {"name": leaving.display_name})
    return pairing_apply(user=user, area=area, assignment=assignment, today=today)


# --- reads for the pairing page ------------------------------------------------------------------------------


WORKDAYS_PER_YEAR = 250  # China has 248–251; the page shows an estimate, not a plan


@dataclass(slots=True)
class Workload:
    cadre: User
    buildings: int = 0
    sites: int = 0
    households: int = 0
    weight: float = 0.0

    @property
    def per_workday(self) -> float:
        """Due visits per working day the pairing asks of the cadre, on average."""
        return self.weight / WORKDAYS_PER_YEAR


@dataclass(slots=True)
class PairingRow:
    """One line of the pairing page: a building or patrol site, its current cadre and its pairing history."""

    kind: str
    pk: int
    label: str
    detail: str
    households: int
    weight: float
    cadre_id: int | None
    history: list[Pairing]
    lat: float
    lng: float

    @property
    def field_name(self) -> str:
        return f"{self.kind}-{self.pk}"


def pairing_rows(area: ResidentialArea, book: RuleBook | None = None) -> list[PairingRow]:
    """Buildings (by compound and address) then patrol sites, with current cadre, weight and history."""
    weights = {item.key: item.weight for item in area_items(area, book)}
    history: dict[ItemKey, list[Pairing]] = defaultdict(list)
    for p in (
        Pairing.objects.filter(area=area).select_related("cadre", "created_by").order_by("-started_on", "-pk")
    ):
        history[(BUILDING, p.building_id) if p.building_id else (SITE, p.patrol_site_id or 0)].append(p)

    def current(key: ItemKey) -> int | None:
        return next((p.cadre_id for p in history.get(key, []) if p.ended_on is None), None)

    buildings = (
        Building.objects.filter(compound__area=area)
        .select_related("compound")
        .annotate(household_count=Count("households"))
        .order_by("compound__name", "road", "lane", "number")
    )
    rows = [
        PairingRow(
            BUILDING,
            b.pk,
            b.address,
            b.compound.name,
            b.household_count,
            weights.get((BUILDING, b.pk), 0.0),
            current((BUILDING, b.pk)),
            history.get((BUILDING, b.pk), []),
            b.lat,
            b.lng,
        )
        for b in buildings
    ]
    sites = (
        PatrolSite.objects.filter(area=area, active=True).select_related("site_type").order_by("site_type", "name")
    )
    rows.extend(
        PairingRow(
            SITE,
            s.pk,
            s.name,
            s.site_type.name,
            0,
            weights.get((SITE, s.pk), 0.0),
            current((SITE, s.pk)),
            history.get((SITE, s.pk), []),
            s.lat,
            s.lng,
        )
        for s in sites
    )
    return rows


def workloads(cadres: Sequence[User], rows: Iterable[PairingRow]) -> list[Workload]:
    """Per cadre: places, households and due visits per year of their current pairings (from the page rows)."""
    loads = {c.pk: Workload(c) for c in cadres}
    for row in rows:
        load = loads.get(row.cadre_id) if row.cadre_id is not None else None
        if load is None:
            continue
        if row.kind == BUILDING:
            load.buildings += 1
            load.households += row.households
        else:
            load.sites += 1
        load.weight += row.weight
    return list(loads.values())


def rows_under(proposal: Proposal, rows: Iterable[PairingRow]) -> list[PairingRow]:
    """The pairing page's rows as they would be if the proposal were accepted (history left out)."""
    assignment = proposal.assignment()
    return [replace(r, cadre_id=assignment.get((r.kind, r.pk)), history=[]) for r in rows]


def proposal_workloads(proposal: Proposal, cadres: Sequence[User], rows: Iterable[PairingRow]) -> list[Workload]:
    """The workloads the proposal would give, for the preview."""
    return workloads([c for c in cadres if c.pk in proposal.shares], rows_under(proposal, rows))


@dataclass(slots=True)
class AreaPairingSummary:
    area: ResidentialArea
    cadres: int
    paired_buildings: int
    buildings: int


def areas_for_pairing(user: User) -> list[AreaPairingSummary]:
    """The areas a user may open the pairing page of, with cadres and paired buildings (three queries)."""
    areas = list(
        scoping.visible(user, ResidentialArea.objects.all())
        .annotate(
            cadre_count=Count("users", filter=Q(users__role=Role.CADRE, users__is_active=True), distinct=True),
            building_count=Count("compounds__buildings", distinct=True),
        )
        .order_by("code")
    )
    paired = dict(
        Pairing.objects.current()
        .filter(area__in=areas, building__isnull=False)
        .values("area")
        .annotate(n=Count("pk"))
        .values_list("area", "n")
    )
    return [AreaPairingSummary(a, a.cadre_count, paired.get(a.pk, 0), a.building_count) for a in areas]
