"""`ningju plan check`: every rule a plan (in the command-line JSON form) breaks, read against the database.

Checked: routes only on working days; each cadre a route with min..max households on every working day of the
horizon (the minimum is capped at the cadre's paired households); every household's and patrol site's rule over
each calendar week/month/year lying wholly inside the horizon (with at least one working day), counting visits
already logged in that period; each stop at most once per day; every stop among the cadre's current pairings and
at its recorded place; the office is the area's; `walk_m` equals the recomputed closed walk (within 1 m).
"""

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models.functions import TruncDate
from django.utils.translation import gettext as _

from ningju.core.errors import ApplicationError
from ningju.core.models import User
from ningju.core.workdays import workdays_between
from ningju.registry.models import Household, PatrolSite, ResidentialArea, Street
from ningju.visits.models import Interval, Pairing, Visit
from ningju.visits.planner.geo import tour_length_m
from ningju.visits.planner.schedule import HOUSEHOLD, PATROL
from ningju.visits.rules import RuleBook, household_tag_ids, period, settings_for

COORDINATE_TOLERANCE = 1e-6  # degrees: about 0.1 m
WALK_TOLERANCE_M = 1.0  # walk_m is written rounded to the metre


@dataclass(frozen=True, slots=True)
class Violation:
    day: str  # a date, or a period "2026-03-01..2026-03-31"
    cadre: str  # username, or "—" when nobody is responsible
    what: str

    def __str__(self) -> str:
        return f"{self.day} {self.cadre} {self.what}"


def check_plan(data: dict[str, Any]) -> list[Violation]:
    """All violations of the plan `data`, by date; an empty list means every rule is met."""
    street, start, days, routes = _parse(data)
    end = start + timedelta(days=days - 1)
    return _Checker(street, start, end, routes).run()


def _parse(data: Any) -> tuple[Street, date, int, list[dict[str, Any]]]:
    try:
        street = Street.objects.filter(code=str(data["street"])).first()
        start = date.fromisoformat(str(data["start"]))
        days = int(data["days"])
        routes = list(data["routes"])
        for route in routes:
            date.fromisoformat(str(route["date"]))
            str(route["cadre"]), str(route["area"]), float(route["walk_m"])
            float(route["office"]["lat"]), float(route["office"]["lng"])
            for stop in route["stops"]:
                str(stop["kind"]), int(stop["id"]), float(stop["lat"]), float(stop["lng"])
    except (KeyError, TypeError, ValueError) as error:
        raise ApplicationError(_("计划文件格式不正确：%(error)s") % {"error": error}) from error
    if street is None:
        raise ApplicationError(_("没有代码为 %(code)s 的街道。") % {"code": data["street"]})
    if days < 1:
        raise ApplicationError(_("天数应至少为 1。"))
    return street, start, days, routes


class _Checker:
    def __init__(self, street: Street, start: date, end: date, routes: list[dict[str, Any]]) -> None:
        self.street, self.start, self.end, self.routes = street, start, end, routes
        self.found: list[Violation] = []
        self.workdays = workdays_between(start, end)
        self.workday_set = set(self.workdays)
        self.areas = {a.code: a for a in ResidentialArea.objects.filter(street=street)}
        current = Pairing.objects.current().filter(area__street=street)
        self.building_cadre = dict(current.filter(building__isnull=False).values_list("building_id", "cadre_id"))
        self.site_cadre = dict(current.filter(patrol_site__isnull=False).values_list("patrol_site_id", "cadre_id"))
        self.paired_cadres = set(current.values_list("cadre_id", flat=True))
        users = User.objects.filter(pk__in=self.paired_cadres) | User.objects.filter(
            username__in={str(r["cadre"]) for r in routes}
        )
        self.users = {u.username: u for u in users}
        self.usernames = {u.pk: u.username for u in users}
        self.households = dict(
            (pk, (building, lat, lng))
            for pk, building, lat, lng in Household.objects.filter(
                building__compound__area__street=street
            ).values_list("id", "building_id", "building__lat", "building__lng")
        )
        self.sites = {
            pk: (site_type, lat, lng, active)
            for pk, site_type, lat, lng, active in PatrolSite.objects.filter(area__street=street).values_list(
                "id", "site_type_id", "lat", "lng", "active"
            )
        }
        settings = settings_for(street)
        self.min, self.max = settings.min_households_per_day, settings.max_households_per_day

    def add(self, day: date | str, cadre: str, what: str) -> None:
        self.found.append(Violation(str(day), cadre, what))

    def run(self) -> list[Violation]:
        visited = self._routes()
        self._daily_counts()
        self._rules(visited)
        return sorted(self.found, key=lambda v: (v.day, v.cadre, v.what))

    def _routes(self) -> dict[tuple[str, int], list[date]]:
        """Per-route checks; returns the planned visit dates of every household and site."""
        visited: dict[tuple[str, int], list[date]] = defaultdict(list)
        seen_stops: dict[date, set[tuple[str, int]]] = defaultdict(set)
        seen_routes: set[tuple[str, date]] = set()
        self.household_counts: dict[tuple[str, date], int] = {}
        for route in self.routes:
            day = date.fromisoformat(str(route["date"]))
            username = str(route["cadre"])
            if not self.start <= day <= self.end:
                self.add(day, username, _("路线日期不在计划范围内"))
            if day not in self.workday_set and self.start <= day <= self.end:
                self.add(day, username, _("非工作日安排了走访路线"))
            if (username, day) in seen_routes:
                self.add(day, username, _("同一天有多条路线"))
            seen_routes.add((username, day))
            user = self.users.get(username)
            if user is None:
                self.add(day, username, _("没有这个用户"))
                continue
            if not user.is_active:
                self.add(day, username, _("账号已停用，不应安排路线"))
            area = self.areas.get(str(route["area"]))
            office = (float(route["office"]["lat"]), float(route["office"]["lng"]))
            if area is None:
                self.add(day, username, _("居民区 %(code)s 不属于本街道") % {"code": route["area"]})
            elif not _same_point(office, (area.office_lat, area.office_lng)):
                self.add(day, username, _("起点不是%(area)s居委会") % {"area": area.name})
            points: list[tuple[float, float]] = []
            households = 0
            for stop in route["stops"]:
                kind, pk = str(stop["kind"]), int(stop["id"])
                point = (float(stop["lat"]), float(stop["lng"]))
                points.append(point)
                label = _describe(kind, pk)
                if (kind, pk) in seen_stops[day]:
                    self.add(day, username, _("%(stop)s 当天重复出现") % {"stop": label})
                seen_stops[day].add((kind, pk))
                if kind == HOUSEHOLD:
                    households += 1
                    known = self.households.get(pk)
                    owner = self.building_cadre.get(known[0]) if known else None
                    place = (known[1], known[2]) if known else None
                elif kind == PATROL:
                    site = self.sites.get(pk)
                    owner = self.site_cadre.get(pk) if site else None
                    place = (site[1], site[2]) if site else None
                else:
                    self.add(day, username, _("未知的站点类型 %(kind)s") % {"kind": kind})
                    continue
                if place is None:
                    self.add(day, username, _("%(stop)s 不存在或不属于本街道") % {"stop": label})
                    continue
                if owner != user.pk:
                    self.add(day, username, _("%(stop)s 不在该干部当前的包联范围内") % {"stop": label})
                if not _same_point(point, place):
                    self.add(day, username, _("%(stop)s 的坐标与登记位置不符") % {"stop": label})
                visited[(kind, pk)].append(day)
            self.household_counts[(username, day)] = households
            walk = tour_length_m(office, points)
            if abs(walk - float(route["walk_m"])) > WALK_TOLERANCE_M:
                self.add(
                    day,
                    username,
                    _("walk_m 为 %(given)s 米，按站点重新计算为 %(walk).0f 米")
                    % {"given": route["walk_m"], "walk": walk},
                )
        return visited

    def _daily_counts(self) -> None:
        households_per_cadre: dict[int, int] = defaultdict(int)
        for building, _lat, _lng in self.households.values():
            cadre = self.building_cadre.get(building)
            if cadre is not None:
                households_per_cadre[cadre] += 1
        for cadre_id in sorted(self.paired_cadres, key=lambda pk: self.usernames.get(pk, "")):
            username = self.usernames.get(cadre_id, str(cadre_id))
            if username not in self.users or not self.users[username].is_active:
                continue  # absent: no routes expected
            least = min(self.min, households_per_cadre[cadre_id])
            for day in self.workdays:
                count = self.household_counts.get((username, day), 0)
                if count < least:
                    self.add(
                        day, username, _("走访 %(n)d 户，少于每日至少 %(min)d 户") % {"n": count, "min": least}
                    )
                elif count > self.max:
                    self.add(
                        day, username, _("走访 %(n)d 户，超过每日最多 %(max)d 户") % {"n": count, "max": self.max}
                    )

    def _rules(self, visited: dict[tuple[str, int], list[date]]) -> None:
        logged = self._logged()
        book = RuleBook(self.street)
        tags = household_tag_ids(self.households)
        duties: list[tuple[str, int, str, str, int | None]] = []  # kind, id, interval, because, cadre id
        for pk, (building, _lat, _lng) in self.households.items():
            requirement = book.household(tags.get(pk, ()))
            if requirement is not None:
                duties.append(
                    (HOUSEHOLD, pk, requirement.interval, requirement.label, self.building_cadre.get(building))
                )
        for pk, (site_type, _lat, _lng, active) in self.sites.items():
            requirement = book.patrol_site(site_type)
            if requirement is not None and active:
                duties.append((PATROL, pk, requirement.interval, requirement.label, self.site_cadre.get(pk)))
        periods = {interval.value: self._full_periods(interval) for interval in Interval}
        for kind, pk, interval, label, cadre_id in duties:
            dates = sorted(visited.get((kind, pk), []) + logged.get((kind, pk), []))
            for first, last in periods[interval]:
                here = bisect.bisect_left(dates, first)
                if here < len(dates) and dates[here] <= last:
                    continue
                self.add(
                    f"{first}..{last}",
                    self.usernames.get(cadre_id, "—") if cadre_id else "—",
                    _("%(stop)s（%(rule)s）在此期间未走访") % {"stop": _describe(kind, pk), "rule": label},
                )

    def _full_periods(self, interval: str) -> list[tuple[date, date]]:
        """Calendar periods lying wholly inside the horizon that have at least one working day."""
        spans: list[tuple[date, date]] = []
        day = self.start
        while day <= self.end:
            first, last = period(day, interval)
            if (
                first >= self.start
                and last <= self.end
                and any(first <= d <= last for d in _window(self.workdays, first, last))
            ):
                spans.append((first, last))
            day = last + timedelta(days=1)
        return spans

    def _logged(self) -> dict[tuple[str, int], list[date]]:
        visits = (
            Visit.objects.filter(area__street=self.street)
            .annotate(on=TruncDate("visited_at"))
            .filter(on__gte=self.start, on__lte=self.end)
            .values_list("household_id", "patrol_site_id", "on")
        )
        logged: dict[tuple[str, int], list[date]] = defaultdict(list)
        for household_id, site_id, on in visits:
            logged[(HOUSEHOLD, household_id) if household_id else (PATROL, site_id)].append(on)
        return logged


def _window(workdays: list[date], first: date, last: date) -> Iterable[date]:
    return workdays[bisect.bisect_left(workdays, first) : bisect.bisect_right(workdays, last)]


def _same_point(a: tuple[float, float], b: tuple[float | None, float | None]) -> bool:
    if b[0] is None or b[1] is None:
        return False
    return abs(a[0] - b[0]) <= COORDINATE_TOLERANCE and abs(a[1] - b[1]) <= COORDINATE_TOLERANCE


def _describe(kind: str, pk: int) -> str:
    return _("住户 #%(id)d") % {"id": pk} if kind == HOUSEHOLD else _("巡查点 #%(id)d") % {"id": pk}
