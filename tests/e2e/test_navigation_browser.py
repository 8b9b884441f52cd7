"""The header and the tab bar in a real browser: on a phone a one-line header and the day's work at the bottom,
the rest in a sheet that the keyboard opens and Escape closes; on a desktop the top navigation, no tab bar."""

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import World
from tests.e2e.conftest import account_menu, log_in, shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_cadre_reaches_the_days_work_with_a_thumb(shipped_server: str, world: World, screen: Page) -> None:
    log_in(screen, shipped_server, "cadre-006-1")
    header = screen.locator("header.topbar").bounding_box()
    tabbar = screen.get_by_role("navigation", name="快捷导航")
    nav = screen.get_by_role("navigation", name="主导航")
    width = screen.viewport_size["width"] if screen.viewport_size else 0
    assert header is not None
    if width > 640:
        expect(tabbar).to_be_hidden()
        expect(nav.get_by_role("link", name="今日路线")).to_be_visible()
        assert header["height"] <= 100
        shot(screen, "navigation-desktop")
        return

    assert header["height"] <= 56, f"the phone header takes {header['height']} px"
    expect(nav).to_be_hidden()
    box = tabbar.bounding_box()
    assert box is not None and box["y"] + box["height"] >= 812 - 1  # at the bottom of the screen
    for name in ("今日路线", "记走访", "我的诉求", "登记诉求"):
        expect(tabbar.get_by_role("link", name=name)).to_be_visible()
    expect(screen.locator("a.notice-badge svg")).to_be_visible()

    more = tabbar.get_by_role("link", name="更多")
    more.focus()
    screen.keyboard.press("Enter")
    expect(nav).to_be_visible()
    expect(more).to_have_attribute("aria-expanded", "true")
    assert screen.evaluate("document.activeElement.closest('#site-menu') !== null")  # focus moved into the menu
    assert "#site-menu" not in screen.url
    shot(screen, "navigation-menu")
    screen.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(more).to_be_focused()

    account_menu(screen).get_by_role("link", name="我的设备").click()
    expect(screen.get_by_role("heading", name="我的设备")).to_be_visible()

    tabbar.get_by_role("link", name="登记诉求").click()
    expect(
        screen.get_by_role("navigation", name="快捷导航").get_by_role("link", name="登记诉求")
    ).to_have_attribute("aria-current", "page")
    shot(screen, "navigation-tab")


def test_the_menu_opens_without_script(shipped_server: str, world: World, screen: Page) -> None:
    log_in(screen, shipped_server, "head-006")
    if screen.viewport_size and screen.viewport_size["width"] > 640:
        return
    screen.goto(f"{shipped_server}/search/#site-menu")  # what the 更多 link does where ningju.js did not load
    expect(screen.get_by_role("navigation", name="主导航").get_by_role("link", name="居民区诉求")).to_be_visible()
