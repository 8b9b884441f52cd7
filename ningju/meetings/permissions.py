"""Who may see and do what in meetings, action items, events and training. Reached through `ningju.core.scoping`
(`scoping.visible(user, ...)` finds the rules registered here); pages and the API ask these predicates, never the
role themselves.

Visibility: meetings, action items, events, training and issued scorecards state theirs on the model
(`visible_to`: the street's rows to its administrator, an area's rows and the street-wide ones to the area's
users). What hangs under a visible parent is narrowed again here, so a street-wide meeting or event does not carry
another area's records to an area user:
- an agenda item: its meeting and its demand both visible;
- an attendee, a file: its meeting visible;
- a registration: its event visible and, on a street-wide event, the resident one of the user's area (walk-ins,
  who are a name without an address, are seen by the area users who sign them in on the day).
"""

from typing import Any

from django.db.models import Q

from ningju.core import scoping
from ningju.core.models import Role
from ningju.demands.models import Demand
from ningju.meetings.models import (
    ActionItem,
    ActionProgress,
    AgendaItem,
    Attendee,
    Event,
    Meeting,
    MeetingFile,
    Registration,
    ScoreWeights,
    TrainingAttendance,
    TrainingSession,
)
from ningju.registry.models import ResidentialArea
from ningju.registry.permissions import street_config_q


def is_street_admin(user: Any) -> bool:
    return scoping.is_street_admin(user)


def is_area_user(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.role in scoping.AREA_ROLES


# --- visibility of nested rows ---------------------------------------------------------------------------------


@scoping.rule(AgendaItem)
def agenda_item_q(user: Any) -> Q:
    return scoping.in_scope(user, Meeting, "meeting") & scoping.in_scope(user, Demand, "demand")


@scoping.rule(Attendee, MeetingFile)
def meeting_part_q(user: Any) -> Q:
    return scoping.in_scope(user, Meeting, "meeting")


@scoping.rule(ActionProgress)
def action_progress_q(user: Any) -> Q:
    return scoping.in_scope(user, ActionItem, "item")


@scoping.rule(TrainingAttendance)
def training_attendance_q(user: Any) -> Q:
    return scoping.in_scope(user, TrainingSession, "session")


@scoping.rule(ScoreWeights)
def score_weights_q(user: Any) -> Q:
    """The assessment's weights are the street's setting."""
    return street_config_q(user)


@scoping.rule(Registration)
def registration_q(user: Any) -> Q:
    if is_street_admin(user):
        return Q(event__street=user.street_id)
    if is_area_user(user) and user.area_id is not None:
        own_event = Q(event__area=user.area_id)
        street_wide = Q(event__area__isnull=True, event__street=user.area.street_id)
        own_people = Q(resident__household__building__compound__area=user.area_id) | Q(resident__isnull=True)
        return own_event | (street_wide & own_people)
    return scoping.NOTHING


# --- predicates ------------------------------------------------------------------------------------------------


def can_see_participation(user: Any) -> bool:
    """Events, training and totals are pages for the street and the areas; liaisons and users without a role get
    none of them."""
    return is_street_admin(user) or is_area_user(user)


def can_edit_event(user: Any, area: ResidentialArea | None) -> bool:
    """Street administrators edit every event of their street, area users those of their own area."""
    if is_street_admin(user):
        return area is None or area.street_id == user.street_id
    if is_area_user(user):
        return area is not None and area.pk == user.area_id
    return False


def can_create_event(user: Any) -> bool:
    return is_street_admin(user) or is_area_user(user)


def can_register(user: Any, event: Event) -> bool:
    """Registering and signing in: the event's own area users or the street administrator; for a street-wide
    event, every area user too (for the residents of their own area, see `can_handle_registration`)."""
    if can_edit_event(user, event.area):
        return True
    return event.area_id is None and is_area_user(user)


def can_handle_registration(user: Any, registration: Registration) -> bool:
    """Sign in, mark or cancel this registration: only one the user may see (their own area's people)."""
    if not can_register(user, registration.event):
        return False
    return scoping.visible(user, Registration.objects.filter(pk=registration.pk)).exists()


def can_edit_training(user: Any, area: ResidentialArea | None) -> bool:
    if is_street_admin(user):
        return area is None or area.street_id == user.street_id
    if getattr(user, "role", None) == Role.AREA_HEAD:
        return area is not None and area.pk == user.area_id
    return False


def can_create_training(user: Any) -> bool:
    return is_street_admin(user) or getattr(user, "role", None) == Role.AREA_HEAD


def can_record_troika(user: Any) -> bool:
    """The troika's monthly on-site office is recorded by the street administrator or an area's users."""
    return is_street_admin(user) or (is_area_user(user) and user.area_id is not None)


def can_see_troika_grid(user: Any) -> bool:
    return is_street_admin(user) or is_area_user(user)


def own_action_q(user: Any) -> Q:
    """Action items the user answers for: their own, and for a liaison their department's."""
    own = Q(owner=user.pk)
    if getattr(user, "role", None) == Role.LIAISON and user.department_id is not None:
        return own | Q(department=user.department_id)
    return own
