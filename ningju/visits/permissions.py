"""Who may see and do what in visits (包联走访). Registered with `ningju.core.scoping`.

Pairings, visits and routes name their area in `SCOPE_AREA` on the model. Stated here: a finding is as visible as
its visit (its area), so a demand made from a finding can only name one the user may see; a stop as its route.
"""

from datetime import date
from typing import Any

from django.db.models import Q
from django.utils import timezone

from ningju.core import scoping
from ningju.core.models import Role, User
from ningju.registry.permissions import street_config_q
from ningju.visits.models import Finding, Plan, Route, Stop, VisitRule, VisitSettings


@scoping.rule(Finding)
def finding_q(user: Any) -> Q:
    return scoping.area_path_q(user, Finding, "visit__area")


@scoping.rule(VisitRule, VisitSettings, Plan)
def street_settings_q(user: Any) -> Q:
    """Visit rules, settings and route plans belong to a street: its staff only."""
    return street_config_q(user)


@scoping.rule(Stop)
def stop_q(user: Any) -> Q:
    return scoping.in_scope(user, Route, "route")


def can_log_any_visits(user: Any) -> bool:
    """Visits are logged by area heads and cadres only (each in their own area, checked by the service); a street
    administrator reads them, liaisons and users without a role do neither. Asked before any id is looked up, so
    a refusal never depends on which record was named."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.role in scoping.AREA_ROLES)


def can_view_routes_of(viewer: User, owner: User) -> bool:
    """A cadre sees their own routes; an area head those of their area's people; a street administrator those of
    the whole street; a department liaison (or a user without a role) none."""
    if not viewer.is_active or viewer.role not in (Role.STREET_ADMIN, Role.AREA_HEAD, Role.CADRE):
        return False
    if viewer.pk == owner.pk:
        return True
    if owner.area_id is None or owner.area is None:
        return False
    if viewer.role == Role.AREA_HEAD:
        return owner.area_id == viewer.area_id
    if viewer.role == Role.STREET_ADMIN:
        return owner.area.street_id == viewer.street_id
    return False


def can_replan(viewer: User, owner: User, day: date) -> bool:
    """The cadre for their own day, or the head of the cadre's area; never a day that has passed (re-planning
    does not rewrite the past)."""
    if day < timezone.localdate() or not viewer.is_active:
        return False
    if viewer.role == Role.CADRE:
        return viewer.pk == owner.pk
    if viewer.role == Role.AREA_HEAD:
        return owner.area_id is not None and owner.area_id == viewer.area_id
    return False
