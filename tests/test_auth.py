"""Signing in: success and failure are audited, repeated failures lock the account from that address, idle
sessions expire."""

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from ningju.core.models import AuditAction, AuditEntry
from tests.conftest import World

pytestmark = pytest.mark.django_db


def post_login(client: Client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_login_with_demo_password_and_audit_row(world: World) -> None:
    client = Client()
    response = post_login(client, "cadre-006-1", "ningju-demo")
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action=AuditAction.LOGIN, user=world.cadre).count() == 1


def test_failed_login_shows_chinese_message_and_is_audited(world: World) -> None:
    response = post_login(Client(), "cadre-006-1", "wrong-password")
    assert response.status_code == 200
    assert "请输入一个正确的" in response.content.decode()  # Django's own zh-hans message
    entry = AuditEntry.objects.get(action=AuditAction.LOGIN_FAILED)
    assert entry.username == "cadre-006-1" and entry.user is None


def test_account_locks_from_that_address_after_repeated_failures_even_with_right_password(world: World) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        post_login(client, "cadre-006-1", "wrong-password")
    response = post_login(client, "cadre-006-1", "ningju-demo")
    assert response.status_code == 429
    assert "账号已被暂时锁定" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert post_login(Client(), "cadre-006-1", "ningju-demo").status_code == 429  # another browser, same address


def test_lockout_of_one_account_does_not_lock_colleagues_in_same_office(world: World) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        post_login(client, "cadre-006-1", "wrong-password")
    assert post_login(Client(), "head-006", "ningju-demo").status_code == 302


def test_failures_from_another_address_do_not_lock_the_account_here(world: World) -> None:
    stranger = Client(REMOTE_ADDR="198.51.100.7")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        post_login(stranger, "cadre-006-1", "wrong-password")
    assert post_login(stranger, "cadre-006-1", "ningju-demo").status_code == 429
    assert post_login(Client(), "cadre-006-1", "ningju-demo").status_code == 302  # the office's own address


def test_sessions_expire_after_inactivity() -> None:
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert 0 < settings.SESSION_COOKIE_AGE <= 3600


def test_session_cookie_expiry_moves_with_activity(world: World) -> None:
    client = Client()
    post_login(client, "cadre-006-1", "ningju-demo")
    client.get(reverse("area_list"))
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE


def test_weak_passwords_are_refused() -> None:
    for weak in ("12345678", "password", "ningju"):
        with pytest.raises(ValidationError):
            validate_password(weak)


def test_logout_ends_the_session(world: World) -> None:
    client = Client()
    post_login(client, "cadre-006-1", "ningju-demo")
    client.post(reverse("logout"))
    assert client.get(reverse("area_list")).status_code == 302
    assert AuditEntry.objects.filter(action=AuditAction.LOGOUT).count() == 1
