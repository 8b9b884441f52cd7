"""The troika's monthly on-site joint office (三驾马车现场合署办公, 一小区一月一会): recording one, the month × compound
grid, the compliance figure the assessment reuses, and the month-end reminder.

Counting rule, used by the grid, the export and `troika_compliance` alike: a compound-month is *held* when at least
`NINGJU_TROIKA_PER_MONTH` (default 1) distinct troika meetings with status held took place in it (two meetings in a
month still count as one held month; a cancelled or merely planned one counts for nothing). A month is *required*
once it has ended; the month still running is required only when it is already held, so nobody is marked down before
the month is over.
"""

import calendar
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from ningju.core import scoping
from ningju.core.audit import audit
from ningju.core.errors import ApplicationError
from ningju.core.models import AuditAction, NoticeLevel, Role, User
from ningju.core.notify import Notice, notify_many
from ningju.core.tables import write_xlsx
from ningju.core.workdays import add_workdays, workdays_between
from ningju.demands.attachments import check_upload
from ningju.demands.models import Demand, Kind, Source
from ningju.demands.services import demand_create
from ningju.meetings import permissions
from ningju.meetings.models import (
    ActionItem,
    Attendee,
    Meeting,
    MeetingFile,
    MeetingKind,
    MeetingStatus,
    Party,
)
from ningju.registry.models import Compound, Department, ResidentialArea

# States of one grid cell.
HELD = "held"
PLANNED = "planned"
MISSED = "missed"
PENDING = "pending"  # the current month, not yet held
ACTION_WORKDAYS = 5  # an action item from a troika finding is due this many working days later
REMIND_WORKDAYS = 5  # remind when this many working days or fewer remain in the month


def per_month() -> int:
    """How many held troika meetings a compound needs each month (setting NINGJU_TROIKA_PER_MONTH, default 1)."""
    return max(int(getattr(settings, "NINGJU_TROIKA_PER_MONTH", 1)), 1)


# --- recording ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FindingInput:
    """One problem found on the walk, and what becomes of it: a demand, an action item, or both."""

    text: str
    to_demand: bool = False
    to_action: bool = False


def recordable_compounds(user: User) -> "QuerySet[Compound]":
    """Compounds `user` may record a troika meeting for: their area's (area head, cadre) or the street's (admin)."""
    return scoping.visible(user, Compound.objects.select_related("area"))


def may_record(user: User) -> bool:
    return permissions.can_record_troika(user)


def committee_users(compound: Compound) -> "QuerySet[User]":
    """Platform users who sit for the residents' committee at this compound: its area's head and cadres."""
    return User.objects.filter(area=compound.area_id, role__in=scoping.AREA_ROLES, is_active=True).order_by(
        "role", "username"
    )


def action_owners(user: User) -> "QuerySet[User]":
    """Who may answer for an action item from the walk: the users of the recorder's area or street."""
    if permissions.is_street_admin(user):
        return User.objects.filter(
            Q(role=Role.STREET_ADMIN, street=user.street_id)
            | Q(role__in=scoping.AREA_ROLES, area__street=user.street_id),
            is_active=True,
        ).order_by("role", "username")
    if permissions.is_area_user(user) and user.area_id is not None:
        return User.objects.filter(is_active=True, role__in=scoping.AREA_ROLES, area=user.area_id).order_by(
            "role", "username"
        )
    return User.objects.none()


def _names(lines: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(line.strip()[:50] for line in lines if line.strip()))


@transaction.atomic
def troika_record(
    *,
    user: User,
    compound: Compound,
    held_at: datetime,
    place: str = "",
    committee: Sequence[User] = (),
    owners: Sequence[str] = (),
    property_names: Sequence[str] = (),
    property_company: str = "",
    others: Sequence[str] = (),
    inspected: str = "",
    minutes: str = "",
    findings: Sequence[FindingInput] = (),
    photos: Sequence[UploadedFile] = (),
    action_owner: User | None = None,
    department: Department | None = None,
    today: date | None = None,
) -> Meeting:
    """Record a held troika meeting at `compound`, with its three parties, photos and findings, in one transaction.

    A finding turned into a demand is a problem found on patrol (the troika walked the compound and saw it); one
    turned into an action item is due `ACTION_WORKDAYS` working days after `today` and owned by `action_owner`
    (default the recorder); a finding turned into both gets an action item that points at its demand.
    """
    if not may_record(user):
        raise PermissionDenied(_("只有居民区干部和街道管理员可以记录三驾马车现场合署办公。"))
    if not recordable_compounds(user).filter(pk=compound.pk).exists():
        raise PermissionDenied(_("所选小区不在您负责的居民区内。"))
    if timezone.is_naive(held_at):
        held_at = timezone.make_aware(held_at)
    now = timezone.now()
    if held_at > now + timedelta(minutes=5):
        raise ApplicationError(_("会议时间不能晚于现在：请记录已经召开的会议。"))
    committee = list(committee)
    stray = [u for u in committee if u.area_id != compound.area_id or u.role not in scoping.AREA_ROLES]
    if stray:
        raise ApplicationError(_("居委会参会人须是该居民区的干部。"))
    owner_names, property_people, other_names = _names(owners), _names(property_names), _names(others)
    if not committee:
        raise ApplicationError(_("请至少选择一位居委会参会人。"))
    if not owner_names:
        raise ApplicationError(_("请填写业委会参会人。"))
    if not property_people:
        raise ApplicationError(_("请填写物业参会人。"))
    findings = [f for f in findings if f.text.strip()]
    if any(f.to_action for f in findings):
        action_owner = action_owner or user
        if not action_owners(user).filter(pk=action_owner.pk).exists():
            raise ApplicationError(_("所选责任人不在您的居民区或街道。"))
        if department is not None and (department.street_id != compound.area.street_id or not department.active):
            raise ApplicationError(_("所选部门无效或已停用。"))
    checked = [(upload, check_upload(upload)) for upload in photos]  # ApplicationError names the bad file

    area = compound.area
    meeting = Meeting.objects.create(
        street_id=area.street_id,
        kind=MeetingKind.TROIKA,
        status=MeetingStatus.HELD,
        title=_("%(compound)s三驾马车现场合署办公") % {"compound": compound.name},
        area=area,
        compound=compound,
        held_at=held_at,
        place=place.strip()[:200],
        inspected=inspected.strip(),
        minutes=minutes.strip(),
        decisions="\n".join(f.text.strip() for f in findings),
        created_by=user,
    )
    company = property_company.strip()[:100]
    Attendee.objects.bulk_create(
        [
            *(
                Attendee(meeting=meeting, user=u, name=u.display_name[:50], party=Party.COMMITTEE)
                for u in committee
            ),
            *(Attendee(meeting=meeting, name=n, party=Party.OWNERS) for n in owner_names),
            *(
                Attendee(meeting=meeting, name=n, party=Party.PROPERTY, organisation=company)
                for n in property_people
            ),
            *(Attendee(meeting=meeting, name=n, party=Party.OTHER) for n in other_names),
        ]
    )
    for upload, info in checked:
        # A random stored name: the path says nothing; the user's name is kept on the row for display.
        stored = MeetingFile(
            meeting=meeting,
            name=info.name,
            content_type=info.content_type,
            size=upload.size or 0,
            uploaded_by=user,
        )
        stored.file.save(f"{uuid.uuid4().hex}.{info.extension}", upload, save=False)
        stored.save(force_insert=True)

    deadline = add_workdays(today or timezone.localdate(), ACTION_WORKDAYS)
    for finding in findings:
        text = finding.text.strip()
        demand: Demand | None = None
        if finding.to_demand:
            demand, _created = demand_create(
                user=user, area=area, kind=Kind.PROBLEM, source=Source.PATROL, text=text, compound=compound
            )
        if finding.to_action:
            item = ActionItem.objects.create(
                street_id=area.street_id,
                area=area,
                meeting=meeting,
                title=text[:200],
                description=text if len(text) > 200 else "",
                owner=action_owner,
                department=department,
                deadline=deadline,
                created_by=user,
            )
            if demand is not None:
                item.demands.add(demand)
    return meeting


# --- the grid ------------------------------------------------------------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(first: date) -> date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def next_month(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def months_between(start: date, end: date) -> list[date]:
    """First days of the months that overlap [start, end]."""
    months, current = [], month_start(start)
    while current <= end:
        months.append(current)
        current = next_month(current)
    return months


def period_months(*, period: str, year: int | None, today: date) -> list[date]:
    """The grid's columns: a calendar year (up to the current month when it is this year) or the last 12 months."""
    if period == "last12":
        first = month_start(today)
        for _n in range(11):
            first = month_start(first - timedelta(days=1))
        return months_between(first, today)
    year = year or today.year
    last = today if year == today.year else date(year, 12, 31)
    return months_between(date(year, 1, 1), last)


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@dataclass
class Cell:
    month: date
    state: str
    meeting_id: int | None = None
    held_on: date | None = None


@dataclass
class CompoundRow:
    compound: Compound
    cells: list[Cell]
    held: int = 0
    required: int = 0

    @property
    def pct(self) -> float | None:
        return round(100 * self.held / self.required, 1) if self.required else None


@dataclass
class AreaTotal:
    area: ResidentialArea
    held: int = 0
    required: int = 0
    compounds: int = 0

    @property
    def pct(self) -> float | None:
        return round(100 * self.held / self.required, 1) if self.required else None


@dataclass
class Grid:
    months: list[date]
    rows: list[CompoundRow]
    areas: list[AreaTotal]
    today: date
    per_month: int
    held: int = 0
    required: int = 0
    meeting_ids: dict[int, int] = field(default_factory=dict)

    @property
    def pct(self) -> float | None:
        return round(100 * self.held / self.required, 1) if self.required else None


def _meetings_by_compound_month(
    compound_ids: Iterable[int], start: date, end: date
) -> dict[tuple[int, date], dict[str, list[tuple[int, date]]]]:
    """(compound, month) → status → [(meeting id, local date)] for troika meetings in [start, end]."""
    rows = (
        Meeting.objects.filter(
            kind=MeetingKind.TROIKA,
            compound__in=list(compound_ids),
            held_at__gte=_aware(start),
            held_at__lt=_aware(end + timedelta(days=1)),
        )
        .order_by("held_at", "id")
        .values_list("pk", "compound_id", "status", "held_at")
    )
    found: dict[tuple[int, date], dict[str, list[tuple[int, date]]]] = defaultdict(lambda: defaultdict(list))
    for pk, compound_id, status, held_at in rows:
        day = timezone.localtime(held_at).date()  # months are Shanghai months, whatever the database's zone
        found[(compound_id, month_start(day))][status].append((pk, day))
    return found


def _cell(month: date, found: dict[str, list[tuple[int, date]]], today: date, needed: int) -> Cell:
    held = found.get(MeetingStatus.HELD, [])
    if len({pk for pk, _day in held}) >= needed:
        pk, day = held[-1]
        return Cell(month=month, state=HELD, meeting_id=pk, held_on=day)
    current = month_start(today)
    if month < current:
        return Cell(month=month, state=MISSED)
    planned = found.get(MeetingStatus.PLANNED, [])
    if planned:
        return Cell(month=month, state=PLANNED, meeting_id=planned[0][0], held_on=planned[0][1])
    return Cell(month=month, state=PENDING)


def _counts(cell: Cell, today: date) -> tuple[int, int]:
    """(held, required) for one cell, under the module's counting rule."""
    if cell.state == HELD:
        return 1, 1
    if month_end(cell.month) < today or cell.state == MISSED:
        return 0, 1
    return 0, 0


def troika_grid(*, areas: Sequence[ResidentialArea], months: Sequence[date], today: date) -> Grid:
    """The month × compound grid for `areas` over `months` (first days), with totals per compound, area and all."""
    compounds = list(
        Compound.objects.filter(area__in=list(areas)).select_related("area").order_by("area__code", "name")
    )
    needed = per_month()
    months = list(months)
    found = (
        _meetings_by_compound_month([c.pk for c in compounds], months[0], month_end(months[-1])) if months else {}
    )
    totals = {a.pk: AreaTotal(area=a) for a in areas}
    grid = Grid(months=months, rows=[], areas=list(totals.values()), today=today, per_month=needed)
    for compound in compounds:
        row = CompoundRow(
            compound=compound, cells=[_cell(m, found.get((compound.pk, m), {}), today, needed) for m in months]
        )
        for cell in row.cells:
            held, required = _counts(cell, today)
            row.held += held
            row.required += required
        total = totals[compound.area_id]
        total.held += row.held
        total.required += row.required
        total.compounds += 1
        grid.held += row.held
        grid.required += row.required
        grid.rows.append(row)
    return grid


def troika_compliance(
    areas: Iterable[ResidentialArea | int], start: date, end: date
) -> dict[int, tuple[int, int]]:
    """For the assessment: area id → (held compound-months, required compound-months) over [start, end].

    Every compound of the area needs `NINGJU_TROIKA_PER_MONTH` held troika meetings each month that overlaps the
    period; a month counts as required once it has ended by `end` (included), and a month still running after
    `end` only when it is already held (see the module docstring). An area without compounds gives (0, 0).
    """
    area_ids = [a if isinstance(a, int) else a.pk for a in areas]
    compounds = list(Compound.objects.filter(area__in=area_ids).values_list("pk", "area_id"))
    months = months_between(start, end)
    needed = per_month()
    found = _meetings_by_compound_month([pk for pk, _a in compounds], start, end) if months else {}
    result = dict.fromkeys(area_ids, (0, 0))
    after = end + timedelta(days=1)  # the period includes `end`: a month ending on it is over
    for compound_id, area_id in compounds:
        held_sum, required_sum = result[area_id]
        for month in months:
            cell = _cell(month, found.get((compound_id, month), {}), after, needed)
            held, required = _counts(cell, after)
            held_sum += held
            required_sum += required
        result[area_id] = (held_sum, required_sum)
    return result


def troika_export(
    *, user: User, target: IO[bytes], grid: Grid, scope_label: str, request: HttpRequest | None = None
) -> int:
    """Write the grid (one row per compound, one column per month) and the area totals; audit the export. Returns the
    number of rows written, both sheets together."""
    if not scoping.can_export(user):
        raise PermissionDenied(_("您的角色不能导出数据。"))
    labels = {HELD: _("已开"), PLANNED: _("计划"), MISSED: _("未开"), PENDING: _("本月未开")}
    month_headers = [f"{m:%Y-%m}" for m in grid.months]

    def compound_rows() -> Iterable[list[Any]]:
        for row in grid.rows:
            cells = [
                f"{labels[c.state]} {c.held_on:%m-%d}" if c.state == HELD and c.held_on else labels[c.state]
                for c in row.cells
            ]
            yield [row.compound.area.name, row.compound.name, *cells, row.held, row.required, row.pct]

    def area_rows() -> Iterable[list[Any]]:
        for total in grid.areas:
            yield [total.area.name, total.compounds, total.held, total.required, total.pct]
        yield [_("合计"), len(grid.rows), grid.held, grid.required, grid.pct]

    count = write_xlsx(
        target,
        [
            (
                _("三驾马车"),
                [_("居民区"), _("小区"), *month_headers, _("已开（月）"), _("应开（月）"), _("达标率%")],
                compound_rows(),
            ),
            (
                _("居民区汇总"),
                [_("居民区"), _("小区数"), _("已开（月）"), _("应开（月）"), _("达标率%")],
                area_rows(),
            ),
        ],
    )
    audit(
        user=user,
        action=AuditAction.EXPORT,
        target_type="meetings.troika",
        detail={
            "rows": len(grid.rows),  # compounds; the area sheet's rows are totals of these
            "scope": scope_label,
            "months": [month_headers[0], month_headers[-1]] if month_headers else [],
        },
        request=request,
    )
    return count


# --- the month-end reminder ------------------------------------------------------------------------------------------


def troika_remind(*, now: datetime | None = None, url: str = "") -> int:
    """Near the month's end (`REMIND_WORKDAYS` working days or fewer left, today included), tell each area head
    about every compound of their area without a held troika meeting this month. Once per compound-month: the
    notice key carries both. Returns how many notices were new."""
    today = timezone.localdate(now) if now is not None else timezone.localdate()
    first, last = month_start(today), month_end(today)
    if len(workdays_between(today, last)) > REMIND_WORKDAYS:
        return 0
    needed = per_month()
    compounds = list(Compound.objects.values_list("pk", "name", "area_id"))
    found = _meetings_by_compound_month([pk for pk, _n, _a in compounds], first, last)
    heads: dict[int, list[int]] = defaultdict(list)
    for pk, area_id in User.objects.filter(role=Role.AREA_HEAD, is_active=True, area__isnull=False).values_list(
        "pk", "area_id"
    ):
        heads[area_id].append(pk)
    notices = []
    for compound_id, name, area_id in compounds:
        if _cell(first, found.get((compound_id, first), {}), today, needed).state == HELD:
            continue
        for head_id in heads.get(area_id, []):
            notices.append(
                Notice(
                    user_id=head_id,
                    key=f"troika:{compound_id}:{first:%Y-%m}",
                    title=_("%(compound)s本月尚未召开三驾马车现场合署办公") % {"compound": name},
                    body=_("本月剩余工作日不多，请尽快安排居委会、业委会、物业到小区现场合署办公。"),
                    url=url,
                    level=NoticeLevel.YELLOW,
                )
            )
    return notify_many(notices)
