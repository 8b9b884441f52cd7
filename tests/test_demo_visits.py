"""`ningju demo` also writes the visits module's year: rules, the automatic pairing of every area, and twelve
months of visits and patrols up to yesterday that look like the article's (every household visited, must-visit
households in most months, a few overdue), the same for the same seed."""

from collections import defaultdict
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from ningju.core.workdays import forget_overrides, is_workday
from ningju.registry.models import Household, PatrolSite, Street
from ningju.visits.demo import demo_visits, demo_visits_delete, year_before
from ningju.visits.models import Finding, Interval, Pairing, Visit, VisitMode, VisitRule
from ningju.visits.rules import RuleBook, household_tag_ids, is_overdue, last_household_visits

pytestmark = pytest.mark.django_db
HOUSEHOLDS = 400


@pytest.fixture(autouse=True)
def fresh_calendar() -> None:
    forget_overrides()


def build(*args: str, households: int = HOUSEHOLDS, seed: int = 7) -> str:
    out = StringIO()
    call_command("demo", *args, households=households, seed=seed, stdout=out)
    return out.getvalue()


def snapshot() -> list[tuple[str, str, str, str, str]]:
    """What two runs should agree on: each visit's id, who, whom, when and how."""
    return sorted(
        (
            str(v.id),
            v.cadre.username,
            v.household.address if v.household else (v.patrol_site.name if v.patrol_site else ""),
            v.visited_at.isoformat(),
            v.mode,
        )
        for v in Visit.objects.select_related("cadre", "household__building", "patrol_site")
    )


def test_demo_writes_a_year_of_visits_at_the_articles_rate() -> None:
    output = build()
    households = Household.objects.count()
    household_visits = Visit.objects.filter(household__isnull=False).count()
    # 6万余人次 for 2万余户: three visits a household a year, give or take.
    assert 2.5 * households <= household_visits <= 4.5 * households
    assert f"入户走访{household_visits}人次" in output
    assert Visit.objects.filter(patrol_site__isnull=False).count() > PatrolSite.objects.count() * 20
    assert VisitRule.objects.filter(street__code="310106006").count() == 12
    today = timezone.localdate()
    first, last = Visit.objects.order_by("visited_at"), Visit.objects.order_by("-visited_at")
    assert timezone.localtime(first[0].visited_at).date() >= year_before(today)
    assert timezone.localtime(last[0].visited_at).date() <= today - timedelta(days=1)


def test_every_household_is_visited_in_the_year() -> None:
    build()
    visited = Visit.objects.filter(household__isnull=False).values("household").distinct().count()
    assert visited == Household.objects.count()


def test_visits_happen_on_working_days_by_the_paired_cadre() -> None:
    build()
    paired = dict(Pairing.objects.current().filter(building__isnull=False).values_list("building_id", "cadre_id"))
    sites = dict(
        Pairing.objects.current().filter(patrol_site__isnull=False).values_list("patrol_site_id", "cadre_id")
    )
    rows = Visit.objects.values_list("visited_at", "cadre_id", "household__building_id", "patrol_site_id")
    for visited_at, cadre_id, building_id, site_id in rows:
        local = timezone.localtime(visited_at)
        assert is_workday(local.date()), local
        assert 8 <= local.hour < 17
        assert cadre_id == (paired[building_id] if building_id else sites[site_id])


def test_every_area_is_paired_from_the_start_of_the_year() -> None:
    build()
    start = year_before(timezone.localdate())
    assert (
        not Pairing.objects.filter(building__isnull=False)
        .values("building")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    assert set(Pairing.objects.values_list("started_on", flat=True)) == {start}
    for area_code, cadres in (
        Pairing.objects.values_list("area__code")
        .annotate(n=Count("cadre", distinct=True))
        .values_list("area__code", "n")
    ):
        assert cadres >= 2, area_code


def test_must_visit_households_are_visited_in_most_months_and_some_are_overdue() -> None:
    build()
    street = Street.objects.get(code="310106006")
    today = timezone.localdate()
    ids = list(Household.objects.values_list("pk", flat=True))
    book = RuleBook(street)
    tags = household_tag_ids(ids)
    monthly = [pk for pk in ids if (r := book.household(tags.get(pk, ()))) and r.interval == Interval.MONTH]
    assert len(monthly) >= 30  # the demo's elderly and vulnerable households

    # The last eleven whole months: share of (household, month) with at least one visit.
    months = []
    first = today.replace(day=1)
    for _n in range(11):
        first = (first - timedelta(days=1)).replace(day=1)
        months.append((first.year, first.month))
    seen: dict[int, set[tuple[int, int]]] = defaultdict(set)
    for household_id, visited_at in Visit.objects.filter(household_id__in=monthly).values_list(
        "household_id", "visited_at"
    ):
        local = timezone.localtime(visited_at)
        seen[household_id].add((local.year, local.month))
    share = sum(len(seen[pk] & set(months)) for pk in monthly) / (len(monthly) * len(months))
    assert 0.6 <= share <= 0.9, share

    last = last_household_visits(monthly)
    overdue = [pk for pk in monthly if is_overdue(last.get(pk), Interval.MONTH, today)]
    assert 0 < len(overdue) < len(monthly) / 2


def test_visits_look_like_real_ones() -> None:
    build()
    household_visits = Visit.objects.filter(household__isnull=False)
    modes = dict(household_visits.values_list("mode").annotate(n=Count("pk")).values_list("mode", "n"))
    total = sum(modes.values())
    assert modes[VisitMode.FACE_TO_FACE] > 0.7 * total
    assert modes.get(VisitMode.PHONE, 0) > 0 and modes.get(VisitMode.ONLINE, 0) > 0
    assert household_visits.filter(way="跟着宠物访").exists()
    assert set(Visit.objects.filter(patrol_site__isnull=False).values_list("mode", flat=True)) == {
        VisitMode.PATROL
    }
    assert Finding.objects.exists()
    for visit in Visit.objects.filter(distance_m__isnull=False):
        assert visit.far_from_target == ((visit.distance_m or 0) > 300)
        assert visit.lat is not None and visit.lng is not None
    assert Visit.objects.filter(far_from_target=True).exists()
    # Uploaded when logged, not when the demo ran.
    sample = Visit.objects.order_by("visited_at").first()
    assert sample is not None and sample.created_at == sample.visited_at


def test_the_same_seed_gives_the_same_visits_and_reset_replaces_them() -> None:
    build()
    first = snapshot()
    build("--reset")
    assert snapshot() == first
    assert Visit.objects.count() == len(first)
    build("--reset", seed=8)
    assert snapshot() != first


def test_no_visits_builds_only_the_registry() -> None:
    output = build("--no-visits", households=100)
    assert not Visit.objects.exists() and not Pairing.objects.exists()
    assert "走访记录" not in output


def test_visit_ids_depend_on_the_seed_only() -> None:
    """demo_visits on its own, for a fixed day: the ids are drawn from the seed."""
    build("--no-visits", households=100)
    street = Street.objects.get(code="310106006")
    result = demo_visits(street=street, seed=11, today=date(2026, 6, 15))
    ids = sorted(str(pk) for pk in Visit.objects.values_list("id", flat=True))
    assert result.start == date(2025, 6, 15) and result.end == date(2026, 6, 14)
    assert len(ids) == result.household_visits + result.patrols
    demo_visits_delete(street)
    assert not Visit.objects.exists() and not Pairing.objects.exists()
    demo_visits(street=street, seed=11, today=date(2026, 6, 15))
    assert sorted(str(pk) for pk in Visit.objects.values_list("id", flat=True)) == ids
