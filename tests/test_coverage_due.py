"""The overdue list's due dates (issue 11, finding 8): a household is 逾期 only when its due date is before today;
a due date today or later is "due by" and shown as such, never as overdue."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ningju.core.models import User
from ningju.registry.models import Household
from ningju.visits import rules
from ningju.visits.models import Interval, Visit, VisitMode
from ningju.visits.rules import ensure_rules
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 8)
NOON = datetime.combine(TODAY, time(12), tzinfo=ZoneInfo("Asia/Shanghai"))


def visit(household: Household, on: date, by: User) -> None:
    Visit.objects.create(
        area=household.building.compound.area,
        cadre=by,
        household=household,
        visited_at=timezone.make_aware(datetime.combine(on, time(10))),
        mode=VisitMode.FACE_TO_FACE,
    )


def row_of(html: str, household: Household) -> str:
    start = html.index(f'<tr data-household="{household.pk}">')
    return html[start : html.index("</tr>", start)]


@pytest.mark.parametrize(
    ("interval", "last", "due", "overdue"),
    [
        (Interval.YEAR, date(2025, 11, 1), date(2026, 12, 31), False),  # the row: due by year's end
        (Interval.YEAR, date(2026, 3, 1), date(2027, 12, 31), False),
        (Interval.YEAR, date(2024, 5, 1), date(2025, 12, 31), True),
        (Interval.YEAR, None, date(2025, 12, 31), True),
        (Interval.MONTH, date(2026, 11, 20), date(2026, 12, 31), False),
        (Interval.MONTH, date(2026, 10, 15), date(2026, 11, 30), True),
        (Interval.WEEK, date(2026, 12, 1), date(2026, 12, 13), False),  # Tue of last week: due by this Sunday
        (Interval.WEEK, date(2026, 11, 24), date(2026, 12, 6), True),
    ],
)
def test_due_date_is_in_the_past_exactly_when_overdue(
    interval: str, last: date | None, due: date, overdue: bool
) -> None:
    assert rules.next_due(last, interval, TODAY) == due
    assert rules.is_overdue(last, interval, TODAY) is overdue


def test_overdue_and_due_date_agree_on_every_day_of_two_years() -> None:
    lasts = [None, date(2024, 12, 31), date(2025, 1, 1), date(2025, 6, 30), date(2025, 12, 29), date(2026, 2, 28)]
    day = date(2025, 1, 1)
    while day <= date(2026, 12, 31):
        for interval in Interval.values:
            for last in lasts:
                if last is not None and last > day:
                    continue
                assert rules.is_overdue(last, interval, day) == (rules.next_due(last, interval, day) < day)
        day += timedelta(days=1)


def test_overdue_list_marks_only_past_due_dates_as_overdue(world: World) -> None:
    ensure_rules(world.street)
    compound = world.household.building.compound
    due_this_year = factories.HouseholdFactory(building__compound=compound, room="601")  # yearly rule
    missed_last_year = factories.HouseholdFactory(building__compound=compound, room="602")
    visit(due_this_year, date(2025, 11, 1), world.cadre)
    visit(missed_last_year, date(2024, 5, 1), world.cadre)
    with time_machine.travel(NOON, tick=False):
        client = Client()
        client.force_login(world.head)
        everyone = client.get(reverse("coverage"), {"status": "all"})
        overdue_only = client.get(reverse("coverage"))

    assert everyone.status_code == 200, (everyone.status_code, everyone.get("Location"))
    html = everyone.content.decode()
    due_row = row_of(html, due_this_year)
    assert "2026-12-31 前" in due_row and "未到期" in due_row
    assert "逾期" not in due_row
    late_row = row_of(html, missed_last_year)
    assert "逾期" in late_row and "应于 2025-12-31 前" in late_row
    listed = overdue_only.content.decode()
    assert f'<tr data-household="{missed_last_year.pk}">' in listed
    assert f'<tr data-household="{due_this_year.pk}">' not in listed
    for due, _household in overdue_only.context["items"]:
        assert due.next_due < TODAY
