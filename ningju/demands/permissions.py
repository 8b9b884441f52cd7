"""Who may see and do what with demands (诉求). Registered with `ningju.core.scoping`.

A demand states its rule on the model (`Demand.visible_to`: a street administrator their street, an area's head
and cadres their area and the demands they own, a liaison those dispatched to their department). Stated here:
- its timeline, dispatches, extension requests and attachments: exactly as visible as the demand (a liaison
  sees the photos of a demand dispatched to them, a cadre the timeline of a demand they own in another area);
- a category, a deadline setting: the staff of the street that owns it;
- who may record a demand: the street's administrator and the areas' heads and cadres (全岗通: any area of the
  street), never a liaison.
"""

from typing import Any

from django.db.models import Q

from ningju.core import scoping
from ningju.core.models import Role
from ningju.demands.models import (
    Attachment,
    Category,
    DeadlineLimit,
    Demand,
    DemandEvent,
    Dispatch,
    ExtensionRequest,
)
from ningju.registry.permissions import street_config_q


@scoping.rule(DemandEvent, Dispatch, ExtensionRequest, Attachment)
def demand_part_q(user: Any) -> Q:
    return scoping.in_scope(user, Demand, "demand")


@scoping.rule(Category, DeadlineLimit)
def category_q(user: Any) -> Q:
    return street_config_q(user)


def can_create_demand(user: Any) -> bool:
    """全岗通: the street's administrator and any area's head or cadre record demands; a liaison never does."""
    return is_area_or_street_staff(user)


def is_area_or_street_staff(user: Any) -> bool:
    """The street administrator and the areas' heads and cadres: those who receive, handle and list demands."""
    return bool(getattr(user, "is_authenticated", False)) and user.role in (Role.STREET_ADMIN, *scoping.AREA_ROLES)


def is_department_liaison(user: Any) -> bool:
    """A liaison with a department: they see and answer the orders dispatched to it (the department portal)."""
    return (
        bool(getattr(user, "is_authenticated", False))
        and user.role == Role.LIAISON
        and user.department_id is not None
    )


def is_liaison(user: Any) -> bool:
    return getattr(user, "role", None) == Role.LIAISON
