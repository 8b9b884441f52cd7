"""The demo's year of meetings: twelve 民情分析会 with problem lists and action items, the troika in every compound
every month with a few missed, the article's 61 activities and 72 planning meetings with 1,200+ taking part,
cadre training — the same for the same seed, and removable before a reset."""

from collections import Counter
from datetime import date, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from ningju.core.models import Role, User
from ningju.core.workdays import workdays_between
from ningju.meetings.demo import MeetingsDemoResult, demo_meetings, demo_meetings_delete
from ningju.meetings.models import (
    ActionItem,
    ActionProgress,
    ActionStatus,
    AgendaItem,
    Attendee,
    Event,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Party,
    Registration,
    TrainingAttendance,
    TrainingKind,
    TrainingSession,
)
from ningju.registry.models import Compound, Grid, ResidentialArea, Street

pytestmark = pytest.mark.django_db
SEED = 7


@pytest.fixture
def street() -> Street:
    call_command("demo", households=200, seed=SEED, stdout=StringIO())
    return Street.objects.get(code="310106006")


@pytest.fixture
def today() -> date:
    return timezone.localdate()


@pytest.fixture
def result(street: Street, today: date) -> MeetingsDemoResult:
    # `ningju demo` already wrote the meetings; write them again to hold the result the command printed.
    demo_meetings_delete(street)
    return demo_meetings(street=street, seed=SEED, today=today)


def month_of(at: Any) -> tuple[int, int]:
    local = timezone.localtime(at)
    return local.year, local.month


def snapshot() -> list[tuple[Any, ...]]:
    """What two runs should agree on, without primary keys."""
    meetings = sorted(
        (
            m.kind,
            m.status,
            m.title,
            m.held_at.isoformat(),
            m.minutes,
            m.decisions,
            tuple(sorted(m.agenda_items.values_list("demand__text", flat=True))),
            tuple(sorted(m.attendees.values_list("name", "party"))),
        )
        for m in Meeting.objects.all()
    )
    actions = sorted(
        ActionItem.objects.values_list(
            "title", "deadline", "status", "done_at", "owner__username", "department__name"
        )
    )
    registrations = sorted(Registration.objects.values_list("event__title", "name", "attended", "walk_in"))
    return [*meetings, *actions, *registrations]


def test_a_year_of_meetings_monthly_and_quarterly(result: MeetingsDemoResult, street: Street, today: date) -> None:
    analysis = Meeting.objects.filter(kind=MeetingKind.ANALYSIS)
    assert analysis.count() == result.analysis == 12
    assert analysis.filter(area__isnull=True, compound__isnull=True).count() == 12  # street-wide
    months = Counter(month_of(at) for at in analysis.values_list("held_at", flat=True))
    assert len(months) == 12 and (today.year, today.month) in months
    for meeting in analysis.filter(status=MeetingStatus.HELD):
        parties = set(meeting.attendees.values_list("party", flat=True))
        assert {Party.STREET, Party.COMMITTEE, Party.DEPARTMENT} <= parties
        assert meeting.minutes and meeting.decisions
    subgrids = Grid.objects.filter(street=street, parent__isnull=False).count()
    assert Meeting.objects.filter(kind=MeetingKind.SUBGRID).count() == result.subgrid == subgrids * 12
    areas = ResidentialArea.objects.filter(street=street).count()
    assert Meeting.objects.filter(kind=MeetingKind.JOINT).count() == result.joint == areas * 4
    assert not Meeting.objects.filter(status=MeetingStatus.HELD, held_at__gte=timezone.now()).exists()
    # The demo describes the year up to yesterday: a meeting later today, or earlier today, is still planned.
    start_of_today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    assert not Meeting.objects.filter(status=MeetingStatus.PLANNED, held_at__lt=start_of_today).exists()


def test_the_troika_meets_at_every_compound_monthly_with_a_few_months_missed(
    result: MeetingsDemoResult, street: Street, today: date
) -> None:
    compounds = Compound.objects.filter(area__street=street).count()
    troika = Meeting.objects.filter(kind=MeetingKind.TROIKA)
    assert not troika.filter(compound__isnull=True).exists()
    for meeting in troika.select_related("compound"):
        assert meeting.compound is not None and meeting.area_id == meeting.compound.area_id
    first_of_month = timezone.make_aware(datetime(today.year, today.month, 1))
    held = troika.filter(status=MeetingStatus.HELD)
    past = held.filter(held_at__lt=first_of_month)
    assert result.troika_due == compounds * 11
    assert past.count() == result.troika_due - result.troika_missed
    assert 0.03 <= result.troika_missed / result.troika_due <= 0.15
    per_month = Counter((m.compound_id, month_of(m.held_at)) for m in held)
    assert max(per_month.values()) == 1  # one a month (一小区一月一会)
    current = held.filter(held_at__gte=first_of_month).count()
    planned = troika.filter(status=MeetingStatus.PLANNED)
    assert current + planned.count() <= compounds
    assert held.count() == result.troika_held
    assert planned.count() == result.troika_planned
    month_end = (first_of_month + timedelta(days=32)).replace(day=1).date() - timedelta(days=1)
    if len(workdays_between(today, month_end)) > 1:
        assert planned.exists()
    for meeting in planned:
        assert month_of(meeting.held_at) == (today.year, today.month)
        assert not meeting.minutes and not meeting.inspected
    sample = held.first()
    assert sample is not None and sample.inspected and sample.minutes
    parties = set(sample.attendees.values_list("party", flat=True))
    assert {Party.COMMITTEE, Party.OWNERS, Party.PROPERTY} <= parties
    assert not Attendee.objects.filter(name__regex=r"\d").exists()  # names only, no phone numbers


def test_problem_lists_come_from_the_month_before(result: MeetingsDemoResult) -> None:
    for meeting in Meeting.objects.filter(kind=MeetingKind.ANALYSIS):
        items = list(meeting.agenda_items.select_related("demand"))
        assert 5 <= len(items) <= 12, meeting.title
        for item in items:
            assert meeting.held_at - timedelta(days=31) <= item.demand.created_at < meeting.held_at
            assert item.note
    assert AgendaItem.objects.count() == result.agenda_items


def test_every_action_item_has_an_owner_a_deadline_and_its_demands(
    result: MeetingsDemoResult, today: date
) -> None:
    items = list(ActionItem.objects.prefetch_related("demands").select_related("meeting", "owner"))
    assert len(items) == result.action_items > 20
    progress = Counter(ActionProgress.objects.values_list("item_id", flat=True))
    for item in items:
        assert item.owner_id is not None or item.department_id is not None
        assert item.meeting is not None and item.meeting.status == MeetingStatus.HELD
        assert item.deadline > timezone.localtime(item.meeting.held_at).date()
        demands = list(item.demands.all())
        assert demands, item.pk
        agenda = set(item.meeting.agenda_items.values_list("demand_id", flat=True))
        assert {d.pk for d in demands} <= agenda
        if item.department_id is not None and item.owner is not None:
            assert item.owner.role == Role.LIAISON and item.owner.department_id == item.department_id
        if item.status == ActionStatus.DONE:
            assert item.done_at is not None and item.result
            assert item.created_at < item.done_at < timezone.now()
            assert progress[item.pk] >= 1
        else:
            assert item.done_at is None
    statuses = Counter(item.status for item in items)
    past = [item for item in items if item.deadline < today]
    assert sum(item.status == ActionStatus.DONE for item in past) > 0.75 * len(past)
    overdue = [i for i in past if i.status in (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)]
    assert overdue and len(overdue) == result.actions_overdue
    assert statuses[ActionStatus.DONE] == result.actions[ActionStatus.DONE]
    assert Meeting.objects.filter(kind=MeetingKind.TROIKA, action_items__isnull=False).exists()
    for note in ActionProgress.objects.select_related("item"):
        assert note.item.created_at <= note.at < timezone.now()


def test_events_match_the_articles_figures(result: MeetingsDemoResult) -> None:
    assert Event.objects.count() == result.events == 61
    planning = Meeting.objects.filter(kind=MeetingKind.PLANNING)
    assert planning.count() == result.planning == 72
    assert not planning.filter(prepared_events__isnull=True).exists()
    for event in Event.objects.prefetch_related("planning_meetings"):
        assert event.starts_at < timezone.now()
        assert all(
            m.held_at < event.starts_at and m.area_id == event.area_id for m in event.planning_meetings.all()
        )
    attended = Registration.objects.filter(attended=True).count()
    assert attended == result.attended >= 1200
    assert Registration.objects.filter(walk_in=True, resident__isnull=True).count() == result.walk_ins > 0
    assert not Registration.objects.filter(walk_in=False, resident__isnull=True).exists()
    assert Registration.objects.filter(volunteer=True).count() == result.volunteers > 0
    for registration in Registration.objects.filter(resident__isnull=False).select_related(
        "event", "resident__household__building__compound"
    ):
        assert registration.resident is not None
        assert registration.resident.household.building.compound.area_id == registration.event.area_id
        assert registration.registered_at <= registration.event.starts_at
    for event in Event.objects.filter(capacity__isnull=False):
        assert event.capacity is not None and event.registrations.count() <= event.capacity


def test_most_cadres_attend_training(result: MeetingsDemoResult, street: Street) -> None:
    trainings = TrainingSession.objects.filter(street=street)
    assert trainings.filter(kind=TrainingKind.TRAINING, area__isnull=True).count() == result.trainings == 12
    assert trainings.filter(kind=TrainingKind.FIVE_SOCIAL).count() == result.five_social > 0
    cadres = User.objects.filter(street=street, role__in=[Role.CADRE, Role.AREA_HEAD]).count()
    session = trainings.filter(kind=TrainingKind.TRAINING).first()
    assert session is not None and session.attendance.count() == cadres
    attendance = TrainingAttendance.objects.all()
    present = attendance.filter(attended=True).count()
    assert present == result.training_attended
    assert 0.8 <= present / attendance.count() < 1
    assert not attendance.exclude(user__role__in=[Role.CADRE, Role.AREA_HEAD]).exists()


def test_the_same_seed_gives_the_same_year_and_delete_removes_it(
    result: MeetingsDemoResult, street: Street, today: date
) -> None:
    first = snapshot()
    assert len(result.lines()) == 5 and "民情分析会12次" in result.lines()[0]
    deleted = demo_meetings_delete(street)
    assert deleted["meetings"] == result.analysis + result.subgrid + result.joint + result.planning + (
        result.troika_held + result.troika_planned
    )
    for model in (Meeting, ActionItem, ActionProgress, Event, Registration, TrainingSession, Attendee):
        assert not model.objects.exists(), model
    demo_meetings(street=street, seed=SEED, today=today)
    assert snapshot() == first
    demo_meetings_delete(street)
    demo_meetings(street=street, seed=SEED + 1, today=today)
    assert snapshot() != first
