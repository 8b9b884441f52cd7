"""Signing in past the second factor in tests: a verified session for Client.force_login, a code for the browser."""

from collections.abc import Callable
from typing import Any

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from ningju.core import mfa
from ningju.core.models import User


def authenticator(user: User) -> TOTPDevice:
    """The user's confirmed authenticator, set up with the demo's derived secret if they have none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or mfa.enrol_with_secret(user, mfa.demo_secret_hex(user.get_username()))


def fresh_code(user: User) -> str:
    """A code the server will accept now: the authenticator forgets the last code used (a code counts once per
    30 s step, and a test may sign in twice within one)."""
    device = authenticator(user)
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1, throttling_failure_count=0)
    return mfa.current_code(device)


def verify_session(client: Client, user: User) -> None:
    """Mark the client's session as having passed the second factor (what django_otp.login does)."""
    device = authenticator(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def needs_second_factor(user: Any) -> bool:
    return bool(
        getattr(user, "pk", None)
        and (
            mfa.mfa_required(user)
            or user.is_staff
            or TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        )
    )


def verified_login(original: Callable[..., None]) -> Callable[..., None]:
    """Client._login (behind force_login and login) that also passes the second factor for users who need one: the
    tests of every other page sign in as a verified street administrator would (tests/test_mfa.py, which asks for
    the `real_mfa` fixture, tests the real steps)."""

    def _login(self: Client, user: User, backend: str | None = None) -> None:
        original(self, user, backend)
        if needs_second_factor(user):
            verify_session(self, user)

    _login.__wrapped__ = original  # type: ignore[attr-defined]
    return _login


def unverified_login(patched: Callable[..., None]) -> Callable[..., None]:
    """Django's own Client._login, from behind verified_login."""
    return getattr(patched, "__wrapped__", patched)
