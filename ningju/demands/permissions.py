"""Who may see and do what with demands (诉求). Registered with `ningju.core.scoping`.

A demand states its rule on the model (`Demand.visible_to`: a street administrator their street, an area's head
and cadres their area and the demands they own, a liaison those dispatched to their department); its events,
dispatches, extensions and attachments follow its area. Stated here:
- its timeline, dispatches, extension requests and attachments: exactly as visible as the demand (a liaison
  sees the photos of a demand dispatched to them, a cadre the timeline of a demand they own in another area);
- a category: the staff of the street that owns it (shared defaults until categories belong to a street);
- who may record a demand: the street's administrator and the areas' heads and cadres (全岗通: any area of the
  street), never a liaison.
"""

from typing import Any

from django.db.models import Q

from ningju.core import scoping
from ningju.demands.models import Attachment, Category, Demand, DemandEvent, Dispatch, ExtensionRequest
from ningju.registry.permissions import street_config_q


@scoping.rule(DemandEvent, Dispatch, ExtensionRequest, Attachment)
def demand_part_q(user: Any) -> Q:
    return scoping.in_scope(user, Demand, "demand")


@scoping.rule(Category)
def category_q(user: Any) -> Q:
    return street_config_q(user, Category)


def can_create_demand(user: Any) -> bool:
    return scoping.user_street_id(user) is not None
