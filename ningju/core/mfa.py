"""Second factor: who must use one, whether they have one, and checking a code (TOTP or a one-time recovery code)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from ningju.core.audit import audit
from ningju.core.models import AuditAction

# A TOTP code is 6 digits; a recovery code is StaticToken.random_token() (8 characters, at most 16 stored).
# Anything longer is not a code, and is refused before it reaches the database.
MAX_CODE_LENGTH = 32


def mfa_required(user: Any) -> bool:
    """Superusers and the roles in NINGJU_MFA_ROLES may not sign in with a password alone."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_superuser or user.role in settings.NINGJU_MFA_ROLES)


def is_enrolled(user: Any) -> bool:
    """The user has a confirmed authenticator (a TOTP device); recovery codes alone do not count."""
    if not getattr(user, "is_authenticated", False):
        return False
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def normalise_code(code: object) -> str:
    """Codes are typed by people: drop spaces and dashes, ignore case (recovery codes are stored lower-case)."""
    if not isinstance(code, str):
        return ""
    cleaned = code.strip().replace(" ", "").replace("-", "").lower()
    return cleaned if 0 < len(cleaned) <= MAX_CODE_LENGTH else ""


def match_device(user: Any, code: object, *, request: HttpRequest | None = None) -> Device | None:
    """The device that accepts `code`, or None; a recovery code is consumed. Both outcomes are audited."""
    if not getattr(user, "is_authenticated", False):
        return None
    cleaned = normalise_code(code)
    if cleaned:
        if cleaned.isdigit():
            for device in TOTPDevice.objects.filter(user=user, confirmed=True):
                if device.verify_token(cleaned):
                    return device
        for static in StaticDevice.objects.filter(user=user, confirmed=True):
            if static.verify_token(cleaned):
                remaining = static.token_set.count()
                audit(
                    user=user,
                    action=AuditAction.RECOVERY_USED,
                    target=user,
                    detail={"remaining": remaining},
                    request=request,
                )
                return static
    audit(user=user, action=AuditAction.MFA_FAILED, target=user, request=request)
    return None


def verify_otp(user: Any, code: str, *, request: HttpRequest | None = None) -> bool:
    """True for a valid TOTP code or an unused recovery code (then consumed); False otherwise. Never raises."""
    return match_device(user, code, request=request) is not None
