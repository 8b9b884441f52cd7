"""A world for the cross-scope test: street 1 with two areas (A, the users' own, and B, another area) and street 2.

Everything that belongs to area B or to street 2 carries a marker string in its names, texts and addresses
("外区标记甲" for area B, "外街标记乙" for street 2), so that a test can say "no foreign record reached this page" by
looking for the marker in the response body. Street 1 also holds objects of its own whose nested data is area B's
(a street-level meeting with a demand of B on its agenda, a street-wide event with a resident of B registered): an
area user of A may open those, but must not read B's part of them.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.core.files.base import ContentFile
from django.utils import timezone

from ningju.core.models import Job, JobKind, Notification, Role, User
from ningju.demands.models import Attachment, Category, Demand, DemandEvent, Dispatch, Kind, Source
from ningju.demands.workflow import Action, State
from ningju.insights.models import Cluster, ClusterMember, Mechanism
from ningju.meetings.models import (
    ActionItem,
    ActionProgress,
    AgendaItem,
    Attendee,
    Event,
    EventKind,
    Meeting,
    MeetingFile,
    MeetingKind,
    Registration,
    ScorecardIssue,
    ScorecardSubject,
    TrainingSession,
)
from ningju.registry import models as registry
from ningju.visits.models import Finding, Pairing, Plan, Route, Stop, Visit, VisitMode
from tests import factories

MARK_AREA = "外区标记甲"  # in every name, text and address of area B (street 1's other area)
MARK_STREET = "外街标记乙"  # in every name, text and address of street 2

ROUTE_DAY = date(2026, 6, 3)  # a Wednesday: the foreign cadres' walks are planned for it


def at(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


@dataclass
class Place:
    """The objects of one place (area B, street 2, or street 1's own objects with B's data nested in them).
    A field is None where the place has no such object (area B has no street-level tag or scorecard)."""

    name: str
    marker: str
    area: registry.ResidentialArea | None = None
    compound: registry.Compound | None = None
    building: registry.Building | None = None
    household: registry.Household | None = None
    resident: registry.Resident | None = None
    patrol_site: registry.PatrolSite | None = None
    department: registry.Department | None = None
    cadre: User | None = None
    admin: User | None = None  # street 2's administrator
    route_day: date | None = None
    visit: Visit | None = None
    finding: Finding | None = None
    pairing: Pairing | None = None
    demand: Demand | None = None
    demand_event: DemandEvent | None = None
    dispatch: Dispatch | None = None
    attachment: Attachment | None = None
    meeting: Meeting | None = None
    agenda_item: AgendaItem | None = None
    attendee: Attendee | None = None
    meeting_file: MeetingFile | None = None
    action_item: ActionItem | None = None
    event: Event | None = None
    registration: Registration | None = None
    training: TrainingSession | None = None
    cluster: Cluster | None = None
    mechanism: Mechanism | None = None
    scorecard: ScorecardIssue | None = None
    job: Job | None = None
    notification: Notification | None = None
    tag: registry.Tag | None = None
    category: Category | None = None
    users: list[User] = field(default_factory=list)
    # Street 1's own containers (a street-level meeting or event) holding this place's data: readable, not foreign.
    containers: tuple[str, ...] = ()
    inner: "Place | None" = None  # the place whose data the containers hold


@dataclass
class ScopeWorld:
    street: registry.Street
    area_a: registry.ResidentialArea
    own_household: registry.Household
    admin: User
    head: User
    cadre: User
    liaison: User
    area_b: Place
    street_2: Place
    nested_b: Place  # street 1's own street-level objects holding area B's data

    def roles(self) -> dict[str, User | None]:
        return {
            "street_admin": self.admin,
            "area_head": self.head,
            "cadre": self.cadre,
            "liaison": self.liaison,
            "anonymous": None,
        }

    def foreign_places(self, role: str) -> list[Place]:
        """What is foreign to each role of street 1: street 2 always; area B for everyone but the street
        administrator; B's data nested in street 1's own objects for the area users."""
        if role == "street_admin":
            return [self.street_2]
        if role in ("area_head", "cadre"):
            return [self.area_b, self.nested_b, self.street_2]
        return [self.area_b, self.street_2]


def _street_configuration(street: registry.Street, marker: str) -> tuple[registry.Tag, Category]:
    tag = registry.Tag.objects.create(street=street, name=f"{marker}标签")
    category = Category.objects.create(street=street, name=f"{marker}分类")
    return tag, category


def _area_objects(
    place: Place,
    street: registry.Street,
    area: registry.ResidentialArea,
    department: registry.Department,
    tag: registry.Tag | None,
) -> None:
    """Registry, visits, demands and area-level meetings of one foreign area, every text carrying the marker."""
    m = place.marker
    place.area = area
    place.compound = factories.CompoundFactory(area=area, name=f"{m}小区")
    place.building = factories.BuildingFactory(compound=place.compound, road=f"{m}路", lane="9", number="1")
    place.household = factories.HouseholdFactory(building=place.building, room="901")
    if tag is not None:
        place.household.tags.set([tag])
    place.resident = factories.ResidentFactory(household=place.household, name=f"{m}居民", phone="13700009999")
    site_type = registry.PatrolSiteType.objects.filter(
        street=street
    ).first() or registry.PatrolSiteType.objects.create(street=street, name=f"{m}巡查类型")
    place.patrol_site = registry.PatrolSite.objects.create(
        area=area,
        compound=place.compound,
        site_type=site_type,
        name=f"{m}垃圾厢房",
        address=f"{m}路9弄",
        lat=31.25,
        lng=121.46,
    )
    # Colleagues in the same street may be named to each other (an action item's owner is any user of the street),
    # so area B's staff carry no marker; street 2's do.
    staff = m if street.code != "310106006" else "乙区"
    head = factories.area_user(area, Role.AREA_HEAD, full_name=f"{staff}书记")
    cadre = factories.area_user(area, full_name=f"{staff}社工")
    place.cadre = cadre
    place.users += [head, cadre]
    place.pairing = Pairing.objects.create(
        area=area, cadre=cadre, building=place.building, started_on=date(2026, 1, 5), created_by=head
    )
    place.visit = Visit.objects.create(
        area=area,
        cadre=cadre,
        household=place.household,
        visited_at=at(date(2026, 6, 1), 10),
        mode=VisitMode.FACE_TO_FACE,
        notes=f"{m}走访记录",
    )
    place.finding = Finding.objects.create(visit=place.visit, text=f"{m}走访发现")
    plan = Plan.objects.create(street=street, start=ROUTE_DAY, days=1)
    route = Route.objects.create(plan=plan, day=ROUTE_DAY, cadre=cadre, area=area, walk_m=800)
    Stop.objects.create(
        route=route,
        seq=1,
        kind=Stop.Kind.HOUSEHOLD,
        household=place.household,
        lat=31.25,
        lng=121.46,
        reason=f"{m}走访理由",
    )
    place.route_day = ROUTE_DAY
    place.demand = Demand.objects.create(
        area=area,
        kind=Kind.PROBLEM,
        source=Source.VISIT,
        text=f"{m}诉求内容",
        household=place.household,
        building=place.building,
        compound=place.compound,
        reporter=place.resident,
        owner=cadre,
        visit=place.visit,
        finding=place.finding,
        state=State.DISPATCHED,
    )
    place.demand_event = DemandEvent.objects.create(
        demand=place.demand,
        actor=cadre,
        action=Action.DISPATCH,
        to_state=State.DISPATCHED,
        note=f"{m}处置意见",
    )
    place.dispatch = Dispatch.objects.create(
        demand=place.demand,
        department=department,
        round=1,
        dispatched_at=at(date(2026, 6, 1), 11),
    )
    place.attachment = Attachment.objects.create(
        demand=place.demand,
        event=place.demand_event,
        file=ContentFile(b"%PDF-1.4 scope", name="scope.pdf"),
        name=f"{m}附件.pdf",
        uploaded_by=cadre,
    )
    place.meeting = Meeting.objects.create(
        street=street,
        area=area,
        kind=MeetingKind.JOINT,
        title=f"{m}联席会议",
        held_at=at(date(2026, 6, 2), 14),
        created_by=head,
    )
    place.agenda_item = AgendaItem.objects.create(meeting=place.meeting, demand=place.demand, note=f"{m}讨论情况")
    place.attendee = Attendee.objects.create(meeting=place.meeting, user=cadre, name=f"{m}参会人")
    place.meeting_file = MeetingFile.objects.create(
        meeting=place.meeting,
        file=ContentFile(b"%PDF-1.4 minutes", name="minutes.pdf"),
        name=f"{m}会议纪要.pdf",
        uploaded_by=head,
    )
    place.action_item = ActionItem.objects.create(
        street=street,
        area=area,
        meeting=place.meeting,
        title=f"{m}待办事项",
        description=f"{m}说明",
        owner=cadre,
        deadline=date(2026, 6, 30),
        created_by=head,
    )
    place.action_item.demands.set([place.demand])
    ActionProgress.objects.create(item=place.action_item, author=cadre, note=f"{m}进展", status="in_progress")
    place.event = Event.objects.create(
        street=street,
        area=area,
        kind=EventKind.CULTURE,
        title=f"{m}活动",
        organiser=f"{m}主办方",
        place=f"{m}活动室",
        starts_at=at(date(2026, 6, 20), 9),
        created_by=head,
    )
    place.registration = Registration.objects.create(
        event=place.event, resident=place.resident, name=place.resident.name
    )
    place.training = TrainingSession.objects.create(
        street=street, area=area, title=f"{m}培训", held_at=at(date(2026, 5, 20), 14)
    )
    place.notification = Notification.objects.create(
        user=cadre, title=f"{m}通知", body=f"{m}通知内容", url=f"/demands/{place.demand.pk}/", key=f"scope-{m}"
    )
    place.job = Job.objects.create(
        kind=JobKind.DEMAND_EXPORT,
        handler="ningju.demands.exports.run",
        created_by=head,
        message=f"{m}任务",
        output_file=ContentFile(f"{m}导出".encode(), name="export.csv"),
    )


def build() -> ScopeWorld:
    """Create the world (call inside a database transaction that the caller rolls back)."""
    street = factories.StreetFactory(code="310106006", name="江宁路街道")
    street_2 = factories.StreetFactory(code="310106099", name=f"{MARK_STREET}街道")
    area_a = factories.AreaFactory(street=street, code="310106006701", name="本区恒德里")
    area_b = factories.AreaFactory(street=street, code="310106006702", name=f"{MARK_AREA}居民区")
    area_2 = factories.AreaFactory(street=street_2, code="310106099801", name=f"{MARK_STREET}居民区")
    own_department = factories.DepartmentFactory(street=street, name="城管中队", slug="scope-chengguan")
    other_department = factories.DepartmentFactory(street=street, name="房管办", slug="scope-fangguan")
    department_2 = factories.DepartmentFactory(street=street_2, name=f"{MARK_STREET}城管", slug="scope-s2")
    own_household = factories.HouseholdFactory(building__compound__area=area_a, room="101")
    factories.ResidentFactory(household=own_household, name="本区居民")

    b = Place(name="area B", marker=MARK_AREA)
    _area_objects(b, street, area_b, other_department, tag=None)

    s2 = Place(name="street 2", marker=MARK_STREET, department=department_2)
    s2.tag, s2.category = _street_configuration(street_2, MARK_STREET)
    _area_objects(s2, street_2, area_2, department_2, tag=s2.tag)
    admin_2 = factories.street_admin(street_2, full_name=f"{MARK_STREET}管理员")
    liaison_2 = factories.liaison(department_2, full_name=f"{MARK_STREET}联络员")
    s2.users += [admin_2, liaison_2]
    s2.admin = admin_2
    s2.cluster = Cluster.objects.create(
        street=street_2,
        title=f"{MARK_STREET}同类诉求",
        window_start=date(2026, 5, 1),
        window_end=date(2026, 5, 31),
    )
    ClusterMember.objects.create(cluster=s2.cluster, demand=s2.demand, similarity=0.9)
    s2.mechanism = Mechanism.objects.create(
        street=street_2, cluster=s2.cluster, name=f"{MARK_STREET}长效机制", description=f"{MARK_STREET}机制说明"
    )
    s2.scorecard = ScorecardIssue.objects.create(
        street=street_2,
        subject=ScorecardSubject.AREA,
        start=date(2026, 5, 1),
        end=date(2026, 5, 31),
        weights={"visits": 1},
        rows=[
            {
                "key": "a",
                "label": f"{MARK_STREET}居民区",
                "area": f"{MARK_STREET}居民区",
                "indicators": {},
                "score": 90,
                "rank": 1,
            }
        ],
        issued_by=admin_2,
    )
    # Street 2's street-level meeting, event and training, as well as its area's.
    Meeting.objects.create(
        street=street_2,
        kind=MeetingKind.ANALYSIS,
        title=f"{MARK_STREET}民情分析会",
        held_at=at(date(2026, 6, 4), 9),
    )
    Event.objects.create(
        street=street_2,
        kind=EventKind.VOLUNTEER,
        title=f"{MARK_STREET}街道活动",
        organiser=f"{MARK_STREET}街道",
        place=f"{MARK_STREET}广场",
        starts_at=at(date(2026, 6, 21), 9),
    )
    TrainingSession.objects.create(
        street=street_2, title=f"{MARK_STREET}街道培训", held_at=at(date(2026, 5, 21), 9)
    )

    # Street 1's own street-level meeting and event, holding area B's demand and resident.
    nested = Place(
        name="area B inside street 1's street-level objects",
        marker=MARK_AREA,
        containers=("meeting", "event"),
        inner=b,
    )
    nested.meeting = Meeting.objects.create(
        street=street, kind=MeetingKind.ANALYSIS, title="街道民情分析会", held_at=at(date(2026, 6, 5), 9)
    )
    nested.agenda_item = AgendaItem.objects.create(meeting=nested.meeting, demand=b.demand, note="街道讨论")
    nested.event = Event.objects.create(
        street=street,
        kind=EventKind.VOLUNTEER,
        title="街道志愿活动",
        organiser="江宁路街道",
        place="街道广场",
        starts_at=at(date(2026, 6, 22), 9),
    )
    assert b.resident is not None
    nested.registration = Registration.objects.create(
        event=nested.event, resident=b.resident, name=b.resident.name
    )

    return ScopeWorld(
        street=street,
        area_a=area_a,
        own_household=own_household,
        admin=factories.street_admin(street, username="scope-admin", full_name="本街管理员"),
        head=factories.area_user(area_a, Role.AREA_HEAD, username="scope-head", full_name="本区书记"),
        cadre=factories.area_user(area_a, username="scope-cadre", full_name="本区社工"),
        liaison=factories.liaison(own_department, username="scope-liaison", full_name="本街联络员"),
        area_b=b,
        street_2=s2,
        nested_b=nested,
    )
