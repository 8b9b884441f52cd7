"""Who may see and do what in visits (包联走访). Registered with `ningju.core.scoping`.

Pairings, visits and routes name their area in `SCOPE_AREA` on the model. Stated here: a finding is as visible as
its visit (its area), so a demand made from a finding can only name one the user may see.
"""

from typing import Any

from django.db.models import Q

from ningju.core import scoping
from ningju.visits.models import Finding


@scoping.rule(Finding)
def finding_q(user: Any) -> Q:
    return scoping.area_path_q(user, Finding, "visit__area")
