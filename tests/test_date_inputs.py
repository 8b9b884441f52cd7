"""Date inputs carry ISO dates (yyyy-mm-dd) in every language: <input type="date"> rejects anything else and looks
empty. Django's Chinese formats render "2026/01/02"; ningju/formats/zh_Hans puts ISO first (FORMAT_MODULE_PATH)."""

import re
from datetime import date, datetime

import pytest
from django import forms
from django.test import Client
from django.urls import reverse
from django.utils import translation

from ningju.core.models import User
from tests.conftest import World

ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
DATE_INPUT = re.compile(r'<input type="date"[^>]*>')
VALUE = re.compile(r'value="([^"]*)"')


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_date_widget_without_a_format_renders_iso(language: str) -> None:
    with translation.override(language):
        assert forms.DateInput().format_value(date(2026, 1, 2)) == "2026-01-02"
        assert forms.DateTimeInput().format_value(datetime(2026, 1, 2, 9, 30)).startswith("2026-01-02 09:30")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_chinese_dates_typed_by_hand_are_still_read(language: str) -> None:
    with translation.override("zh-hans"):
        assert forms.DateField().clean("2026/01/02") == date(2026, 1, 2)
        assert forms.DateField().clean("2026-01-02") == date(2026, 1, 2)
    with translation.override(language):
        assert forms.DateField().clean("2026-01-02") == date(2026, 1, 2)


def date_values(client: Client, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200
    inputs = DATE_INPUT.findall(response.content.decode())
    return [match.group(1) for tag in inputs if (match := VALUE.search(tag))]


def client_in(user: User, language: str) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = language
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize(
    ("page", "query"),
    [
        ("coverage", ""),  # the period's default dates: an unbound form's initial values
        ("audit_list", "?since=2026-01-02&until=2026-03-04"),
    ],
)
def test_filled_date_inputs_on_pages_are_iso(world: World, language: str, page: str, query: str) -> None:
    values = date_values(client_in(world.admin, language), reverse(page) + query)
    assert values, f"{page}: no filled date input"
    assert all(ISO.fullmatch(value) for value in values), values
