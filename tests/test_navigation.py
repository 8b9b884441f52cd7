"""The header and the phone's tab bar: each role's tabs lead to pages it can use, the rest sits in one menu; the
bell is an inline icon with the unread count; every page links its favicon."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from ningju.core.models import NoticeLevel, Notification, User
from tests.conftest import World

pytestmark = pytest.mark.django_db


def page(user: User | None, name: str = "search") -> str:
    client = Client()
    if user is not None:
        client.force_login(user)
    response = client.get(reverse(name), follow=True)
    assert response.status_code == 200
    return response.content.decode()


def tab_links(body: str) -> list[str]:
    match = re.search(r'<nav class="tabbar"[^>]*>(.*?)</nav>', body, re.DOTALL)
    assert match, "no tab bar"
    return re.findall(r'href="([^"#][^"]*)"', match.group(1))


def test_a_cadres_tabs_are_the_days_work(world: World) -> None:
    tabs = tab_links(page(world.cadre))
    assert tabs == [reverse(n) for n in ("route_today", "search", "demand_mine", "demand_new")]


def test_a_heads_tabs_start_with_the_areas_demands(world: World) -> None:
    tabs = tab_links(page(world.head))
    assert tabs == [reverse(n) for n in ("demand_inbox", "search", "demand_mine", "demand_new")]


def test_a_street_administrators_tabs_are_the_desk_and_the_dashboard(world: World) -> None:
    tabs = tab_links(page(world.admin))
    assert tabs == [reverse(n) for n in ("demand_desk", "demand_all", "dashboard", "search")]


def test_a_liaison_gets_no_tab_or_menu_entry_it_cannot_use(world: World) -> None:
    body = page(world.liaison, "demand_portal")
    tabs = tab_links(body)
    assert tabs == [reverse(n) for n in ("demand_portal", "action_list", "demand_rates")]
    for refused in ("demand_new", "area_list", "search", "route_today", "demand_desk", "registry_export"):
        assert f'href="{reverse(refused)}"' not in body
    client = Client()
    client.force_login(world.liaison)
    for tab in tabs:
        assert client.get(tab).status_code == 200


def test_every_tab_of_each_role_opens(world: World) -> None:
    for user in (world.cadre, world.head, world.admin):
        client = Client()
        client.force_login(user)
        for tab in tab_links(page(user)):
            assert client.get(tab).status_code == 200, (user.username, tab)


def test_the_more_tab_opens_the_one_menu_without_script_too(world: World) -> None:
    body = page(world.cadre)
    assert 'href="#site-menu"' in body and 'data-menu-toggle aria-controls="site-menu"' in body
    assert body.count('id="site-menu"') == 1
    assert " onclick=" not in body and "<script>" not in body


def test_no_menu_or_tab_bar_before_signing_in() -> None:
    body = page(None, "login")
    assert 'class="tabbar"' not in body and 'id="site-menu"' not in body
    assert "English" in body  # the language switch stays, named in itself


def test_the_bell_is_an_icon_with_the_unread_count(world: World) -> None:
    body = page(world.cadre)
    assert "🔔" not in body
    badge = re.search(r'<a class="notice-badge[^"]*"(.*?)</a>', body, re.DOTALL)
    assert badge and "<svg" in badge.group(1) and 'class="count"' not in badge.group(1)
    Notification.objects.create(user=world.cadre, level=NoticeLevel.RED, title="超时", key="t1")
    Notification.objects.create(user=world.cadre, title="提醒", key="t2")
    Notification.objects.create(user=world.head, title="别人的", key="t3")
    body = page(world.cadre)
    badge = re.search(r'<a class="notice-badge red"(.*?)</a>', body, re.DOTALL)
    assert badge and '<span class="count">2</span>' in badge.group(1)


def test_every_page_links_its_favicon(world: World) -> None:
    body = page(world.cadre)
    assert re.search(r'<link rel="icon" href="[^"]*favicon[^"]*\.svg" type="image/svg\+xml">', body)
    assert re.search(r'<link rel="icon" href="[^"]*favicon-32[^"]*\.png"', body)


def test_the_language_options_are_named_in_their_own_language(world: World) -> None:
    body = page(world.cadre)
    assert re.search(r'<option value="en"[^>]*>English</option>', body)
    assert re.search(r'<option value="zh-hans"[^>]*>中文</option>', body)
    assert "英语" not in body
