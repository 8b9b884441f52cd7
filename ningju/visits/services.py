"""Writes for visit records: log a visit (idempotent on the id the phone made), its findings as demands, household
corrections.

A visit is made on a phone, often with no signal, and uploaded later — perhaps twice, perhaps after a newer one.
So `visit_record` takes the phone's UUID as the primary key: the first upload stores the visit, a replay with the
same content returns the stored visit untouched, and a different visit under an id already taken is refused as a
conflict. The unique primary key decides a race between two uploads of the same visit, not a read-then-write.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ningju.core import scoping
from ningju.core.errors import ApplicationError
from ningju.core.geo import haversine_m
from ningju.core.models import User
from ningju.demands.services import demand_from_finding
from ningju.registry.models import Household, PatrolSite, ResidentialArea, Tag, Tenure
from ningju.registry.services import household_update
from ningju.visits.models import Finding, Visit, VisitMode
from ningju.visits.rules import settings_for

# Stored in the household's history as data (the same words whatever language the cadre's phone uses), so that
# "corrected during a visit" can be found there later.
CORRECTION_REASON = "走访更正"

# A phone's clock may run a little fast; a visit further in the future than this is a typing mistake.
FUTURE_TOLERANCE = timedelta(minutes=15)

# Two coordinates closer than this (about 1 cm) are the same reading sent twice.
COORDINATE_EPSILON = 1e-7


class VisitConflict(ApplicationError):
    """A visit id that is already stored with other content: the API answers 409, never overwrites."""


@dataclass(frozen=True)
class Corrections:
    """Household data corrected during a visit. `None` leaves a field as it is; only real changes are written."""

    tenure: str | None = None
    notes: str | None = None
    tags: list[Tag] | None = None


@dataclass(frozen=True)
class VisitContent:
    """What a visit says, normalised: two uploads with equal content are the same visit."""

    household_id: int | None
    patrol_site_id: int | None
    cadre_id: int
    visited_at: datetime
    mode: str
    way: str
    met: str
    notes: str
    mood: str
    needs: str
    lat: float | None
    lng: float | None
    findings: tuple[str, ...] = field(default=())

    @classmethod
    def of(cls, visit: Visit) -> "VisitContent":
        return cls(
            household_id=visit.household_id,
            patrol_site_id=visit.patrol_site_id,
            cadre_id=visit.cadre_id,
            visited_at=visit.visited_at,
            mode=visit.mode,
            way=visit.way,
            met=visit.met,
            notes=visit.notes,
            mood=visit.mood,
            needs=visit.needs,
            lat=visit.lat,
            lng=visit.lng,
            findings=tuple(f.text for f in sorted(visit.findings.all(), key=lambda f: f.pk)),
        )

    def same_as(self, other: "VisitContent") -> bool:
        def close(a: float | None, b: float | None) -> bool:
            if a is None or b is None:
                return a is b
            return abs(a - b) < COORDINATE_EPSILON

        plain = ("household_id", "patrol_site_id", "cadre_id", "mode", "way", "met", "notes", "mood", "needs")
        return (
            all(getattr(self, name) == getattr(other, name) for name in plain)
            # Databases keep microseconds at most; a phone's milliseconds survive, anything finer does not.
            and abs(self.visited_at - other.visited_at) < timedelta(milliseconds=1)
            and close(self.lat, other.lat)
            and close(self.lng, other.lng)
            and self.findings == other.findings
        )


def can_log_visits(user: User, area: ResidentialArea) -> bool:
    """Only the area's own cadres and its head log visits there: they are the ones who walk it. A street
    administrator reads every visit of the street but logs none; liaisons and users without a role do neither."""
    return bool(
        getattr(user, "is_authenticated", False)
        and user.is_active
        and user.role in scoping.AREA_ROLES
        and user.area_id == area.pk
    )


def require_can_log_visits(user: User, area: ResidentialArea) -> None:
    if not can_log_visits(user, area):
        raise PermissionDenied(_("只有本居民区的干部可以记录走访；街道管理员可以查看走访记录。"))


def _target_area(household: Household | None, patrol_site: PatrolSite | None) -> ResidentialArea:
    if (household is None) == (patrol_site is None):
        raise ApplicationError(_("请指定一户或一个巡查点（二者选一）。"))
    if household is not None:
        return household.building.compound.area
    assert patrol_site is not None
    return patrol_site.area


def _check_mode(mode: str, household: Household | None) -> None:
    if mode not in VisitMode.values:
        raise ApplicationError(_("走访方式不正确。"))
    if household is not None and mode == VisitMode.PATROL:
        raise ApplicationError(_("“巡查”只用于巡查点；走访住户请选择入户面对面、电话或线上点对点。"))
    if household is None and mode != VisitMode.PATROL:
        raise ApplicationError(_("巡查点的记录方式只能是“巡查”。"))


def _check_time(visited_at: datetime) -> None:
    if timezone.is_naive(visited_at):
        raise ApplicationError(_("走访时间缺少时区。"))
    if visited_at > timezone.now() + FUTURE_TOLERANCE:
        raise ApplicationError(_("走访时间不能晚于现在。"))


def _gps(
    lat: float | None, lng: float | None, target: Household | PatrolSite, flag_metres: int
) -> tuple[int | None, bool]:
    """Distance to the building (or site) and whether it is beyond the street's flag. Missing GPS is normal
    (indoors, refused permission, a phone call) and never stops a visit from being recorded."""
    if (lat is None) != (lng is None):
        raise ApplicationError(_("定位需同时包含纬度和经度。"))
    if lat is None or lng is None:
        return None, False
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise ApplicationError(_("定位坐标超出范围。"))
    place = target.building if isinstance(target, Household) else target
    metres = round(haversine_m(lat, lng, place.lat, place.lng))
    return metres, metres > flag_metres


def _changed(household: Household, corrections: Corrections) -> tuple[dict[str, Any], list[Tag] | None]:
    fields: dict[str, Any] = {}
    if corrections.tenure is not None and corrections.tenure not in Tenure.values:
        raise ApplicationError(_("居住类型不正确。"))
    if corrections.tenure is not None and corrections.tenure != household.tenure:
        fields["tenure"] = corrections.tenure
    if corrections.notes is not None and corrections.notes.strip() != household.notes.strip():
        fields["notes"] = corrections.notes.strip()
    tags = None
    if corrections.tags is not None and {t.pk for t in corrections.tags} != {t.pk for t in household.tags.all()}:
        street_id = household.building.compound.area.street_id
        if any(tag.street_id != street_id for tag in corrections.tags):  # each street has its own tags
            raise ApplicationError(_("所选标签不属于本街道。"))
        tags = list(corrections.tags)
    return fields, tags


def _stored(visit_id: uuid.UUID) -> Visit | None:
    return Visit.objects.filter(pk=visit_id).prefetch_related("findings").first()


def _replayed(existing: Visit, content: VisitContent) -> Visit:
    if not VisitContent.of(existing).same_as(content):
        raise VisitConflict(
            _("编号为 %(id)s 的走访记录已上传过，但内容不同；已保存的记录未被修改。") % {"id": existing.pk}
        )
    return existing


def visit_record(
    *,
    user: User,
    visit_id: uuid.UUID,
    visited_at: datetime,
    mode: str,
    household: Household | None = None,
    patrol_site: PatrolSite | None = None,
    way: str = "",
    met: str = "",
    notes: str = "",
    mood: str = "",
    needs: str = "",
    lat: float | None = None,
    lng: float | None = None,
    findings: Sequence[str] = (),
    corrections: Corrections | None = None,
) -> tuple[Visit, bool]:
    """Record a visit made by `user` to a household of their area or a patrol (巡查) of a site of their area.

    Returns the visit and whether it was created now (False: this exact visit was already stored, nothing was
    written). Each finding is stored as a Finding row and filed as a demand (`demand_from_finding`: owned by
    `user`, source 走访 or 巡查, at the household or patrol site, linked to the visit and the finding), in the same
    transaction as the visit; a replay files nothing again. Household corrections go through the registry with the
    reason 走访更正, so they land in the household's history. Raises PermissionDenied
    outside the user's area, VisitConflict for an id already stored with different content, ApplicationError
    for anything else wrong; in every failure nothing is written.
    """
    content = VisitContent(
        household_id=household.pk if household else None,
        patrol_site_id=patrol_site.pk if patrol_site else None,
        cadre_id=user.pk,
        visited_at=visited_at,
        mode=mode,
        way=way.strip(),
        met=met.strip(),
        notes=notes.strip(),
        mood=mood,
        needs=needs.strip(),
        lat=lat,
        lng=lng,
        findings=tuple(text.strip() for text in findings if text.strip()),
    )
    existing = _stored(visit_id)
    if existing is not None:
        return _replayed(existing, content), False

    area = _target_area(household, patrol_site)
    require_can_log_visits(user, area)
    _check_mode(mode, household)
    _check_time(visited_at)
    target: Household | PatrolSite = household if household is not None else patrol_site  # type: ignore[assignment]
    metres, far = _gps(lat, lng, target, settings_for(area.street).gps_flag_metres)
    if corrections is not None and household is None:
        raise ApplicationError(_("巡查点没有可更正的户信息。"))

    visit = Visit(
        id=visit_id,
        area=area,
        cadre=user,
        household=household,
        patrol_site=patrol_site,
        visited_at=visited_at,
        mode=mode,
        way=content.way,
        met=content.met,
        notes=content.notes,
        mood=mood,
        needs=content.needs,
        lat=lat,
        lng=lng,
        distance_m=metres,
        far_from_target=far,
    )
    try:
        visit.full_clean(validate_unique=False)
    except ValidationError as error:
        raise ApplicationError(_("走访记录不合法：%(e)s") % {"e": "；".join(error.messages)}) from error

    try:
        with transaction.atomic():
            # The insert comes first: it claims the id, so a concurrent upload of the same visit fails here
            # before either of them has corrected the household or stored a finding.
            visit.save(force_insert=True)
            if corrections is not None and household is not None:
                fields, tags = _changed(household, corrections)
                if fields or tags is not None:
                    household_update(
                        user=user, household=household, tags=tags, change_reason=CORRECTION_REASON, **fields
                    )
            # Each finding is filed where it is found: a demand owned by the cadre, at the household (or site).
            for text in content.findings:
                finding = Finding.objects.create(visit=visit, text=text)
                demand_from_finding(user=user, finding=finding, visit=visit)
    except IntegrityError:
        twin = _stored(visit_id)
        if twin is None:
            raise
        return _replayed(twin, content), False
    return visit, True
