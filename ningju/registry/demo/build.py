"""Writing the demo street to the database in batches, with a "created" history entry per household and resident,
and the demo accounts; also deleting it again for `ningju demo --reset`.
"""

import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ningju.core.errors import ApplicationError
from ningju.core.models import Role, User
from ningju.registry.demo import reference as ref
from ningju.registry.demo.neighbour import neighbour_build
from ningju.registry.demo.people import HouseholdDraft, IdIssuer, PeopleMaker
from ningju.registry.demo.places import AddressBook, AreaPlan, area_quotas, plan_area
from ningju.registry.models import (
    Building,
    Compound,
    Department,
    Grid,
    Household,
    PatrolSite,
    PatrolSiteType,
    Resident,
    ResidentialArea,
    Street,
    Tag,
)
from ningju.registry.services import street_create

DEFAULT_SEED = 2023
DEFAULT_HOUSEHOLDS = 20_000
BATCH_SIZE = 2000  # households per write: bounds memory at any size, big enough that SQL round trips stay few
HISTORY_REASON = "演示数据生成"

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class AccountPlan:
    username: str
    full_name: str
    role: str
    phone: str
    area_code: str = ""
    department_slug: str = ""


@dataclass(slots=True)
class DemoAccounts:
    """The demo accounts in the database, by role; all share `settings.NINGJU_DEMO_PASSWORD`."""

    street_admins: list[str] = field(default_factory=list)
    area_heads: list[str] = field(default_factory=list)
    cadres: list[str] = field(default_factory=list)
    liaisons: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.street_admins or self.area_heads or self.cadres or self.liaisons)


@dataclass(slots=True)
class DemoResult:
    counts: dict[str, int]
    tag_counts: dict[str, int]
    seconds: float
    missing: list[str]  # default tags or patrol site types not found by name (renamed by an administrator)
    neighbour: dict[str, int] = field(default_factory=dict)  # counts of the second street, where one was built


def plan_accounts(seed: int, today: date) -> list[AccountPlan]:
    """`admin`, `head-NNN` and `cadre-NNN-K` for every area (6–8 cadres each), `dept-<slug>` per department."""
    rng = random.Random(f"{seed}:accounts")
    people = PeopleMaker(rng, today)
    year = today.year

    def name(gender: str, low: int, high: int) -> str:
        return people.full_name(gender, year - rng.randint(low, high))

    plans = [AccountPlan("admin", name(rng.choice("MF"), 35, 50), Role.STREET_ADMIN, people.mobile())]
    for area in ref.AREAS:
        short = area.code[-3:]
        gender = "F" if rng.random() < 0.7 else "M"
        plans.append(
            AccountPlan(f"head-{short}", name(gender, 40, 56), Role.AREA_HEAD, people.mobile(), area.code)
        )
        for number in range(1, rng.randint(6, 8) + 1):
            gender = "F" if rng.random() < 0.75 else "M"
            plans.append(
                AccountPlan(
                    f"cadre-{short}-{number}", name(gender, 24, 55), Role.CADRE, people.mobile(), area.code
                )
            )
    for _name, slug in ref.DEPARTMENTS:
        plans.append(
            AccountPlan(f"dept-{slug}", name(rng.choice("MF"), 28, 55), Role.LIAISON, people.mobile(), "", slug)
        )
    return plans


def demo_accounts() -> DemoAccounts:
    """The demo accounts that exist now (for the summary, and for `--if-empty`, which builds nothing)."""
    accounts = DemoAccounts()
    demo_names = (
        Q(username="admin")
        | Q(username__startswith="admin-")
        | Q(username__startswith="head-")
        | Q(username__startswith="cadre-")
        | Q(username__startswith="dept-")
    )
    by_role = {
        Role.STREET_ADMIN: accounts.street_admins,
        Role.AREA_HEAD: accounts.area_heads,
        Role.CADRE: accounts.cadres,
        Role.LIAISON: accounts.liaisons,
    }
    for username, role in User.objects.filter(demo_names, is_active=True).values_list("username", "role"):
        if role in by_role:
            by_role[Role(role)].append(username)
    for names in by_role.values():
        names.sort(key=_natural_key)
    return accounts


def _natural_key(username: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in username.split("-")]


def demo_build(
    *,
    seed: int = DEFAULT_SEED,
    households: int = DEFAULT_HOUSEHOLDS,
    today: date | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
    streets: int = 1,
) -> DemoResult:
    """Build 江宁路街道 with its 16 areas, `households` households and the demo accounts, in one transaction;
    with `streets=2` also its small neighbour 石门二路街道 (`neighbour.py`), each street with its own configuration.
    The same seed (and day) gives the same street. Refuses in production, and if the street or a demo username
    already exists."""
    if settings.PRODUCTION:
        # Demo accounts share a published password: they must never exist on a production server.
        raise ApplicationError(_("生产环境（NINGJU_ENV=production）不能生成演示数据和演示账号。"))
    if streets not in (1, 2):
        raise ApplicationError(_("街道数只能是1或2。"))
    if households < len(ref.AREAS):
        raise ApplicationError(_("户数至少为%(n)d（每个居民区至少1户）。") % {"n": len(ref.AREAS)})
    if Street.objects.filter(code=ref.STREET_CODE).exists():
        raise ApplicationError(
            _("%(name)s（%(code)s）已存在。") % {"name": ref.STREET_NAME, "code": ref.STREET_CODE}
        )
    today = today or timezone.localdate()
    accounts = plan_accounts(seed, today)
    taken = sorted(
        User.objects.filter(username__in=[a.username for a in accounts]).values_list("username", flat=True)
    )
    if taken:
        raise ApplicationError(_("这些用户名已被占用，无法创建演示账号：%(names)s") % {"names": "、".join(taken)})
    started = time.perf_counter()
    with transaction.atomic():
        writer = _Writer(seed=seed, today=today, batch_size=batch_size, progress=progress)
        writer.write(households, accounts)
        neighbour: dict[str, int] = {}
        if streets == 2:
            other = _Writer(seed=seed, today=today, batch_size=batch_size, progress=progress)
            other.ids = writer.ids  # no ID number repeats across the two streets
            neighbour = neighbour_build(
                seed=seed, today=today, ids=writer.ids, write_households=other.write_households
            )
            neighbour.update(households=other.counts["households"], residents=other.counts["residents"])
    return DemoResult(
        counts=dict(writer.counts),
        tag_counts=dict(writer.tag_counts),
        seconds=time.perf_counter() - started,
        missing=writer.missing,
        neighbour=neighbour,
    )


class _Writer:
    """Streams the street into the database: one area at a time, households in batches."""

    def __init__(self, *, seed: int, today: date, batch_size: int, progress: Progress | None) -> None:
        self.seed = seed
        self.today = today
        self.batch_size = batch_size
        self.progress = progress or (lambda message: None)
        self.counts: Counter[str] = Counter()
        self.tag_counts: Counter[str] = Counter()
        self.ids = IdIssuer()
        self.book = AddressBook()
        self.compound_names: set[str] = set()
        self.tags: dict[str, int] = {}
        self.site_types: dict[str, int] = {}
        self.missing: list[str] = []
        self.history_date = timezone.now()
        self._pending: list[tuple[int, HouseholdDraft]] = []

    def write(self, households: int, accounts: list[AccountPlan]) -> None:
        # The sub-district office stands on 江宁路, in 永乐's stretch of it.
        yongle = next(area for area in ref.AREAS if area.name == "永乐")
        office = self.book.take("江宁路", yongle, random.Random(f"{self.seed}:office"))
        # A new street comes with its own copy of the default tags, patrol site types, categories and rules.
        street = street_create(code=ref.STREET_CODE, name=ref.STREET_NAME, office_address=f"江宁路{office}号")
        tag_names = (*ref.HOUSEHOLD_TAGS, *ref.RESIDENT_TAGS)
        self.tags = {tag.name: tag.pk for tag in Tag.objects.filter(street=street, name__in=tag_names)}
        self.site_types = {t.name: t.pk for t in PatrolSiteType.objects.filter(street=street)}
        self.missing = [name for name in tag_names if name not in self.tags]
        areas = ResidentialArea.objects.bulk_create(
            ResidentialArea(street=street, code=area.code, name=area.name) for area in ref.AREAS
        )
        departments = Department.objects.bulk_create(
            Department(street=street, name=name, slug=slug, phone=self._landline(slug))
            for name, slug in ref.DEPARTMENTS
        )
        grids = Grid.objects.bulk_create(Grid(street=street, name=name) for name in ref.GRID_NAMES)
        self.counts.update(street=1, areas=len(areas), departments=len(departments), grids=len(grids))
        self._write_accounts(street, {a.code: a for a in areas}, {d.slug: d for d in departments}, accounts)

        quotas = area_quotas(households, random.Random(f"{self.seed}:quotas"))
        for area_ref, area, quota in zip(ref.AREAS, areas, quotas, strict=True):
            places_rng = random.Random(f"{self.seed}:{area_ref.code}:places")
            plan = plan_area(
                area_ref,
                quota,
                places_rng,
                self.book,
                PeopleMaker(places_rng, self.today, self.ids),
                self.compound_names,
            )
            quadrant = (area_ref.row // 2) * 2 + area_ref.column // 2
            self._write_area(area, plan, grids[quadrant])
            self.progress(_("%(area)s：%(count)d户") % {"area": area.name, "count": quota})
        self._flush()

    def write_households(self, tags: dict[str, int], drafts: list[tuple[int, HouseholdDraft]]) -> None:
        """Write households of another street (the demo's neighbour) with that street's tags (name → id)."""
        self.tags = tags
        self._pending.extend(drafts)
        self._flush()

    def _landline(self, key: str) -> str:
        return PeopleMaker(random.Random(f"{self.seed}:{key}"), self.today).landline()

    def _write_accounts(
        self,
        street: Street,
        areas: dict[str, ResidentialArea],
        departments: dict[str, Department],
        accounts: list[AccountPlan],
    ) -> None:
        # One PBKDF2 hash for all: hashing 140 passwords one by one would take longer than the whole street.
        password = make_password(settings.NINGJU_DEMO_PASSWORD)
        users = []
        for plan in accounts:
            area = areas.get(plan.area_code)
            department = departments.get(plan.department_slug)
            admin = plan.role == Role.STREET_ADMIN
            users.append(
                User(
                    username=plan.username,
                    full_name=plan.full_name,
                    role=plan.role,
                    street=street,
                    area=area,
                    department=department,
                    phone=plan.phone,
                    password=password,
                    # The administrator also configures tags, rules and departments in the admin site.
                    is_staff=admin,
                    is_superuser=admin,
                )
            )
        User.objects.bulk_create(users)
        self.counts["users"] = len(users)

    def _write_area(self, area: ResidentialArea, plan: AreaPlan, street_grid: Grid) -> None:
        area.office_address = plan.office_address
        area.office_lat, area.office_lng = plan.office_lat, plan.office_lng
        area.phone = plan.phone
        area.save(update_fields=["office_address", "office_lat", "office_lng", "phone"])
        sub_grids = Grid.objects.bulk_create(
            Grid(street=street_grid.street, parent=street_grid, name=f"{area.name}第{ref.CHINESE_ORDINALS[i]}次格")
            for i in range(plan.sub_grids)
        )
        compounds = Compound.objects.bulk_create(
            Compound(
                area=area,
                name=c.name,
                address=c.address,
                built_year=c.built_year,
                owners_committee=c.owners_committee,
                owners_committee_contact=c.owners_committee_contact,
                property_company=c.property_company,
                property_contact=c.property_contact,
            )
            for c in plan.compounds
        )
        buildings = Building.objects.bulk_create(
            Building(
                compound=compound,
                grid=sub_grids[c.sub_grid],
                road=b.road,
                lane=b.lane,
                number=b.number,
                floors=b.floors,
                lat=b.lat,
                lng=b.lng,
            )
            for compound, c in zip(compounds, plan.compounds, strict=True)
            for b in c.buildings
        )
        sites = PatrolSite.objects.bulk_create(
            PatrolSite(
                area=area,
                compound=compounds[s.compound] if s.compound is not None else None,
                site_type_id=self.site_types[s.type_name],
                name=s.name,
                address=s.address,
                lat=s.lat,
                lng=s.lng,
            )
            for s in plan.patrol_sites
            if s.type_name in self.site_types
        )
        for name in sorted({s.type_name for s in plan.patrol_sites} - set(self.site_types) - set(self.missing)):
            self.missing.append(name)
        self.counts.update(
            grids=len(sub_grids), compounds=len(compounds), buildings=len(buildings), patrol_sites=len(sites)
        )

        people = PeopleMaker(random.Random(f"{self.seed}:{area.code}:people"), self.today, self.ids)
        tenure_rng = random.Random(f"{self.seed}:{area.code}:tenure")
        building_iter = iter(buildings)
        for compound_plan in plan.compounds:
            tenures, weights = zip(*compound_plan.tenure_weights.items(), strict=True)
            for building_plan in compound_plan.buildings:
                building = next(building_iter)
                for room in building_plan.rooms:
                    tenure = tenure_rng.choices(tenures, weights)[0]
                    self._pending.append((building.pk, people.household(room, tenure)))
                    if len(self._pending) >= self.batch_size:
                        self._flush()

    def _flush(self) -> None:
        """Write the pending households with their residents, tags and "created" history rows."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        households = Household.objects.bulk_create(
            Household(building_id=building_id, room=d.room, tenure=d.tenure, notes=d.notes)
            for building_id, d in pending
        )
        # The plain ID and phone numbers are encrypted once each, on insert (their hash fields follow them), and
        # the history rows below reuse the same ciphertext.
        residents = Resident.objects.bulk_create(
            Resident(
                household_id=household.pk,
                name=p.name,
                gender=p.gender,
                birth_date=p.birth_date,
                id_number=p.id_number,
                phone=p.phone,
                relation=p.relation,
                notes=p.notes,
            )
            for household, (_building, draft) in zip(households, pending, strict=True)
            for p in draft.residents
        )
        drafts = [p for _building, draft in pending for p in draft.residents]
        household_tags = self._tag(Household, "household", households, (d for _b, d in pending))
        resident_tags = self._tag(Resident, "resident", residents, drafts)
        self._history(Household, "household", households, household_tags)
        self._history(Resident, "resident", residents, resident_tags)
        self.counts.update(households=len(households), residents=len(residents))

    def _tag(
        self, model: type[Household] | type[Resident], owner: str, objects: list[Any], drafts: Iterable[Any]
    ) -> list[Any]:
        through: Any = model.tags.through
        rows = []
        for obj, draft in zip(objects, drafts, strict=True):
            for name in draft.tags:
                if name in self.tags:
                    rows.append(through(**{f"{owner}_id": obj.pk, "tag_id": self.tags[name]}))
                    self.tag_counts[name] += 1
        return through.objects.bulk_create(rows)

    def _history(
        self, model: type[Household] | type[Resident], owner: str, objects: list[Any], tag_rows: list[Any]
    ) -> None:
        history = model.history.bulk_history_create(
            objects, default_date=self.history_date, default_change_reason=HISTORY_REASON
        )
        history_of = {obj.pk: row.pk for obj, row in zip(objects, history, strict=True)}
        # The tags as they were at creation, so a later change to them shows up as a change in the history.
        historical_tags = apps.get_model("registry", f"Historical{model.__name__}_tags")
        historical_tags.objects.bulk_create(
            historical_tags(
                id=row.pk,
                history_id=history_of[getattr(row, f"{owner}_id")],
                tag_id=row.tag_id,
                **{f"{owner}_id": getattr(row, f"{owner}_id")},
            )
            for row in tag_rows
        )


def demo_delete(code: str = ref.STREET_CODE) -> dict[str, int]:
    """Delete the demo street `code` (江宁路街道, or its neighbour) and everything in it, its users and the history
    of its households and residents.

    Households and residents go by plain SQL DELETE: deleting them through the ORM would write a "deleted" history
    row for each of them, which is the opposite of what a reset wants. Raises ProtectedError/IntegrityError when
    records of other modules (visits, demands …) still point at the street.
    """
    street = Street.objects.filter(code=code).first()
    if street is None:
        return {}
    deleted: Counter[str] = Counter()
    in_street = {"building__compound__area__street": street}
    households = Household.objects.filter(**in_street)
    residents = Resident.objects.filter(household__in=households)
    with transaction.atomic():
        for model, owner, queryset in (
            (Resident, "resident", residents),
            (Household, "household", households),
        ):
            historical = model.history.model
            historical_tags = apps.get_model("registry", f"Historical{model.__name__}_tags")
            history = historical.objects.filter(id__in=queryset.values("pk"))
            historical_tags.objects.filter(history__in=history.values("pk"))._raw_delete(
                historical_tags.objects.db
            )
            deleted[f"{owner}_history"] = history._raw_delete(history.db)
        deleted["resident_tags"] = Resident.tags.through.objects.filter(resident__in=residents).delete()[0]
        deleted["household_tags"] = Household.tags.through.objects.filter(household__in=households).delete()[0]
        deleted["residents"] = residents._raw_delete(residents.db)
        deleted["households"] = households._raw_delete(households.db)
        area_q = Q(area__street=street)
        PatrolSite.objects.filter(area_q).delete()
        Building.objects.filter(compound__area__street=street).delete()
        Compound.objects.filter(area_q).delete()
        User.objects.filter(Q(street=street) | area_q | Q(department__street=street)).delete()
        Grid.objects.filter(street=street, parent__isnull=False).delete()
        Grid.objects.filter(street=street).delete()
        Department.objects.filter(street=street).delete()
        ResidentialArea.objects.filter(street=street).delete()
        Tag.objects.filter(street=street).delete()  # the street's own configuration (its visit rules cascade)
        PatrolSiteType.objects.filter(street=street).delete()
        street.delete()
    return dict(deleted)
