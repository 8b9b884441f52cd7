"""The demo's second street (`ningju demo --streets 2`): 石门二路街道, a small neighbour south-east of 江宁路街道.

It exists to show that streets are separate: its own tags, categories, rules and departments (copied in by
`street_create`), its own administrator, a few areas with households. Its committees and numbers are invented and
kept small on purpose, so that building it takes a moment; it has no visits or demands.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.utils.translation import gettext as _

from ningju.core.errors import ApplicationError
from ningju.core.models import Role, User
from ningju.registry.demo.people import HouseholdDraft, IdIssuer, PeopleMaker
from ningju.registry.models import (
    Building,
    Compound,
    Department,
    PatrolSite,
    PatrolSiteType,
    ResidentialArea,
    Street,
    Tag,
    Tenure,
)

NEIGHBOUR_CODE = "310106013"
NEIGHBOUR_NAME = "石门二路街道"


@dataclass(frozen=True, slots=True)
class NeighbourArea:
    code: str
    name: str
    road: str
    lat: float  # the committee's office; buildings lie around it
    lng: float


# South-east of 江宁路街道's box and on roads the first street does not use, so no address repeats.
AREAS: tuple[NeighbourArea, ...] = (
    NeighbourArea("310106013001", "新福康里", "石门二路", 31.2318, 121.4612),
    NeighbourArea("310106013002", "华沁", "山海关路", 31.2302, 121.4640),
    NeighbourArea("310106013003", "张园", "大田路", 31.2286, 121.4625),
)
DEPARTMENTS = (("城管", "chengguan"), ("市场监管", "shichangjianguan"), ("房管", "fangguan"))
BUILDINGS_PER_AREA = 3
ROOMS = ("101", "102", "201", "202", "301")
STEP = 0.0004  # about 40 m between neighbouring buildings

# Writes (building id, household draft) pairs with their residents, tags (name → id) and history rows.
HouseholdWriter = Callable[[dict[str, int], list[tuple[int, HouseholdDraft]]], None]


def usernames() -> list[str]:
    """The neighbour's accounts: `admin-013`, and `head-013-NNN` and `cadre-013-NNN-1` per committee."""
    names = [f"admin-{NEIGHBOUR_CODE[-3:]}"]
    for area in AREAS:
        names += [
            f"head-{NEIGHBOUR_CODE[-3:]}-{area.code[-3:]}",
            f"cadre-{NEIGHBOUR_CODE[-3:]}-{area.code[-3:]}-1",
        ]
    return names


def neighbour_build(*, seed: int, today: date, ids: IdIssuer, write_households: HouseholdWriter) -> dict[str, int]:
    """Write the neighbour street (call inside the demo's transaction, with its ID issuer so that no ID number
    repeats across the two streets, and its household writer). Returns counts by kind, households excepted (the
    writer counts those)."""
    if Street.objects.filter(code=NEIGHBOUR_CODE).exists():
        raise ApplicationError(
            _("%(name)s（%(code)s）已存在。") % {"name": NEIGHBOUR_NAME, "code": NEIGHBOUR_CODE}
        )
    taken = sorted(User.objects.filter(username__in=usernames()).values_list("username", flat=True))
    if taken:
        raise ApplicationError(_("这些用户名已被占用，无法创建演示账号：%(names)s") % {"names": "、".join(taken)})
    from ningju.registry.services import street_create

    street = street_create(code=NEIGHBOUR_CODE, name=NEIGHBOUR_NAME, office_address="石门二路18号")
    rng = random.Random(f"{seed}:{NEIGHBOUR_CODE}")
    people = PeopleMaker(rng, today, ids)
    tags = {tag.name: tag.pk for tag in Tag.objects.filter(street=street)}
    garbage_room = PatrolSiteType.objects.filter(street=street, name="垃圾厢房").first()
    departments = Department.objects.bulk_create(
        Department(street=street, name=name, slug=slug, phone=people.landline()) for name, slug in DEPARTMENTS
    )
    counts = {"areas": 0, "compounds": 0, "buildings": 0, "patrol_sites": 0}
    password = make_password(settings.NINGJU_DEMO_PASSWORD)
    short = NEIGHBOUR_CODE[-3:]
    users = [
        User(
            username=f"admin-{short}",
            full_name=people.full_name(rng.choice("MF"), today.year - 45),
            role=Role.STREET_ADMIN,
            street=street,
            phone=people.mobile(),
            password=password,
        )
    ]
    drafts: list[tuple[int, HouseholdDraft]] = []
    for area_ref in AREAS:
        area = ResidentialArea.objects.create(
            street=street,
            code=area_ref.code,
            name=area_ref.name,
            office_address=f"{area_ref.road}{rng.randint(1, 60) * 2}号",
            office_lat=area_ref.lat,
            office_lng=area_ref.lng,
            phone=people.landline(),
        )
        compound = Compound.objects.create(area=area, name=f"{area_ref.name}小区", property_company="静安物业")
        buildings = Building.objects.bulk_create(
            Building(
                compound=compound,
                road=area_ref.road,
                lane=str(100 + rng.randint(0, 40) * 2),
                number=str(n + 1),
                floors=rng.choice((3, 5, 6)),
                lat=area_ref.lat + STEP * (n + 1),
                lng=area_ref.lng + STEP * rng.choice((-1, 1)),
            )
            for n in range(BUILDINGS_PER_AREA)
        )
        if garbage_room is not None:
            PatrolSite.objects.create(
                area=area,
                compound=compound,
                site_type=garbage_room,
                name=f"{compound.name}垃圾厢房",
                lat=area_ref.lat - STEP,
                lng=area_ref.lng,
            )
            counts["patrol_sites"] += 1
        for building in buildings:
            for room in ROOMS:
                tenure = rng.choice((Tenure.OWNER, Tenure.OWNER, Tenure.PUBLIC_RENT, Tenure.TENANT))
                drafts.append((building.pk, people.household(room, tenure)))
        for role, username in (
            (Role.AREA_HEAD, f"head-{short}-{area_ref.code[-3:]}"),
            (Role.CADRE, f"cadre-{short}-{area_ref.code[-3:]}-1"),
        ):
            users.append(
                User(
                    username=username,
                    full_name=people.full_name(rng.choice("MF"), today.year - rng.randint(28, 55)),
                    role=role,
                    street=street,
                    area=area,
                    phone=people.mobile(),
                    password=password,
                )
            )
        counts["areas"] += 1
        counts["compounds"] += 1
        counts["buildings"] += len(buildings)
    write_households(tags, drafts)
    User.objects.bulk_create(users)
    counts.update(departments=len(departments), users=len(users))
    return counts
