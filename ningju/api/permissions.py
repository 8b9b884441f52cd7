"""Who may see (and so revoke) which API tokens. Registered with `ningju.core.scoping`.

- one's own tokens, whatever the role;
- a street administrator: also the tokens of the staff of their own street (its administrators, the areas' heads
  and cadres, the departments' liaisons), to end a lost phone's access; nobody else's.
"""

from typing import Any

from django.db.models import Q

from ningju.api.models import DeviceToken
from ningju.core import scoping


@scoping.rule(DeviceToken)
def device_token_q(user: Any) -> Q:
    own = Q(user=user.pk)
    if not scoping.is_street_admin(user):
        return own
    street_id = user.street_id
    return (
        own | Q(user__street=street_id) | Q(user__area__street=street_id) | Q(user__department__street=street_id)
    )
