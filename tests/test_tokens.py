"""API tokens: one per device, expiring 30 days after their last use, revoked by the device, by the account changing
(password, deactivation, role or scope) and from the devices page; the two-step code on the token login."""

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from ningju.api.models import DeviceToken
from ningju.api.tokens import token_create
from ningju.core.models import AuditAction, AuditEntry, Role, User
from tests.conftest import World

PASSWORD = "ningju-demo"  # what tests.factories.UserFactory sets
KEY = "3132333435363738393031323334353637383930"  # a known TOTP secret (RFC 6238's test key)


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    cache.clear()  # the token endpoint's throttle counts in the cache


def body(response: Any) -> Any:
    return json.loads(response.content)


def sign_in(username: str, password: str = PASSWORD, **extra: str) -> Any:
    data = {"username": username, "password": password, **extra}
    return APIClient().post(reverse("api_token"), data, format="json")


def device(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def households(token: str) -> int:
    """The status of one ordinary API read made with `token`."""
    return int(device(token).get(reverse("api_household_list")).status_code)


def new_token(user: User, name: str = "") -> str:
    return token_create(user=user, name=name)[1]


def enrol(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="手机", key=KEY, confirmed=True)


def current_code(authenticator: TOTPDevice) -> str:
    code = totp(authenticator.bin_key, step=authenticator.step, t0=authenticator.t0, digits=authenticator.digits)
    return f"{code:0{authenticator.digits}d}"


def later(days: float) -> Any:
    return time_machine.travel(timezone.now() + timedelta(days=days), tick=False)


# --- signing in -----------------------------------------------------------------------------------------------


def test_signing_in_names_the_device_and_says_when_the_token_expires(world: World) -> None:
    response = sign_in("cadre-006-1", name="张三的手机")

    assert response.status_code == 200
    answer = body(response)
    assert set(answer) == {"token", "expiry"}
    stored = DeviceToken.objects.get(user=world.cadre)
    assert stored.name == "张三的手机"
    assert answer["token"] not in (stored.digest, stored.token_key)
    expiry = stored.expiry - timezone.now()
    assert timedelta(days=29, hours=23) < expiry <= timedelta(days=30)
    assert households(answer["token"]) == 200


def test_cadre_signs_in_without_a_code(world: World) -> None:
    assert sign_in("cadre-006-1").status_code == 200


def test_street_admin_without_an_authenticator_gets_no_token(world: World) -> None:
    response = sign_in("admin")

    assert response.status_code == 400
    assert "请先在网页上启用两步验证" in body(response)["detail"]
    assert not DeviceToken.objects.filter(user=world.admin).exists()


def test_street_admin_gets_no_token_with_the_password_alone(world: World) -> None:
    enrol(world.admin)

    response = sign_in("admin")

    assert response.status_code == 400
    assert "6位验证码" in body(response)["detail"]
    assert not DeviceToken.objects.filter(user=world.admin).exists()


def test_street_admin_gets_no_token_with_a_wrong_code(world: World) -> None:
    authenticator = enrol(world.admin)
    wrong = f"{(int(current_code(authenticator)) + 1) % 1_000_000:06d}"

    response = sign_in("admin", otp=wrong)

    assert response.status_code == 400
    assert "验证码不正确" in body(response)["detail"]
    assert not DeviceToken.objects.filter(user=world.admin).exists()
    assert AuditEntry.objects.filter(action=AuditAction.MFA_FAILED, user=world.admin).exists()


def test_street_admin_gets_a_token_with_the_authenticators_code(world: World) -> None:
    authenticator = enrol(world.admin)

    response = sign_in("admin", otp=current_code(authenticator))

    assert response.status_code == 200
    assert households(body(response)["token"]) == 200


def test_a_cadre_who_enrolled_needs_the_code_too(world: World) -> None:
    authenticator = enrol(world.cadre)

    assert sign_in("cadre-006-1").status_code == 400
    assert sign_in("cadre-006-1", otp=current_code(authenticator)).status_code == 200


# --- expiry ---------------------------------------------------------------------------------------------------


def test_token_unused_for_30_days_is_refused(world: World) -> None:
    token = new_token(world.cadre)

    with later(31):
        response = device(token).get(reverse("api_household_list"))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert not DeviceToken.objects.filter(user=world.cadre).exists()


def test_each_use_moves_the_expiry_on(world: World) -> None:
    token = new_token(world.cadre)

    with later(20):
        assert households(token) == 200
    with later(45):  # 45 days after sign-in, 25 after the last use
        assert households(token) == 200
    with later(76):  # 31 days after the last use
        assert households(token) == 401


def test_token_records_when_it_was_last_used(world: World) -> None:
    token = new_token(world.cadre)

    with later(3):
        households(token)
        used = timezone.now()

    assert DeviceToken.objects.get(user=world.cadre).last_used == used


# --- revoking -------------------------------------------------------------------------------------------------


def test_signing_out_revokes_that_devices_token_only(world: World) -> None:
    phone, tablet = new_token(world.cadre, "手机"), new_token(world.cadre, "平板")

    response = device(phone).delete(reverse("api_token"))

    assert response.status_code == 204
    assert households(phone) == 401
    assert households(tablet) == 200
    entry = AuditEntry.objects.get(action=AuditAction.TOKEN_REVOKE)
    assert (entry.user, entry.target_id, entry.detail["device"]) == (world.cadre, str(world.cadre.pk), "手机")


def test_signing_out_everywhere_revokes_every_token(world: World) -> None:
    phone, tablet = new_token(world.cadre), new_token(world.cadre)

    response = device(phone).delete(reverse("api_tokens"))

    assert response.status_code == 204
    assert (households(phone), households(tablet)) == (401, 401)


def test_signing_out_needs_a_token(world: World) -> None:
    response = APIClient().delete(reverse("api_token"))

    assert response.status_code == 401


def test_password_change_revokes_every_token(world: World) -> None:
    token = new_token(world.cadre)

    world.cadre.set_password("a-new-long-password-2026")
    world.cadre.save()

    assert households(token) == 401
    entry = AuditEntry.objects.get(action=AuditAction.TOKEN_REVOKE)
    assert entry.target_id == str(world.cadre.pk)
    assert "password" in entry.reason


def test_rehashing_the_same_password_keeps_the_tokens(world: World) -> None:
    """Django re-hashes a password on sign-in when the hasher changes: same password, new hash."""
    token = new_token(world.cadre)

    world.cadre.set_password(PASSWORD)
    world.cadre.save(update_fields=["password"])

    assert households(token) == 200


def test_deactivation_revokes_every_token(world: World) -> None:
    token = new_token(world.cadre)

    world.cadre.is_active = False
    world.cadre.save(update_fields=["is_active"])

    assert not DeviceToken.objects.filter(user=world.cadre).exists()
    world.cadre.is_active = True
    world.cadre.save(update_fields=["is_active"])
    assert households(token) == 401


def test_role_change_revokes_every_token(world: World) -> None:
    token = new_token(world.cadre)

    world.cadre.role = Role.AREA_HEAD
    world.cadre.save()

    assert households(token) == 401


def test_moving_to_another_area_revokes_every_token(world: World) -> None:
    token = new_token(world.cadre)

    world.cadre.area = world.youyicun
    world.cadre.save(update_fields=["area"])

    assert households(token) == 401


def test_web_sign_in_and_out_keep_the_tokens(world: World) -> None:
    """A sign-in saves last_login; logging out of the web ends the browser's session only."""
    token = new_token(world.cadre)
    browser = Client()

    assert browser.post(reverse("login"), {"username": "cadre-006-1", "password": PASSWORD}).status_code == 302
    browser.post(reverse("logout"))

    assert households(token) == 200


# --- the devices page -----------------------------------------------------------------------------------------


def test_devices_page_lists_my_devices_but_never_a_token(world: World, client: Client) -> None:
    token = new_token(world.cadre, "张三的手机")
    stored = DeviceToken.objects.get(user=world.cadre)
    client.force_login(world.cadre)

    page = client.get(reverse("devices")).content.decode()

    assert "张三的手机" in page
    assert token not in page and stored.digest not in page and stored.token_key not in page


def test_revoking_my_device_on_the_page(world: World, client: Client) -> None:
    token = new_token(world.cadre, "旧手机")
    client.force_login(world.cadre)

    response = client.post(reverse("device_revoke"), {"token": DeviceToken.objects.get(user=world.cadre).pk})

    assert response.status_code == 302
    assert households(token) == 401
    assert "旧手机" not in client.get(reverse("devices")).content.decode()


def test_street_admin_sees_and_revokes_a_cadres_device(world: World, client: Client) -> None:
    token = new_token(world.cadre, "张三的手机")
    new_token(world.other_street_admin, "外街的电脑")
    client.force_login(world.admin)

    page = client.get(reverse("devices")).content.decode()
    assert "张三的手机" in page
    assert "外街的电脑" not in page

    client.post(reverse("device_revoke"), {"token": DeviceToken.objects.get(user=world.cadre).pk})

    assert households(token) == 401
    entry = AuditEntry.objects.get(action=AuditAction.TOKEN_REVOKE)
    assert (entry.user, entry.target_id, entry.reason) == (world.admin, str(world.cadre.pk), "revoked_by_admin")


def test_another_streets_admin_cannot_revoke(world: World, client: Client) -> None:
    token = new_token(world.cadre)
    client.force_login(world.other_street_admin)

    response = client.post(reverse("device_revoke"), {"token": DeviceToken.objects.get(user=world.cadre).pk})

    assert response.status_code == 403
    assert households(token) == 200


def test_cadre_cannot_revoke_a_colleagues_device(world: World, client: Client) -> None:
    token = new_token(world.other_cadre, "同事的手机")
    client.force_login(world.cadre)

    assert "同事的手机" not in client.get(reverse("devices")).content.decode()
    response = client.post(reverse("device_revoke"), {"token": DeviceToken.objects.get(user=world.other_cadre).pk})

    assert response.status_code == 403
    assert households(token) == 200


def test_devices_page_needs_a_sign_in(world: World, client: Client) -> None:
    response = client.get(reverse("devices"))

    assert response.status_code == 302
    assert reverse("login") in response["Location"]
