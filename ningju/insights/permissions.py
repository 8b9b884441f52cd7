"""Who may see what of the insights (同类诉求, 长效机制, dashboards). Registered with `ningju.core.scoping`.

Clusters span areas, so only the street administrator of their street sees them; a standing mechanism is seen by
the street administrator and by the users of the areas it covers (both on the model, `visible_to`); rollups
follow their area. Stated here: a cluster member is as visible as both its cluster and its demand; a trained
text model is its street's.
"""

from typing import Any

from django.db.models import Q

from ningju.core import scoping
from ningju.demands.models import Demand
from ningju.insights.models import Cluster, ClusterMember, TextModel
from ningju.registry.permissions import street_config_q


@scoping.rule(ClusterMember)
def cluster_member_q(user: Any) -> Q:
    return scoping.in_scope(user, Cluster, "cluster") & scoping.in_scope(user, Demand, "demand")


@scoping.rule(TextModel)
def text_model_q(user: Any) -> Q:
    return street_config_q(user)
