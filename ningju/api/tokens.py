"""API tokens: issuing one per device, recording its use, and revoking them (one, or all of a user's).

Revocation also follows the account: a receiver on the User model revokes every token of a user whose password,
active flag, role or scope (street, area, department) changes, whichever path made the change.
"""

from typing import Any

from django.contrib.auth.hashers import check_password
from django.db import models
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone
from knox import auth as knox_auth
from knox.settings import knox_settings

from ningju.api.models import DeviceToken
from ningju.core.audit import audit
from ningju.core.models import AuditAction, User

# What a token is for: the account fields whose change ends every token of the user. A token carries the rights of
# the account as they were at login; a new password, a new role or a new area must not leave an old phone with the
# old ones.
SCOPE_FIELDS = ("is_active", "role", "street_id", "area_id", "department_id")


class TokenAuthentication(knox_auth.TokenAuthentication):
    """knox's hashed, expiring token (`Authorization: Token <token>`), sliding: each use moves the expiry on and
    records when the device was last used (for the devices page), in one write at most once a minute.

    knox also looks through all the user's other tokens on every request to delete expired ones; here an expired
    token is refused (and deleted) when it is presented, and the others are swept when the user signs in again
    (`token_create`), so a request costs one query."""

    def _cleanup_token(self, auth_token: DeviceToken) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False

    def renew_token(self, auth_token: DeviceToken) -> None:
        now = timezone.now()
        new_expiry = now + knox_settings.TOKEN_TTL
        if (new_expiry - auth_token.expiry).total_seconds() > knox_settings.MIN_REFRESH_INTERVAL:
            auth_token.expiry, auth_token.last_used = new_expiry, now
            auth_token.save(update_fields=["expiry", "last_used"])


def token_create(*, user: User, name: str = "") -> tuple[DeviceToken, str]:
    """A new token for one device of `user`: the stored row (hash only) and the token itself, to show once."""
    DeviceToken.objects.filter(user=user.pk, expiry__lt=timezone.now()).delete()
    token, key = DeviceToken.objects.issue(user=user, name=name.strip())
    return token, key


def token_revoke(*, token: DeviceToken, reason: str, by: User | None = None, request: Any = None) -> None:
    """Revoke one token (the device signs out, or an administrator ends it); audited."""
    audit(
        user=by,
        action=AuditAction.TOKEN_REVOKE,
        target=token.user,
        reason=reason,
        detail={"tokens": 1, "device": token.name},
        request=request,
    )
    token.delete()


def tokens_revoke(user: User, *, reason: str, by: User | None = None, request: Any = None) -> int:
    """Revoke every token of `user` (audited when there was one); the number revoked."""
    tokens = DeviceToken.objects.filter(user=user.pk)
    count = tokens.count()
    if count:
        audit(
            user=by,
            action=AuditAction.TOKEN_REVOKE,
            target=user,
            reason=reason,
            detail={"tokens": count},
            request=request,
        )
        tokens.delete()
    return count


# --- revocation that follows the account ---------------------------------------------------------------------
#
# This is a receiver and not a call in each service on purpose: "a token dies with the password, the account and
# the role it was issued under" is a security guarantee, and it must hold for every path that changes a user — the
# admin, the password-change and reset pages, a service, a data fix in the shell — including paths written later
# by someone who does not know about tokens. The pre_save receiver reads the stored row and notes what changed; the
# post_save receiver revokes once the change is saved. (`QuerySet.update()` sends no signals: a bulk change of
# users must call `tokens_revoke` itself.)


def _password_changed(user: User, stored_hash: str) -> bool:
    if user.password == stored_hash:
        return False
    # Django re-hashes a password on sign-in when the hasher changes (say, to Argon2): a new hash of the same
    # password is not a password change. `_password` holds the raw password after `set_password`.
    raw = getattr(user, "_password", None)
    return not (raw is not None and stored_hash and check_password(raw, stored_hash))


@receiver(pre_save, sender=User, dispatch_uid="ningju_tokens_note_account_change")
def note_account_change(sender: type[User], instance: User, update_fields: Any = None, **kwargs: Any) -> None:
    instance._tokens_revoke_reason = ""  # type: ignore[attr-defined]
    if instance.pk is None or kwargs.get("raw"):
        return
    watched = {"password", "is_active", "role", "street", "area", "department"}
    if update_fields is not None and not watched & {name.removesuffix("_id") for name in update_fields}:
        return  # a sign-in's last_login and the like: nothing that ends a token
    # The row as it is before this save.
    stored = User.objects.filter(pk=instance.pk).values("password", *SCOPE_FIELDS).first()
    if stored is None:
        return
    changed = [field.removesuffix("_id") for field in SCOPE_FIELDS if getattr(instance, field) != stored[field]]
    if _password_changed(instance, stored["password"]):
        changed.insert(0, "password")
    if changed:
        instance._tokens_revoke_reason = "account_change: " + ", ".join(changed)  # type: ignore[attr-defined]


@receiver(post_save, sender=User, dispatch_uid="ningju_tokens_revoke_on_account_change")
def revoke_on_account_change(sender: type[User], instance: User, created: bool, **kwargs: Any) -> None:
    reason = getattr(instance, "_tokens_revoke_reason", "")
    if reason:
        instance._tokens_revoke_reason = ""  # type: ignore[attr-defined]
        tokens_revoke(instance, reason=reason)


def tokens_of(user: User) -> "models.QuerySet[DeviceToken]":
    """The user's own tokens, newest first (for the devices page)."""
    return DeviceToken.objects.filter(user=user.pk).order_by("-created")
