"""One permission layer (issue 9): ids in a write are fetched through the user's scope with one answer for missing
and out of scope (finding 3), nested data under a visible parent is narrowed again (finding 4), and nothing of a
second street reaches the first street's users."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from ningju.core import scoping
from ningju.core.models import Job, JobKind, Notification, User
from ningju.demands.models import Category, Demand
from ningju.demands.services import demand_create
from ningju.meetings import services as meeting_services
from ningju.meetings.models import ActionItem, Event, EventKind, Meeting, MeetingKind, Registration
from ningju.registry import models as registry
from tests import factories
from tests.conftest import World

DEMANDS = "/api/v1/demands/"


def api_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def page_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@dataclass
class OtherStreet:
    """A second street (北京西路) with one area, a household, a resident, a department and its users."""

    street: registry.Street
    area: registry.ResidentialArea
    household: registry.Household
    resident: registry.Resident
    department: registry.Department
    admin: User
    cadre: User
    liaison: User


@pytest.fixture
def other_street(world: World) -> OtherStreet:
    street = factories.StreetFactory(code="310106011", name="北京西路街道")
    area = factories.AreaFactory(street=street, code="310106011001", name="北京居民区")
    household = factories.HouseholdFactory(
        building__compound__area=area, building__road="北京西路", building__lane="999", room="808"
    )
    resident = factories.ResidentFactory(household=household, name="赵远方")
    department = factories.DepartmentFactory(street=street, name="北京西路城管", slug="bj-chengguan")
    return OtherStreet(
        street=street,
        area=area,
        household=household,
        resident=resident,
        department=department,
        admin=factories.street_admin(street, username="admin-bj"),
        cadre=factories.area_user(area, username="cadre-011-1"),
        liaison=factories.liaison(department, username="dept-bj"),
    )


def create_demand(user: User, **body: Any) -> Any:
    fields = {"kind": "problem", "source": "visit", "text": "楼道里堆满了旧家具", **body}
    return api_for(user).post(DEMANDS, fields, format="json")


# --- finding 3: ids in a write ---------------------------------------------------------------------------------


def test_cadre_cannot_name_a_resident_and_household_of_another_area_in_an_api_create(world: World) -> None:
    # 全岗通: a 恒德里 cadre may record a demand for 又一村, but may not attach 又一村's people they cannot see.
    response = create_demand(
        world.cadre,
        area=world.youyicun.code,
        household=world.other_household.pk,
        reporter=world.other_resident.pk,
    )

    assert response.status_code == 400
    assert "李建国" not in response.content.decode()
    assert not Demand.objects.exists()


@pytest.mark.parametrize("field", ["household", "reporter", "building", "compound"])
def test_an_id_out_of_scope_answers_exactly_like_one_that_does_not_exist(world: World, field: str) -> None:
    foreign = {
        "household": world.other_household.pk,
        "reporter": world.other_resident.pk,
        "building": world.other_household.building_id,
        "compound": world.other_household.building.compound_id,
    }[field]
    out_of_scope = create_demand(world.cadre, area=world.youyicun.code, **{field: foreign})
    missing = create_demand(world.cadre, area=world.youyicun.code, **{field: foreign + 100_000})

    assert out_of_scope.status_code == missing.status_code == 400
    assert out_of_scope.json() == missing.json()
    assert "所选记录不存在或不在您负责的范围内。" in out_of_scope.content.decode()


def test_street_admin_cannot_name_records_or_areas_of_another_street(
    world: World, other_street: OtherStreet
) -> None:
    with_resident = create_demand(world.admin, area=world.hengdeli.code, reporter=other_street.resident.pk)
    other_area = create_demand(world.admin, area=other_street.area.code)
    no_area = create_demand(world.admin, area="999999999999")

    assert with_resident.status_code == 400
    assert "赵远方" not in with_resident.content.decode()
    assert other_area.status_code == no_area.status_code == 400
    assert other_area.json() == no_area.json()
    assert not Demand.objects.exists()


def test_action_item_owner_of_another_street_answers_like_a_missing_one(
    world: World, other_street: OtherStreet
) -> None:
    def create(owner: int) -> Any:
        body = {"title": "清理楼道", "owner": owner, "days": 5}
        return api_for(world.admin).post("/api/v1/action-items/", body, format="json")

    foreign, missing = create(other_street.cadre.pk), create(other_street.cadre.pk + 10_000)

    assert foreign.status_code == missing.status_code == 400
    assert foreign.json() == missing.json()


def test_action_item_from_a_meeting_of_another_area_answers_like_a_missing_one(world: World) -> None:
    meeting = meeting_services.meeting_save(
        user=world.head,
        kind=MeetingKind.JOINT,
        title="恒德里联席会议",
        held_at=timezone.now(),
        area=world.hengdeli,
    )

    def create(meeting_id: int) -> Any:
        body = {"title": "清理楼道", "owner": world.other_cadre.pk, "days": 5, "meeting": meeting_id}
        return api_for(world.other_cadre).post("/api/v1/action-items/", body, format="json")

    foreign, missing = create(meeting.pk), create(meeting.pk + 10_000)

    assert foreign.status_code == missing.status_code == 400
    assert foreign.json() == missing.json()
    assert "恒德里联席会议" not in foreign.content.decode()


# --- finding 4: nested data ------------------------------------------------------------------------------------


@pytest.fixture
def street_meeting(world: World) -> Meeting:
    """A street-level 民情分析会 whose problem list holds one demand of each area."""
    own, _ = demand_create(
        user=world.admin, area=world.hengdeli, kind="problem", source="visit", text="恒德里路灯不亮"
    )
    other, _ = demand_create(
        user=world.admin, area=world.youyicun, kind="problem", source="visit", text="又一村三号楼漏水无人管"
    )
    meeting = meeting_services.meeting_save(
        user=world.admin, kind=MeetingKind.ANALYSIS, title="三月民情分析会", held_at=timezone.now()
    )
    meeting_services.agenda_add(user=world.admin, meeting=meeting, demand_ids=[own.pk, other.pk])
    meeting_services.action_create(
        user=world.admin,
        meeting=meeting,
        title="联系物业维修",
        owner=world.admin,
        deadline=timezone.localdate() + timedelta(days=7),
        demand_ids=[own.pk, other.pk],
    )
    return meeting


def test_area_user_reads_only_their_own_area_on_a_street_meeting_page(
    world: World, street_meeting: Meeting
) -> None:
    body = page_client(world.cadre).get(f"/meetings/{street_meeting.pk}/").content.decode()

    assert "恒德里路灯不亮" in body
    assert "又一村三号楼漏水无人管" not in body
    assert "另有1项属于其他居民区" in body


def test_street_admin_reads_the_whole_problem_list(world: World, street_meeting: Meeting) -> None:
    body = page_client(world.admin).get(f"/meetings/{street_meeting.pk}/").content.decode()

    assert "恒德里路灯不亮" in body
    assert "又一村三号楼漏水无人管" in body
    assert "属于其他居民区" not in body


def test_area_user_reads_only_their_own_area_on_a_street_meeting_over_the_api(
    world: World, street_meeting: Meeting
) -> None:
    own = Demand.objects.get(text="恒德里路灯不亮")
    response = api_for(world.cadre).get(f"/api/v1/meetings/{street_meeting.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert [row["demand"] for row in body["agenda"]] == [own.pk]
    assert body["agenda_hidden"] == 1
    assert [item["demands"] for item in body["action_items"]] == [[own.pk]]


def test_action_items_over_the_api_list_only_the_demands_the_user_may_see(
    world: World, street_meeting: Meeting
) -> None:
    own = Demand.objects.get(text="恒德里路灯不亮")
    item = street_meeting.action_items.get()

    listed = api_for(world.cadre).get("/api/v1/action-items/", {"mine": "false"})
    detail = api_for(world.cadre).get(f"/api/v1/action-items/{item.pk}/")

    assert listed.status_code == detail.status_code == 200
    rows = listed.json()["results"] if isinstance(listed.json(), dict) else listed.json()
    assert [row["demands"] for row in rows] == [[own.pk]]
    assert detail.json()["demands"] == [own.pk]
    assert len(api_for(world.admin).get(f"/api/v1/action-items/{item.pk}/").json()["demands"]) == 2


@pytest.fixture
def street_event(world: World) -> Event:
    """A street-wide event with a 恒德里 resident (王秀英) and a 又一村 resident (李建国) registered."""
    event = Event.objects.create(
        street=world.street,
        kind=EventKind.SELF_GOVERNANCE,
        title="街道邻里节",
        organiser="江宁路街道",
        place="街道广场",
        starts_at=timezone.now() + timedelta(days=3),
    )
    for resident in (world.resident, world.other_resident):
        Registration.objects.create(event=event, resident=resident, name=resident.name)
    return event


def test_area_user_sees_only_their_own_areas_registrations_of_a_street_event(
    world: World, street_event: Event
) -> None:
    body = page_client(world.cadre).get(f"/meetings/events/{street_event.pk}/").content.decode()
    admin_body = page_client(world.admin).get(f"/meetings/events/{street_event.pk}/").content.decode()

    assert "王秀英" in body
    assert "李建国" not in body
    assert "545" not in body  # 又一村's address
    assert "王秀英" in admin_body and "李建国" in admin_body


@pytest.mark.parametrize(("op", "field"), [("attend", "attended"), ("volunteer", "volunteer")])
def test_area_user_cannot_mark_another_areas_registration(
    world: World, street_event: Event, op: str, field: str
) -> None:
    foreign = Registration.objects.get(event=street_event, resident=world.other_resident)

    response = page_client(world.cadre).post(f"/meetings/events/registrations/{foreign.pk}/", {"op": op})

    assert response.status_code in (403, 404)
    foreign.refresh_from_db()
    assert getattr(foreign, field) is False


def test_area_user_cannot_cancel_another_areas_registration(world: World, street_event: Event) -> None:
    foreign = Registration.objects.get(event=street_event, resident=world.other_resident)

    response = page_client(world.cadre).post(f"/meetings/events/registrations/{foreign.pk}/", {"op": "cancel"})

    assert response.status_code in (403, 404)
    assert Registration.objects.filter(pk=foreign.pk).exists()


def test_area_user_still_signs_in_their_own_areas_registration(world: World, street_event: Event) -> None:
    own = Registration.objects.get(event=street_event, resident=world.resident)

    response = page_client(world.cadre).post(f"/meetings/events/registrations/{own.pk}/", {"op": "attend"})

    assert response.status_code == 302
    own.refresh_from_db()
    assert own.attended is True


def test_a_job_and_a_notification_are_only_their_owners(world: World) -> None:
    job = Job.objects.create(kind=JobKind.REGISTRY_EXPORT, handler="tests.nothing", created_by=world.admin)
    Notification.objects.create(user=world.admin, title="有新的吹哨诉求", key="test")

    assert list(scoping.visible(world.admin, Job.objects.all())) == [job]
    assert not scoping.visible(world.cadre, Job.objects.all()).exists()
    assert not scoping.visible(world.cadre, Notification.objects.all()).exists()


# --- the street boundary ---------------------------------------------------------------------------------------


def test_nothing_of_a_second_street_is_visible_to_the_first(world: World, other_street: OtherStreet) -> None:
    demand, _ = demand_create(
        user=other_street.admin, area=other_street.area, kind="problem", source="visit", text="北京西路井盖松动"
    )
    meeting = meeting_services.meeting_save(
        user=other_street.admin, kind=MeetingKind.ANALYSIS, title="北京西路分析会", held_at=timezone.now()
    )
    event = Event.objects.create(
        street=other_street.street,
        kind=EventKind.SELF_GOVERNANCE,
        title="北京西路邻里节",
        organiser="北京西路街道",
        place="广场",
        starts_at=timezone.now(),
    )
    Registration.objects.create(event=event, resident=other_street.resident, name=other_street.resident.name)
    item = meeting_services.action_create(
        user=other_street.admin,
        meeting=meeting,
        title="北京西路井盖维修",
        owner=other_street.cadre,
        deadline=timezone.localdate() + timedelta(days=7),
        demand_ids=[demand.pk],
    )
    tag = registry.Tag.objects.create(street=other_street.street, name="北京西路重点户")
    category = Category.objects.create(street=other_street.street, name="北京西路市容")
    theirs = {
        ActionItem: [item.pk],
        registry.Tag: [tag.pk],
        Category: [category.pk],
        registry.ResidentialArea: [other_street.area.pk],
        registry.Household: [other_street.household.pk],
        registry.Resident: [other_street.resident.pk],
        registry.Department: [other_street.department.pk],
        User: [other_street.admin.pk, other_street.cadre.pk, other_street.liaison.pk],
        Demand: [demand.pk],
        Meeting: [meeting.pk],
        Event: [event.pk],
        Registration: list(Registration.objects.filter(event=event).values_list("pk", flat=True)),
    }
    for user in (world.admin, world.head, world.cadre, world.other_cadre, world.liaison, world.nobody):
        for model, pks in theirs.items():
            leaked = scoping.visible(user, model._default_manager.filter(pk__in=pks))
            assert not leaked.exists(), f"{user.username} sees {model.__name__} of another street"
    # ...and the second street's own administrator does see them: the rules are not simply empty.
    assert scoping.visible(other_street.admin, Demand.objects.all()).get() == demand


def test_a_liaison_sees_no_demand_of_another_street(world: World, other_street: OtherStreet) -> None:
    demand, _ = demand_create(
        user=other_street.admin, area=other_street.area, kind="problem", source="visit", text="北京西路井盖松动"
    )

    assert not scoping.visible(world.liaison, Demand.objects.filter(pk=demand.pk)).exists()
    assert api_for(world.liaison).get(f"{DEMANDS}{demand.pk}/").status_code in (403, 404)


# --- every model is scoped, by construction --------------------------------------------------------------------

# Models that no page or API reads by user, so nobody may scope them, and why.
UNSCOPED = {
    "core.CalendarYear": "the national working-day calendar: the same for every street",
    "core.WorkdayOverride": "the national working-day calendar: the same for every street",
    "registry.HistoricalHousehold": "history rows, read only from a household already fetched in scope",
    "registry.HistoricalHousehold_tags": "history rows, read only from a household already fetched in scope",
    "registry.HistoricalResident": "history rows, read only from a resident already fetched in scope",
    "registry.HistoricalResident_tags": "history rows, read only from a resident already fetched in scope",
}


def test_every_model_states_who_may_see_it(world: World) -> None:
    """A new model gets a rule (its app's permissions.py, `visible_to` or `SCOPE_AREA`) or a reason here; a
    signed-in user of no role sees nothing of any of them."""
    from django.apps import apps

    missing = []
    for model in apps.get_models():
        label = model._meta.label
        if not model.__module__.startswith("ningju.") or label in UNSCOPED:
            continue
        try:
            scoping.visible(world.nobody, model._default_manager.all()).exists()
        except TypeError:
            missing.append(label)
            continue
        assert not scoping.visible(world.nobody, model._default_manager.all()).exists(), label
    assert missing == []
