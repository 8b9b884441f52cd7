"""Passwords in a browser, on a phone and on a desktop: a cadre locks their account, the street administrator
unlocks it and resets the password; the cadre signs in with the temporary password, is held on the change page
until they choose their own, and then uses the site again; the change page from the header link."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from ningju.core.models import User
from tests.conftest import World
from tests.e2e.conftest import account_menu, log_in, log_out, shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Qiu-shui-2026-changde"


def try_password(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state("networkidle")


def sign_out(page: Page) -> None:
    log_out(page)


def test_locked_cadre_is_unlocked_reset_and_must_change_password(
    shipped_server: str, world: World, screen: Page
) -> None:
    base = shipped_server
    for _ in range(settings.AXES_FAILURE_LIMIT):
        try_password(screen, base, "cadre-006-1", "wrong-password")
    try_password(screen, base, "cadre-006-1", "ningju-demo")
    expect(screen.get_by_role("heading", name="账号已暂时锁定")).to_be_visible()
    expect(screen.get_by_role("alert")).to_contain_text("街道管理员")
    shot(screen, "password-locked-out")

    log_in(screen, base, "admin")
    account_menu(screen).get_by_role("link", name="账号管理").click()
    screen.get_by_role("link", name="查看被锁定的账号").click()
    row = screen.get_by_role("row").filter(has_text="cadre-006-1")
    expect(row).to_be_visible()
    shot(screen, "password-locked-accounts")
    row.get_by_role("button", name="解锁").click()
    expect(screen.get_by_text("账号 cadre-006-1 已解锁。")).to_be_visible()
    expect(screen.get_by_text("本街道目前没有被锁定的账号。")).to_be_visible()

    screen.goto(f"{base}/accounts/staff/")
    shot(screen, "password-staff-accounts")
    screen.once("dialog", lambda dialog: dialog.accept())
    screen.get_by_role("row").filter(has_text="cadre-006-1").get_by_role("button", name="重置密码").click()
    expect(screen.get_by_role("heading", name="密码已重置")).to_be_visible()
    temporary = screen.get_by_test_id("temporary-password").inner_text().strip()
    assert re.fullmatch(r"[A-Za-z0-9]{12}", temporary)
    shot(screen, "password-reset-done")
    sign_out(screen)

    try_password(screen, base, "cadre-006-1", temporary)
    assert screen.url.endswith("/accounts/password_change/")
    expect(screen.get_by_role("alert")).to_contain_text("请先设置您自己的新密码")
    shot(screen, "password-forced-change")
    screen.goto(f"{base}/areas/")
    assert screen.url.endswith("/accounts/password_change/")  # nothing else before the change

    screen.get_by_label("临时密码").fill(temporary)
    screen.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    screen.get_by_label("再次输入新密码").fill(NEW_PASSWORD)
    screen.get_by_role("button", name="修改密码").click()
    screen.wait_for_load_state("networkidle")
    expect(screen.get_by_text("密码已修改。")).to_be_visible()
    assert "/accounts/password_change/" not in screen.url
    assert not User.objects.get(username="cadre-006-1").must_change_password


def test_cadre_changes_password_from_the_header_link(shipped_server: str, world: World, screen: Page) -> None:
    base = shipped_server
    log_in(screen, base, "cadre-006-1")
    account_menu(screen).get_by_role("link", name="修改密码").click()
    screen.get_by_label("原密码").fill("ningju-demo")
    screen.get_by_label("新密码", exact=True).fill("12345678")
    screen.get_by_label("再次输入新密码").fill("12345678")
    screen.get_by_role("button", name="修改密码").click()
    expect(screen.locator(".msg.error").first).to_be_visible()
    shot(screen, "password-change-refused")
    screen.get_by_label("原密码").fill("ningju-demo")
    screen.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    screen.get_by_label("再次输入新密码").fill(NEW_PASSWORD)
    screen.get_by_role("button", name="修改密码").click()
    expect(screen.get_by_text("密码已修改。")).to_be_visible()
    sign_out(screen)
    log_in(screen, base, "cadre-006-1", NEW_PASSWORD)
    assert "/accounts/login/" not in screen.url
