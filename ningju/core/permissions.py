"""Who may see which people, background jobs and notifications. Registered with `ningju.core.scoping`, which every
page and API endpoint fetches through.

- users: the staff of one's own street (its administrators, the areas' heads and cadres, the departments'
  liaisons), the people a meeting, action item or troika may name; nobody of another street;
- a job (an export, an import, a retraining) and its result file: only the user who started it;
- a notification: only its recipient;
- an audit row: the administrators of the street its user works for.
"""

from typing import Any

from django.db.models import Q

from ningju.core import scoping
from ningju.core.models import AuditEntry, Job, Notification, User


@scoping.rule(User)
def user_q(user: Any) -> Q:
    street_id = scoping.staff_street_id(user)
    if street_id is None:
        return scoping.NOTHING
    return Q(is_active=True) & (Q(street=street_id) | Q(area__street=street_id) | Q(department__street=street_id))


@scoping.rule(Job)
def job_q(user: Any) -> Q:
    return Q(created_by=user.pk)


@scoping.rule(Notification)
def notification_q(user: Any) -> Q:
    return Q(user=user.pk)


@scoping.rule(AuditEntry)
def audit_entry_q(user: Any) -> Q:
    """The audit log of a street's staff is reviewed by that street's administrators (deactivated staff included);
    nobody else reads it outside the Django admin. Rows without a user (a guessed username) name nobody here."""
    if not scoping.is_street_admin(user):
        return scoping.NOTHING
    street_id = user.street_id
    return Q(user__street=street_id) | Q(user__area__street=street_id) | Q(user__department__street=street_id)


def can_reveal_staff_phone(user: Any, staff: User) -> bool:
    """May `user` see this member of staff's phone number in clear? The administrators of the street that person
    works for, nobody else: a number in the staff list is for reaching a colleague, and the street runs its staff."""
    if not scoping.is_street_admin(user) or not user.is_active:
        return False
    street_id = scoping.staff_street_id(staff)
    return street_id is not None and street_id == user.street_id
