"""Passwords: a user's own change, an administrator's reset that forces a change, and unlocking locked accounts.

Every new or changed password is hashed with Argon2 (settings.PASSWORD_HASHERS). A reset gives the user a one-time
temporary password and sets `User.must_change_password`: until they choose their own, the web pages send them to
the change page (`ningju.core.middleware.PasswordChangeRequiredMiddleware`) and the API gives them no token.
Failed sign-ins lock an account per (username, address) pair (django-axes); a street administrator sees and
unlocks the locked accounts of their own street.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.db import transaction
from django.db.models import Max, Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ningju.core import scoping
from ningju.core.audit import audit
from ningju.core.errors import ApplicationError
from ningju.core.models import AuditAction, User

# Letters and digits that cannot be mistaken for one another when read out over the phone (no 0/O, 1/l/I).
TEMPORARY_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"
TEMPORARY_LENGTH = 12

# What a user who must change their password is told where no page can send them there (the API).
PASSWORD_CHANGE_REQUIRED = gettext_lazy("请先在网页上修改密码")


class TestArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 with the smallest cost, for the test run only: the same algorithm and code path as production (the
    stored hash still starts with "argon2"), without spending a quarter of a second on every factory-made user."""

    time_cost = 1
    memory_cost = 8
    parallelism = 1


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """Django's length rule with its message in our catalogue: Django 5.2 rewrote that message and its Chinese
    catalogue has no translation of the new text yet, so users saw it in English."""

    def get_error_message(self) -> str:
        return _("密码太短，至少需要%(min_length)d个字符。") % {"min_length": self.min_length}

    def get_help_text(self) -> str:
        return _("密码至少需要%(min_length)d个字符。") % {"min_length": self.min_length}


def must_change_password(user: object) -> bool:
    """Must this user choose a new password before anything else (after an administrator's reset)? Pages send
    them to the change page; the API token endpoint refuses them a token."""
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "must_change_password", False))


@transaction.atomic
def password_changed(*, user: User, request: HttpRequest | None = None) -> None:
    """Record that `user` has just set a new password of their own (the form has saved it): audit, and lift the
    obligation an administrator's reset imposed."""
    if user.must_change_password:
        user.must_change_password = False
        user.save(update_fields=["must_change_password"])
    audit(user=user, action=AuditAction.PASSWORD_CHANGE, target=user, request=request)


def can_reset_password(admin: User, user: User) -> bool:
    """A street administrator resets the password of a user of their own street (not their own: they change it)."""
    if not scoping.is_street_admin(admin) or admin.pk == user.pk:
        return False
    return scoping.visible(admin, User.objects.filter(pk=user.pk)).exists()


@transaction.atomic
def password_reset(*, admin: User, user: User, request: HttpRequest | None = None) -> str:
    """Give `user` a temporary password (returned, to be shown once and handed over in person) that they must
    change at their next sign-in. Their failed-sign-in lock, if any, is lifted too."""
    if not can_reset_password(admin, user):
        raise ApplicationError(_("只有本街道的街道管理员可以重置该用户的密码。"))
    temporary = "".join(secrets.choice(TEMPORARY_ALPHABET) for _ in range(TEMPORARY_LENGTH))
    user.set_password(temporary)
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password"])
    AccessAttempt.objects.filter(username=user.username).delete()
    audit(user=admin, action=AuditAction.PASSWORD_RESET, target=user, request=request)
    return temporary


@dataclass(frozen=True)
class LockedAccount:
    user: User
    sources: int  # how many addresses the account is locked from
    last_failure: datetime


def locked_accounts(admin: User) -> list[LockedAccount]:
    """The accounts of the administrator's street that are locked now (from at least one address), latest first."""
    if not scoping.is_street_admin(admin):
        return []
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    # One row per (username, address, browser); the lock counts the failures of a (username, address) pair.
    pairs = (
        AccessAttempt.objects.filter(attempt_time__gte=since)
        .values("username", "ip_address")
        .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
        .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
    )
    by_username: dict[str, list[datetime]] = {}
    for pair in pairs:
        by_username.setdefault(pair["username"], []).append(pair["last"])
    users = scoping.visible(admin, User.objects.filter(username__in=by_username)).select_related(
        "area", "department"
    )
    found = [
        LockedAccount(user=u, sources=len(by_username[u.username]), last_failure=max(by_username[u.username]))
        for u in users
    ]
    return sorted(found, key=lambda account: account.last_failure, reverse=True)


@transaction.atomic
def account_unlock(*, admin: User, username: str, request: HttpRequest | None = None) -> int:
    """Lift the lock on an account of the administrator's street, from every address; returns how many attempt
    records were cleared. Another street's account answers like a missing one."""
    user = (
        scoping.visible(admin, User.objects.filter(username=username)).first()
        if scoping.is_street_admin(admin)
        else None
    )
    if user is None:
        raise ApplicationError(str(scoping.NOT_FOUND_OR_OUT_OF_SCOPE))
    cleared, _rows = AccessAttempt.objects.filter(username=user.username).delete()
    audit(user=admin, action=AuditAction.UNLOCK, target=user, detail={"attempts": cleared}, request=request)
    return cleared
