"""A street administrator's first sign-in in a browser: password, then enrolment with the QR code (or the secret
typed by hand), then the recovery codes; the next sign-in asks for the code. On a phone and on a desktop."""

import base64

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from ningju.core import mfa
from tests.conftest import World
from tests.e2e.conftest import log_out, shot
from tests.mfa_helpers import fresh_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def password_step(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("ningju-demo")
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state("networkidle")


def test_admin_enrols_on_first_sign_in_then_signs_in_with_a_code(
    shipped_server: str, world: World, screen: Page
) -> None:
    base = shipped_server
    password_step(screen, base, "admin")
    assert "/accounts/mfa/enrol/" in screen.url
    expect(screen.get_by_role("img", name="两步验证二维码")).to_be_visible()
    shot(screen, "mfa-enrol")
    screen.goto(f"{base}/areas/")
    assert "/accounts/mfa/enrol/" in screen.url  # nothing else before enrolment

    secret = screen.locator(".otp-secret").inner_text().replace(" ", "")  # typed by hand into an authenticator
    padded = secret + "=" * (-len(secret) % 8)
    totp = TOTP(base64.b32decode(padded))
    screen.get_by_label("验证码").fill(f"{totp.token():06d}")
    screen.get_by_role("button", name="完成设置").click()
    screen.wait_for_load_state("networkidle")
    expect(screen.locator(".recovery-codes li")).to_have_count(10)
    shot(screen, "mfa-recovery-codes")
    screen.get_by_role("link", name="我已保存，继续").click()
    screen.wait_for_load_state("networkidle")
    assert "/accounts/mfa/" not in screen.url and "/accounts/login/" not in screen.url
    assert mfa.is_enrolled(world.admin)

    log_out(screen)
    password_step(screen, base, "admin")
    assert "/accounts/mfa/verify/" in screen.url
    code_input = screen.get_by_label("验证码")
    assert code_input.get_attribute("autocomplete") == "one-time-code"
    assert code_input.get_attribute("inputmode") == "numeric"
    shot(screen, "mfa-verify")
    code_input.fill("000000")
    screen.get_by_role("button", name="验证", exact=True).click()
    expect(screen.get_by_role("alert")).to_contain_text("验证码不正确")
    TOTPDevice.objects.filter(user=world.admin).update(
        throttling_failure_count=0, throttling_failure_timestamp=None
    )
    screen.get_by_label("验证码").fill(fresh_code(world.admin))
    screen.get_by_role("button", name="验证", exact=True).click()
    screen.wait_for_load_state("networkidle")
    assert "/accounts/mfa/" not in screen.url
    screen.goto(f"{base}/accounts/security/")
    expect(screen.get_by_role("heading", name="两步验证")).to_be_visible()
    shot(screen, "mfa-security")
