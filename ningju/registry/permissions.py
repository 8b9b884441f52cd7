"""Who may see and change the registry (数据底座). Registered with `ningju.core.scoping`.

The registry's area-bound records (area, compound, building, household, resident, patrol site) name their path to
the area in `SCOPE_AREA` on the model; street administrators see their street, area heads and cadres their area,
liaisons nothing. Stated here: what has no area.
- a department: the staff of its street (a liaison included: their own department's street);
- street configuration (tags, patrol site types, and the demands' categories): the staff of the street that
  owns it, so a second street's settings never show in the first.
"""

from typing import Any

from django.db import models
from django.db.models import Q

from ningju.core import scoping
from ningju.registry.models import Department, PatrolSiteType, Tag


def street_config_q(user: Any) -> Q:
    """Configuration owned by a street: visible to the staff of that street only."""
    street_id = scoping.staff_street_id(user)
    return scoping.NOTHING if street_id is None else Q(street=street_id)


@scoping.rule(Department)
def department_q(user: Any) -> Q:
    street_id = scoping.staff_street_id(user)
    return scoping.NOTHING if street_id is None else Q(street=street_id)


@scoping.rule(Tag)
def tag_q(user: Any) -> Q:
    return street_config_q(user)


@scoping.rule(PatrolSiteType)
def patrol_site_type_q(user: Any) -> Q:
    return street_config_q(user)


def can_change(user: Any, obj: models.Model) -> bool:
    """May `user` edit this registry record? Street administrators and the area's own head and cadres."""
    return scoping.can_change(user, obj)


def can_reveal(user: Any, obj: models.Model) -> bool:
    """May `user` see this record's ID or phone number in clear? Only configured roles, only in scope."""
    return scoping.can_reveal(user, obj)


def can_reveal_compound_contact(user: Any, obj: models.Model) -> bool:
    """May `user` see a compound's owners' committee or property contact number in clear? The compound's own area
    (its head and cadres) and the street's administrators, who work with the troika; liaisons and other areas not."""
    return scoping.can_change(user, obj)
