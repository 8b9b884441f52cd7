"""Second factor: who must use one, whether they have one, and checking a code (TOTP or a one-time recovery code)."""

from __future__ import annotations

import hashlib
import hmac
import time
from base64 import b32encode
from typing import Any
from urllib.parse import quote, urlencode

import segno
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from ningju.core.audit import audit
from ningju.core.models import AuditAction, User

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


# --- Enrolment, recovery codes, turning off and resetting (the services the pages call) ---------------------------

RECOVERY_CODE_COUNT = 10
ISSUER = "宁聚"


def pending_device(user: Any) -> TOTPDevice:
    """The authenticator being set up: an unconfirmed device with a fresh secret, kept until it is confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def secret_base32(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it by hand (base32, no padding)."""
    return b32encode(device.bin_key).decode("ascii").rstrip("=")


def secret_groups(secret: str) -> str:
    """The secret in groups of four, as people copy it (authenticator apps ignore the spaces)."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def otpauth_uri(device: TOTPDevice) -> str:
    """The otpauth:// URI a QR code carries (Google Authenticator key URI format)."""
    label = quote(f"{ISSUER}:{device.user.get_username()}")
    query = urlencode({"secret": secret_base32(device), "issuer": ISSUER, "digits": device.digits})
    return f"otpauth://totp/{label}?{query}"


def qr_data_uri(uri: str) -> str:
    """A QR code as an SVG data URI: an <img> the Content-Security-Policy allows (img-src data:), no script."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def _new_recovery_codes(user: Any) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    static = StaticDevice.objects.create(user=user, name="recovery", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=static, token=code) for code in codes])
    return codes


@transaction.atomic
def confirm_enrolment(
    user: Any, device: TOTPDevice, code: object, *, request: HttpRequest | None = None
) -> list[str]:
    """Confirm the pending authenticator with its first code; return the new recovery codes (shown once).
    Raises ValueError when the code does not match (audited as MFA_FAILED)."""
    cleaned = normalise_code(code)
    if not cleaned.isdigit() or not device.verify_token(cleaned):
        audit(user=user, action=AuditAction.MFA_FAILED, target=user, detail={"step": "enrol"}, request=request)
        raise ValueError("code does not match")
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_recovery_codes(user)
    audit(user=user, action=AuditAction.MFA_ENROLL, target=user, request=request)
    return codes


def recovery_codes_left(user: Any) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@transaction.atomic
def remove_devices(*, actor: Any, user: Any, request: HttpRequest | None = None) -> None:
    """Remove a user's authenticator and recovery codes: by themselves (turning MFA off or changing the
    authenticator) or by a street administrator (a lost phone). Their sessions are no longer verified; if MFA is
    required for them, their next page is the enrolment."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    detail = {"by": actor.get_username()} if actor.pk != user.pk else {"self": True}
    audit(user=actor, action=AuditAction.MFA_RESET, target=user, detail=detail, request=request)


def demo_secret_hex(username: str) -> str:
    """A TOTP secret derived from SECRET_KEY and the username: the same on every `ningju demo` of one install, so
    the README and browser tests can compute codes. Local mode only (the demo command refuses production)."""
    return hmac.new(
        settings.SECRET_KEY.encode(), f"ningju-demo-totp:{username}".encode(), hashlib.sha1
    ).hexdigest()


def enrol_with_secret(user: Any, secret_hex: str) -> TOTPDevice:
    """Enrol `user` with a known secret (the demo): a confirmed authenticator, no recovery codes."""
    TOTPDevice.objects.filter(user=user).delete()
    return TOTPDevice.objects.create(user=user, name="authenticator", key=secret_hex, confirmed=True)


def current_code(device: TOTPDevice) -> str:
    """The code the authenticator shows now (for `ningju totp` in local mode, and tests)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


def is_verified(user: Any) -> bool:
    """This session passed the second factor (set by django_otp.login; read by OTPMiddleware)."""
    check = getattr(user, "is_verified", None)
    return bool(check()) if callable(check) else False


def demo_authenticators(usernames: list[str]) -> list[tuple[str, str, str]]:
    """Enrol the demo accounts that need MFA with their derived secret (unless already enrolled otherwise) and
    return (username, base32 secret, otpauth URI) for `ningju demo` to print. Never in production: a secret
    derivable from the install would be a second password written in the README."""
    if settings.PRODUCTION:
        return []
    lines = []
    for user in User.objects.filter(username__in=usernames, is_active=True).order_by("username"):
        if not mfa_required(user):
            continue
        secret = demo_secret_hex(user.get_username())
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = enrol_with_secret(user, secret)
        if device.key == secret:
            lines.append((user.get_username(), secret_base32(device), otpauth_uri(device)))
    return lines
