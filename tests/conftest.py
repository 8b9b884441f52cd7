"""Shared fixtures: a small street with two areas (恒德里 and 又一村), one household each, and one user per role."""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import translation

from ningju.core import workdays
from ningju.core.models import Role, User
from ningju.demands.defaults import ensure_categories
from ningju.registry import models
from ningju.registry.defaults import ensure_defaults
from tests import factories, mfa_helpers


def _test_today() -> datetime | None:
    """NINGJU_TEST_TODAY=YYYY-MM-DD[THH:MM]: the Shanghai moment the whole run pretends is now (unset: the real clock)."""
    value = os.environ.get("NINGJU_TEST_TODAY", "").strip()
    if not value:
        return None
    moment = datetime.fromisoformat(value if "T" in value else f"{value}T10:00")
    return moment.replace(tzinfo=ZoneInfo("Asia/Shanghai"))


_run_clock: list[time_machine.travel] = []


def pytest_configure(config: pytest.Config) -> None:
    """CI runs the suite again on awkward days (a weekend, a 调休 working Sunday, a month's last day) by setting
    NINGJU_TEST_TODAY: every test that reads "today" without fixing its own clock then fails there, not on a user's
    machine. The clock ticks from that moment, and starts before collection, so that a module's `TODAY =
    timezone.localdate()` sees the same day as the code it tests, as it would on that day. Browser tests (marked
    e2e) talk to a server in another process that keeps the real clock, so they run on the real clock too (see
    `real_clock_for_browser_tests`)."""
    moment = _test_today()
    if moment is not None and not _run_clock:
        _run_clock.append(time_machine.travel(moment, tick=True))
        _run_clock[0].start()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _run_clock:
        _run_clock.pop().stop()


@pytest.fixture(autouse=True)
def real_clock_for_browser_tests(request: pytest.FixtureRequest) -> Iterator[None]:
    """Step out of NINGJU_TEST_TODAY's travel for an e2e test, whose server process cannot follow it."""
    if not _run_clock or request.node.get_closest_marker("e2e") is None:
        yield
        return
    _run_clock[0].stop()
    yield
    _run_clock[0].start()


@dataclass
class World:
    street: models.Street
    hengdeli: models.ResidentialArea
    youyicun: models.ResidentialArea
    household: models.Household  # in 恒德里
    resident: models.Resident
    other_household: models.Household  # in 又一村
    other_resident: models.Resident
    department: models.Department
    admin: User
    head: User
    cadre: User
    other_cadre: User
    liaison: User
    nobody: User
    # A second, neighbouring street with its own configuration: whatever street 1 does must not reach it.
    other_street: models.Street
    other_street_area: models.ResidentialArea
    other_street_admin: User
    other_street_department: models.Department

    def users(self) -> dict[str, User]:
        return {
            "street_admin": self.admin,
            "area_head": self.head,
            "cadre": self.cadre,
            "other_cadre": self.other_cadre,
            "liaison": self.liaison,
            "nobody": self.nobody,
        }


@pytest.fixture(autouse=True)
def chinese_by_default() -> Iterator[None]:
    """Every test starts in the default language: a request in English leaves the thread's language switched."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True, scope="session")
def verified_test_logins() -> Iterator[None]:
    """client.force_login/login give a session that passed the second factor (street administrators need one),
    for the whole run, so that module-scoped logins (tests/test_cross_scope.py) get it too; a test that asks for
    `real_mfa` signs in as a person would, password first, then the code."""
    original = Client._login  # type: ignore[attr-defined]
    Client._login = mfa_helpers.verified_login(original)  # type: ignore[attr-defined]
    yield
    Client._login = original  # type: ignore[attr-defined]


@pytest.fixture
def real_mfa(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ask for this to sign in without the test shortcut past the second factor (see verified_test_logins)."""
    monkeypatch.setattr(Client, "_login", mfa_helpers.unverified_login(Client._login))  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def fresh_calendar() -> Iterator[None]:
    """The working-day calendar caches entered years per process; each test's database starts anew."""
    workdays.forget_overrides()
    yield
    workdays.forget_overrides()


@pytest.fixture
def world(db: None) -> World:
    street = factories.StreetFactory()
    ensure_defaults(street)  # each street's own copy of the default tags, patrol types and categories
    ensure_categories(street)
    other_street = factories.StreetFactory(code="310106012", name="静安寺街道")
    ensure_defaults(other_street)
    ensure_categories(other_street)
    other_street_area = factories.AreaFactory(street=other_street, code="310106012001", name="华山")
    other_street_department = factories.DepartmentFactory(street=other_street, name="城管", slug="chengguan")
    hengdeli = factories.AreaFactory(street=street, code="310106006006", name="恒德里")
    youyicun = factories.AreaFactory(street=street, code="310106006009", name="又一村")
    lonely = models.Tag.objects.get(street=street, name="独居老人")
    household = factories.HouseholdFactory(
        building__compound__area=hengdeli,
        building__road="常德路",
        building__lane="633",
        building__number="5",
        room="302",
        tags=[lonely],
    )
    resident = factories.ResidentFactory(
        household=household, name="王秀英", gender="F", id_number="310106194503071228", phone="13812345678"
    )
    other_household = factories.HouseholdFactory(
        building__compound__area=youyicun,
        building__road="常德路",
        building__lane="545",
        building__number="12",
        room="201",
    )
    other_resident = factories.ResidentFactory(household=other_household, name="李建国", phone="13900001111")
    department = factories.DepartmentFactory(street=street, name="城管", slug="chengguan")
    return World(
        street=street,
        hengdeli=hengdeli,
        youyicun=youyicun,
        household=household,
        resident=resident,
        other_household=other_household,
        other_resident=other_resident,
        department=department,
        admin=factories.street_admin(street, username="admin"),
        head=factories.area_user(hengdeli, Role.AREA_HEAD, username="head-006"),
        cadre=factories.area_user(hengdeli, username="cadre-006-1"),
        other_cadre=factories.area_user(youyicun, username="cadre-009-1"),
        liaison=factories.liaison(department, username="dept-chengguan"),
        nobody=factories.UserFactory(username="nobody"),
        other_street=other_street,
        other_street_area=other_street_area,
        other_street_admin=factories.street_admin(other_street, username="admin-012"),
        other_street_department=other_street_department,
    )
