"""Community-building events (社区营造) with registrations, cadre training with attendance, and the participation
totals the article quotes ("召开社区营造策划会72场，参与居民1200余人次，开展自治活动61场"): services that write them and
selectors that count them for the pages and the assessment.

Who may change what:
- an event or a training of an area: the street administrator, and that area's head (events: and its cadres too,
  since cadres run the activities; training is recorded by the head);
- a street-wide event or training: the street administrator only; area users may still register their residents
  to a street-wide event and mark them attended, because residents come from every area.

Capacity: registrations made ahead (from the registry or a walk-in by name) stop at the capacity. A person who
turns up on the day without a place is still recorded when added as attended on the spot (现场签到): refusing them
would make the attendance count lie about who was there. The page shows how far over capacity that went.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ningju.core import scoping
from ningju.core.errors import ApplicationError
from ningju.core.models import Role, User
from ningju.insights.report import round_like_article
from ningju.meetings import permissions
from ningju.meetings.models import (
    Attendee,
    Event,
    EventKind,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Registration,
    TrainingAttendance,
    TrainingKind,
    TrainingSession,
)
from ningju.registry.models import Resident, ResidentialArea, Street

# --- permissions: stated in ningju.meetings.permissions ---------------------------------------------------------

may_see_participation = permissions.can_see_participation
may_edit_event = permissions.can_edit_event
may_create_event = permissions.can_create_event
may_register = permissions.can_register
may_edit_training = permissions.can_edit_training
may_create_training = permissions.can_create_training


def require_participation_user(user: Any) -> None:
    if not may_see_participation(user):
        raise PermissionDenied(_("您的角色不能查看社区活动和培训。"))


def area_choices(user: User) -> "models.QuerySet[ResidentialArea]":
    """The areas `user` may put an event or training in: all of the street for its administrator, else their own."""
    return scoping.visible(user, ResidentialArea.objects.all()).order_by("code")


def user_street(user: User) -> Street:
    street_id = scoping.user_street_id(user)
    if street_id is None:
        raise PermissionDenied(_("您的角色不能查看社区活动和培训。"))
    return Street.objects.get(pk=street_id)


# --- periods ----------------------------------------------------------------------------------------------------


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in Asia/Shanghai: both dates included."""
    zone = ZoneInfo(settings.TIME_ZONE)
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


# --- events: services -------------------------------------------------------------------------------------------


def _check_event_fields(
    *,
    area: ResidentialArea | None,
    starts_at: datetime,
    ends_at: datetime | None,
    planning_meetings: Iterable[Meeting],
) -> list[Meeting]:
    if ends_at is not None and ends_at < starts_at:
        raise ApplicationError(_("结束时间不能早于开始时间。"))
    meetings = list(planning_meetings)
    for meeting in meetings:
        if meeting.kind != MeetingKind.PLANNING:
            raise ApplicationError(_("只能关联社区营造策划会。"))
        # A street-wide planning meeting may prepare any event; an area's meeting only its own area's events.
        if meeting.area_id is not None and (area is None or meeting.area_id != area.pk):
            raise ApplicationError(
                _("策划会“%(title)s”属于其他居民区，不能关联到本活动。") % {"title": meeting.title}
            )
    return meetings


def event_create(
    *,
    user: User,
    area: ResidentialArea | None,
    kind: str,
    title: str,
    organiser: str,
    place: str,
    starts_at: datetime,
    ends_at: datetime | None = None,
    capacity: int | None = None,
    description: str = "",
    planning_meetings: Iterable[Meeting] = (),
) -> Event:
    if not may_edit_event(user, area):
        raise PermissionDenied(_("您不能在该范围内创建活动。"))
    meetings = _check_event_fields(
        area=area, starts_at=starts_at, ends_at=ends_at, planning_meetings=planning_meetings
    )
    with transaction.atomic():
        event = Event.objects.create(
            street=user_street(user),
            area=area,
            kind=kind,
            title=title,
            organiser=organiser,
            place=place,
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=capacity,
            description=description,
            created_by=user,
        )
        event.planning_meetings.set(meetings)
    return event


def event_update(
    *,
    user: User,
    event: Event,
    area: ResidentialArea | None,
    kind: str,
    title: str,
    organiser: str,
    place: str,
    starts_at: datetime,
    ends_at: datetime | None = None,
    capacity: int | None = None,
    description: str = "",
    planning_meetings: Iterable[Meeting] = (),
) -> Event:
    if not (may_edit_event(user, event.area) and may_edit_event(user, area)):
        raise PermissionDenied(_("您不能修改该活动。"))
    meetings = _check_event_fields(
        area=area, starts_at=starts_at, ends_at=ends_at, planning_meetings=planning_meetings
    )
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=event.pk)
        taken = _places_taken(event)
        if capacity is not None and capacity < taken:
            raise ApplicationError(_("名额不能少于已报名人数（%(n)s人）。") % {"n": taken})
        event.area, event.kind, event.title, event.organiser = area, kind, title, organiser
        event.place, event.starts_at, event.ends_at = place, starts_at, ends_at
        event.capacity, event.description = capacity, description
        event.save(
            update_fields=[
                "area",
                "kind",
                "title",
                "organiser",
                "place",
                "starts_at",
                "ends_at",
                "capacity",
                "description",
            ]
        )
        event.planning_meetings.set(meetings)
    return event


def event_day_start(event: Event) -> datetime:
    """Local midnight of the event's first day: from then on a walk-in may be signed in on the spot."""
    return bounds(timezone.localtime(event.starts_at).date(), timezone.localtime(event.starts_at).date())[0]


def _on_the_spot_q(event: Event) -> models.Q:
    """Walk-ins added on the event's day and signed in: they came without a place and hold none."""
    return models.Q(walk_in=True, attended=True, registered_at__gte=event_day_start(event))


def _places_taken(event: Event) -> int:
    """Registrations that hold a place: every one made ahead (from the registry or by name)."""
    return event.registrations.exclude(_on_the_spot_q(event)).count()


def registration_add(
    *,
    user: User,
    event: Event,
    resident: Resident | None = None,
    name: str = "",
    on_the_spot: bool = False,
) -> Registration:
    """Register a resident from the registry (`resident`, which the user must be able to see) or a walk-in by
    `name`. `on_the_spot` records a walk-in who turned up and is signed in at once; only such a person may go
    beyond the capacity, and only once the event has begun."""
    if not may_register(user, event):
        raise PermissionDenied(_("您不能为该活动登记报名。"))
    if resident is not None:
        if not scoping.visible(user, Resident.objects.filter(pk=resident.pk)).exists():
            raise PermissionDenied(_("该居民不在您负责的范围内。"))
        if event.area_id is not None and resident.household.building.compound.area_id != event.area_id:
            raise ApplicationError(_("该居民不属于本活动所在的居民区。"))
        name = resident.name
    name = name.strip()
    if not name:
        raise ApplicationError(_("请填写报名人姓名，或从居民名册中选择居民。"))
    now = timezone.now()
    if on_the_spot and resident is not None:
        raise ApplicationError(_("现场签到只用于未报名的来访者；名册中的居民请先报名再签到。"))
    if on_the_spot and now < event_day_start(event):
        raise ApplicationError(_("活动当天才能现场签到；请先登记报名。"))
    with transaction.atomic():
        # Lock the event row so two cadres filling the last place at once cannot both get it.
        locked = Event.objects.select_for_update().get(pk=event.pk)
        if not on_the_spot and locked.capacity is not None and _places_taken(locked) >= locked.capacity:
            raise ApplicationError(
                _("名额已满（%(n)s人），不能再报名。活动当天到场的居民可以“现场签到”。") % {"n": locked.capacity}
            )
        if resident is not None and locked.registrations.filter(resident=resident).exists():
            raise ApplicationError(_("%(name)s已经报名。") % {"name": name})
        try:
            with transaction.atomic():
                return Registration.objects.create(
                    event=locked,
                    resident=resident,
                    name=name,
                    walk_in=resident is None,
                    attended=on_the_spot,
                    registered_at=now,
                )
        except IntegrityError:
            raise ApplicationError(_("%(name)s已经报名。") % {"name": name}) from None


def registration_mark(
    *, user: User, registration: Registration, attended: bool | None = None, volunteer: bool | None = None
) -> Registration:
    """Sign a registered person in (签到) or out again, and mark them as a volunteer or not."""
    if not permissions.can_handle_registration(user, registration):
        raise PermissionDenied(_("您不能为该活动登记签到。"))
    fields = []
    if attended is not None:
        registration.attended = attended
        fields.append("attended")
    if volunteer is not None:
        registration.volunteer = volunteer
        fields.append("volunteer")
    if fields:
        registration.save(update_fields=fields)
    return registration


def registration_cancel(*, user: User, registration: Registration) -> None:
    if not permissions.can_handle_registration(user, registration):
        raise PermissionDenied(_("您不能为该活动取消报名。"))
    if registration.attended:
        raise ApplicationError(_("已签到的报名不能取消；如登记有误，请先取消签到。"))
    registration.delete()


# --- events: selectors ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventCounts:
    registered: int
    attended: int
    volunteers: int
    capacity: int | None
    places_taken: int

    @property
    def over_capacity(self) -> int:
        """How many more than the capacity were there (on-the-spot walk-ins): 0 when within it or no capacity."""
        if self.capacity is None:
            return 0
        return max(0, self.registered - self.capacity)

    @property
    def places_left(self) -> int | None:
        if self.capacity is None:
            return None
        return max(0, self.capacity - self.places_taken)


def event_counts(event: Event) -> EventCounts:
    taken_q = ~_on_the_spot_q(event)
    # Aliases differ from the field names: an aggregate may not share a name with a field it reads.
    row = event.registrations.aggregate(
        n_registered=models.Count("pk"),
        n_attended=models.Count("pk", filter=models.Q(attended=True)),
        n_volunteers=models.Count("pk", filter=models.Q(volunteer=True)),
        n_taken=models.Count("pk", filter=taken_q),
    )
    return EventCounts(
        registered=row["n_registered"],
        attended=row["n_attended"],
        volunteers=row["n_volunteers"],
        capacity=event.capacity,
        places_taken=row["n_taken"],
    )


def event_list(
    user: User, *, kind: str = "", month: date | None = None, area: ResidentialArea | None = None
) -> "models.QuerySet[Event]":
    """Visible events, newest first, with their counts; `month` is any day of the month wanted."""
    events = scoping.visible(user, Event.objects.select_related("area"))
    if kind:
        events = events.filter(kind=kind)
    if month is not None:
        first = month.replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        low, high = bounds(first, last)
        events = events.filter(starts_at__gte=low, starts_at__lt=high)
    if area is not None:
        events = events.filter(area=area)
    return events.annotate(
        n_registered=models.Count("registrations"),
        n_attended=models.Count("registrations", filter=models.Q(registrations__attended=True)),
    ).order_by("-starts_at", "-id")


def planning_meeting_choices(user: User) -> "models.QuerySet[Meeting]":
    return scoping.visible(user, Meeting.objects.filter(kind=MeetingKind.PLANNING)).order_by("-held_at", "-id")


def resident_search(user: User, event: Event, query: str, limit: int = 20) -> list[Resident]:
    """Residents named like `query` in the user's visible households (and in the event's area when it has one),
    not yet registered. Pages show their masked phone and household address only."""
    query = query.strip()
    if not query:
        return []
    residents = scoping.visible(user, Resident.objects.filter(active=True, name__icontains=query))
    if event.area_id is not None:
        residents = residents.filter(household__building__compound__area=event.area_id)
    residents = residents.exclude(pk__in=event.registrations.filter(resident__isnull=False).values("resident"))
    return list(residents.select_related("household__building").order_by("name", "pk")[:limit])


# --- participation totals ---------------------------------------------------------------------------------------

STREET_WIDE = "street"


@dataclass(frozen=True)
class Totals:
    """What was done in a period at one scope. `participants` (参与人次) = the attended registrations of the
    events counted + the attendees recorded on the planning meetings counted; one person at two of them counts
    twice (人次)."""

    start: date
    end: date
    planning_meetings: int
    planning_attendance: int
    events: int
    event_attendance: int
    volunteers: int
    events_by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def participants(self) -> int:
        return self.planning_attendance + self.event_attendance

    def line(self) -> str:
        """The sentence in the article's words, with the article's rounding of large numbers."""
        return _("召开社区营造策划会%(meetings)s场，参与居民%(people)s人次，开展自治活动%(events)s场") % {
            "meetings": self.planning_meetings,
            "people": round_like_article(self.participants),
            "events": self.events,
        }

    def kinds(self) -> list[tuple[str, str, int]]:
        """(kind, label, count) for every event kind, in the order of the choices."""
        return [(value, str(label), self.events_by_kind.get(value, 0)) for value, label in EventKind.choices]


def _held_meetings(street: Street, area: ResidentialArea | None, low: datetime, high: datetime) -> Any:
    meetings = Meeting.objects.filter(
        street=street, kind=MeetingKind.PLANNING, status=MeetingStatus.HELD, held_at__gte=low, held_at__lt=high
    )
    return meetings.filter(area=area) if area is not None else meetings


def _held_events(street: Street, area: ResidentialArea | None, low: datetime, high: datetime) -> Any:
    # An event counts as held once it has begun: a planned one later in the period is not yet "开展".
    events = Event.objects.filter(street=street, starts_at__gte=low, starts_at__lt=min(high, timezone.now()))
    return events.filter(area=area) if area is not None else events


def participation_totals(street: Street, area: ResidentialArea | None, start: date, end: date) -> Totals:
    """Totals for `street` (area None: the whole street, street-wide rows included) or one `area` (its own rows)
    over [start, end], both dates included. Callers scope `area` themselves (the assessment passes each area)."""
    low, high = bounds(start, end)
    meetings = _held_meetings(street, area, low, high)
    events = _held_events(street, area, low, high)
    attendance = Registration.objects.filter(event__in=events).aggregate(
        n_attended=models.Count("pk", filter=models.Q(attended=True)),
        n_volunteers=models.Count("pk", filter=models.Q(volunteer=True)),
    )
    by_kind = dict(events.values_list("kind").annotate(n=models.Count("pk")).order_by())
    return Totals(
        start=start,
        end=end,
        planning_meetings=meetings.count(),
        planning_attendance=Attendee.objects.filter(meeting__in=meetings).count(),
        events=sum(by_kind.values()),
        event_attendance=attendance["n_attended"],
        volunteers=attendance["n_volunteers"],
        events_by_kind=by_kind,
    )


@dataclass(frozen=True)
class AreaLine:
    key: str  # an area code, or STREET_WIDE
    label: str
    planning_meetings: int
    participants: int
    events: int


def participation_by_area(street: Street, start: date, end: date) -> list[AreaLine]:
    """One line per area of the street, then one for street-wide rows; grouped queries, not one per area."""
    low, high = bounds(start, end)
    meetings = _held_meetings(street, None, low, high)
    events = _held_events(street, None, low, high)

    def grouped(queryset: Any, key: str) -> dict[int | None, int]:
        return dict(queryset.values_list(key).annotate(n=models.Count("pk")).order_by())

    meeting_counts = grouped(meetings, "area")
    event_counts_ = grouped(events, "area")
    planning_people = grouped(Attendee.objects.filter(meeting__in=meetings), "meeting__area")
    event_people = grouped(Registration.objects.filter(event__in=events, attended=True), "event__area")
    areas = ResidentialArea.objects.filter(street=street).order_by("code")
    lines = [
        AreaLine(
            key=area.code,
            label=area.name,
            planning_meetings=meeting_counts.get(area.pk, 0),
            participants=planning_people.get(area.pk, 0) + event_people.get(area.pk, 0),
            events=event_counts_.get(area.pk, 0),
        )
        for area in areas
    ]
    lines.append(
        AreaLine(
            key=STREET_WIDE,
            label=_("街道层面"),
            planning_meetings=meeting_counts.get(None, 0),
            participants=planning_people.get(None, 0) + event_people.get(None, 0),
            events=event_counts_.get(None, 0),
        )
    )
    return lines


PARTICIPATION_DEFINITIONS = [  # shown on the page word for word
    gettext_lazy("策划会：统计期间内（按会议时间，起止日期均含）状态为“已召开”的“社区营造策划会”。"),
    gettext_lazy(
        "参与人次 = 统计期间内已开展活动中“已签到”的报名人数 + 上述策划会登记的参会人数；同一人多次参加按多人次计。"
    ),
    gettext_lazy(
        "开展活动：统计期间内已开始的各类社区营造活动（自治活动、宝宝屋、议事吧、志愿服务、五社联动、文体活动等），"
        "文中“自治活动”即指这些活动的合计；尚未开始的活动不计。"
    ),
    gettext_lazy("居民区口径只计该居民区的会议和活动；街道口径另含街道层面组织的会议和活动。"),
    gettext_lazy("数字达到 100 时按文章写法向下取整并加“余”，例如 1,328 人次写作“1300余人次”。"),
]


def participation_definitions() -> list[str]:
    return [str(text) for text in PARTICIPATION_DEFINITIONS]


# --- training: services -----------------------------------------------------------------------------------------


def training_create(
    *,
    user: User,
    area: ResidentialArea | None,
    kind: str = TrainingKind.TRAINING,
    title: str,
    topics: str = "",
    trainer: str = "",
    held_at: datetime,
    place: str = "",
    hours: Decimal = Decimal(2),
) -> TrainingSession:
    if not may_edit_training(user, area):
        raise PermissionDenied(_("您不能在该范围内登记培训。"))
    if hours <= 0:
        raise ApplicationError(_("学时须大于 0。"))
    return TrainingSession.objects.create(
        street=user_street(user),
        area=area,
        kind=kind,
        title=title,
        topics=topics,
        trainer=trainer,
        held_at=held_at,
        place=place,
        hours=hours,
    )


def training_update(
    *,
    user: User,
    session: TrainingSession,
    area: ResidentialArea | None,
    kind: str,
    title: str,
    topics: str,
    trainer: str,
    held_at: datetime,
    place: str,
    hours: Decimal,
) -> TrainingSession:
    if not (may_edit_training(user, session.area) and may_edit_training(user, area)):
        raise PermissionDenied(_("您不能修改该培训。"))
    if hours <= 0:
        raise ApplicationError(_("学时须大于 0。"))
    if area is not None and session.attendance.exclude(user__area=area).exists():
        raise ApplicationError(_("已有其他居民区的干部出勤，不能把培训改为本居民区；请先调整出勤名单。"))
    session.area, session.kind, session.title, session.topics = area, kind, title, topics
    session.trainer, session.held_at, session.place, session.hours = trainer, held_at, place, hours
    session.save(update_fields=["area", "kind", "title", "topics", "trainer", "held_at", "place", "hours"])
    return session


def training_candidates(session: TrainingSession) -> "models.QuerySet[User]":
    """The cadres a session is for: the area's head and cadres, or for a street-wide session everyone of the
    street (its administrators and the area users of its areas)."""
    users = User.objects.filter(is_active=True)
    if session.area_id is not None:
        users = users.filter(area=session.area_id, role__in=scoping.AREA_ROLES)
    else:
        users = users.filter(
            models.Q(role=Role.STREET_ADMIN, street=session.street_id)
            | models.Q(role__in=scoping.AREA_ROLES, area__street=session.street_id)
        )
    return users.select_related("area").order_by("area__code", "role", "full_name", "username")


def training_attendance_set(*, user: User, session: TrainingSession, attended_ids: Iterable[int]) -> int:
    """Record who attended: the ticked cadres attended, the others on the list did not (their rows, if any,
    turn to absent). Returns how many attended."""
    if not may_edit_training(user, session.area):
        raise PermissionDenied(_("您不能登记该培训的出勤。"))
    wanted = set(attended_ids)
    allowed = set(training_candidates(session).values_list("pk", flat=True))
    stray = wanted - allowed
    if stray:
        raise ApplicationError(_("出勤名单中有不属于本培训范围的用户。"))
    with transaction.atomic():
        existing = dict(session.attendance.values_list("user_id", "attended"))
        TrainingAttendance.objects.bulk_create(
            [TrainingAttendance(session=session, user_id=pk, attended=True) for pk in wanted - existing.keys()]
        )
        session.attendance.filter(user_id__in=wanted).exclude(attended=True).update(attended=True)
        session.attendance.exclude(user_id__in=wanted).exclude(attended=False).update(attended=False)
    return len(wanted)


# --- training: selectors ----------------------------------------------------------------------------------------


def training_list(user: User, *, kind: str = "") -> "models.QuerySet[TrainingSession]":
    sessions = scoping.visible(user, TrainingSession.objects.select_related("area"))
    if kind:
        sessions = sessions.filter(kind=kind)
    return sessions.annotate(
        attended_count=models.Count("attendance", filter=models.Q(attendance__attended=True))
    ).order_by("-held_at", "-id")


def training_hours(users: Iterable[User | int], start: date, end: date) -> dict[int, Decimal]:
    """Training hours (学时) per user over [start, end] (by session time, both dates included): the sum of the
    hours of the sessions each attended. Every user asked about is in the answer, 0 when none."""
    ids = [u if isinstance(u, int) else u.pk for u in users]
    low, high = bounds(start, end)
    rows = (
        TrainingAttendance.objects.filter(
            user_id__in=ids, attended=True, session__held_at__gte=low, session__held_at__lt=high
        )
        .values_list("user_id")
        .annotate(total=models.Sum("session__hours"))
        .order_by()
    )
    hours = {pk: Decimal(0) for pk in ids}
    for pk, total in rows:
        hours[pk] = Decimal(total or 0)
    return hours
