"""Reads for the route map pages: whose routes a user may see, one day's route with its stops and their done
status, the map's data (tiles, coordinates in the tiles' datum), and working-day navigation."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import Prefetch, Q
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from ningju.core import workdays
from ningju.core.geo import LatLng, wgs84_to_gcj02
from ningju.core.models import User
from ningju.visits import permissions, rules
from ningju.visits.models import Route, Stop, Visit

# How far date navigation looks for the previous/next working day (the longest holiday is 8–9 days).
WORKDAY_SEARCH_DAYS = 31


# --- whose routes (who may see them is in visits/permissions.py) ----------------------------------------------


def route_owner(viewer: User, username: str) -> User:
    """The user whose routes the page shows: 404 if unknown, 403 if outside the viewer's scope."""
    owner = User.objects.select_related("area__street").filter(username=username).first()
    if owner is None:
        raise Http404(_("用户不存在。"))
    if not permissions.can_view_routes_of(viewer, owner):
        raise PermissionDenied(_("您无权查看该干部的走访路线。"))
    return owner


# --- one day's route ------------------------------------------------------------------------------------------


def route_of(owner: User, day: date) -> Route | None:
    stops = Stop.objects.select_related("household__building", "patrol_site__site_type").order_by("seq")
    return (
        Route.objects.select_related("area__street", "plan")
        .prefetch_related(Prefetch("stops", queryset=stops))
        .filter(cadre=owner, day=day)
        .first()
    )


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day as aware datetimes, so that queries use the visited_at indexes."""
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


@dataclass(frozen=True)
class DoneVisit:
    """The visit that satisfied a stop: on the route's day, or off the route since the route was planned."""

    on: date
    url: str | None
    off_route: bool  # logged on an earlier day than the route's (the stop was visited before its turn)


@dataclass(frozen=True)
class StopRow:
    """A stop as the route page lists it: its reason and last visit read live from the visit log."""

    seq: int
    kind: str
    target_id: int
    label: str
    detail: str
    reason: str
    lat: float
    lng: float
    last_visit: date | None
    done_visit: DoneVisit | None
    visit_url: str | None

    @property
    def done(self) -> bool:
        return self.done_visit is not None


def stop_rows(route: Route, visit_form_url: str | None) -> list[StopRow]:
    """The route's stops in walking order, each with its done status, why it is due as of now, its last visit
    before the route's day, and the link to log its visit (a few queries, none per stop)."""
    stops = [s for s in route.stops.all() if s.household is not None or s.patrol_site is not None]
    household_ids = [s.household_id for s in stops if s.household_id is not None]
    site_ids = [s.patrol_site_id for s in stops if s.patrol_site_id is not None]
    street = route.area.street
    book = rules.RuleBook(street)
    tags = rules.household_tag_ids(household_ids)
    lasts = {
        (Stop.Kind.HOUSEHOLD, k): v
        for k, v in rules.last_household_visits(household_ids, before=route.day).items()
    }
    lasts |= {(Stop.Kind.PATROL, k): v for k, v in rules.last_site_visits(site_ids, before=route.day).items()}
    done = _done_visits(route, household_ids, site_ids)
    minimum = rules.settings_for(street).min_households_per_day
    rows = []
    for stop in stops:
        if stop.household is not None:
            key, param = (Stop.Kind.HOUSEHOLD, stop.household.pk), "household"
            label, detail = stop.household.address, ""
            requirement = book.household(tags.get(stop.household.pk, ()))
        else:
            assert stop.patrol_site is not None
            key, param = (Stop.Kind.PATROL, stop.patrol_site.pk), "patrol_site"
            label = stop.patrol_site.name
            detail = " · ".join(x for x in (str(stop.patrol_site.site_type), stop.patrol_site.address) if x)
            requirement = book.patrol_site(stop.patrol_site.site_type_id)
        done_visit = done.get(key)
        last = lasts.get(key)
        if done_visit is not None and done_visit.off_route:
            last = done_visit.on
        url = f"{visit_form_url}?{param}={key[1]}&stop={stop.pk}" if visit_form_url else None
        rows.append(
            StopRow(
                seq=stop.seq,
                kind=stop.kind,
                target_id=key[1],
                label=label,
                detail=detail,
                reason=live_reason(stop.kind, requirement, last, route.day, done_visit is not None, minimum),
                lat=stop.lat,
                lng=stop.lng,
                last_visit=last,
                done_visit=done_visit,
                visit_url=url,
            )
        )
    return rows


def live_reason(
    kind: str, requirement: rules.Requirement | None, last: date | None, day: date, done: bool, minimum: int
) -> str:
    """Why the stop is on the route, as of the visit log now: due under its rule ("独居老人，上次走访 28 天前"), or a
    fill-up to the daily minimum when its rule is already met this period; a done stop names its rule only."""
    if done:
        return requirement.label if requirement is not None else ""
    if requirement is not None and (
        kind == Stop.Kind.PATROL or last is None or last < rules.period(day, requirement.interval)[0]
    ):
        return rules.due_reason(requirement, last, day)
    reason = _("每日走访（补足%(min)d户）") % {"min": minimum}
    if last is None:
        return reason + _("，尚未走访")
    return reason + _("，上次走访 %(days)d 天前") % {"days": (day - last).days}


def _done_visits(route: Route, household_ids: list[int], site_ids: list[int]) -> dict[tuple[str, int], DoneVisit]:
    """Per stop target, the visit that satisfies it: on the route's day, or logged (or made) since the route was
    planned and not after its day. The latest such visit wins."""
    day_start, day_end = day_bounds(route.day)
    since = min(route.planned_at, day_start)
    visits = (
        Visit.objects.filter(visited_at__lt=day_end)
        .filter(Q(household_id__in=household_ids) | Q(patrol_site_id__in=site_ids))
        .filter(Q(visited_at__gte=since) | Q(created_at__gte=route.planned_at))
        .order_by("visited_at")
        .values_list("id", "household_id", "patrol_site_id", "visited_at")
    )
    try:
        detail = reverse("visit_detail", args=["00000000-0000-0000-0000-000000000000"])
    except NoReverseMatch:
        detail = ""
    found: dict[tuple[str, int], DoneVisit] = {}
    for visit_id, household_id, site_id, visited_at in visits:
        key = (Stop.Kind.HOUSEHOLD, household_id) if household_id is not None else (Stop.Kind.PATROL, site_id)
        on = timezone.localdate(visited_at)
        url = detail.replace("00000000-0000-0000-0000-000000000000", str(visit_id)) if detail else None
        found[key] = DoneVisit(on=on, url=url, off_route=on < route.day)
    return found


# --- the map ----------------------------------------------------------------------------------------------------

OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'


def map_tiles() -> dict[str, Any]:
    """The configured tile source (setting NINGJU_MAP_TILES): its layers for Leaflet and the datum the tiles are
    drawn in. "none" draws routes on a plain background (for networks that reach no tile server)."""
    source = getattr(settings, "NINGJU_MAP_TILES", "osm") or "osm"
    if source == "osm":
        layers = [
            {
                "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                "options": {"maxZoom": 19, "attribution": OSM_ATTRIBUTION},
            }
        ]
        return {"source": source, "datum": "wgs84", "layers": layers}
    if source == "amap":
        layers = [
            {
                "url": "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
                "options": {"maxZoom": 18, "subdomains": "1234", "attribution": "&copy; 高德地图"},
            }
        ]
        return {"source": source, "datum": "gcj02", "layers": layers}
    if source == "tianditu":
        key = getattr(settings, "NINGJU_TIANDITU_KEY", "")
        if not key:
            raise ImproperlyConfigured("NINGJU_MAP_TILES=tianditu needs NINGJU_TIANDITU_KEY (天地图 browser key).")
        # Web Mercator vector map plus its Chinese labels; CGCS2000 coincides with WGS-84 at map precision.
        layers = [
            {
                "url": "https://t{s}.tianditu.gov.cn/"
                + layer
                + "_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER="
                + layer
                + "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk="
                + key,
                "options": {"maxZoom": 18, "subdomains": "01234567", "attribution": "&copy; 天地图"},
            }
            for layer in ("vec", "cva")
        ]
        return {"source": source, "datum": "wgs84", "layers": layers}
    if source == "none":
        return {"source": source, "datum": "wgs84", "layers": []}
    raise ImproperlyConfigured(f"NINGJU_MAP_TILES must be osm, amap, tianditu or none, not {source!r}.")


def _display(point: LatLng, datum: str) -> list[float]:
    lat, lng = wgs84_to_gcj02(*point) if datum == "gcj02" else point
    return [round(lat, 7), round(lng, 7)]


def route_map_data(route: Route | None, rows: list[StopRow], office: LatLng | None) -> dict[str, Any]:
    """Everything the map script needs, embedded in the page (json_script): tiles, the office, one marker per place
    (a building's households share one: it lists each household's stop number and state) and the closed walking
    path office → places → office, in the tiles' datum."""
    tiles = map_tiles()
    datum = tiles["datum"]
    markers: list[dict[str, Any]] = []
    by_point: dict[tuple[float, float], dict[str, Any]] = {}
    for row in rows:
        at = _display((row.lat, row.lng), datum)
        marker = by_point.get((at[0], at[1]))
        if marker is None:
            marker = {"at": at, "stops": []}
            by_point[(at[0], at[1])] = marker
            markers.append(marker)
        marker["stops"].append({"seq": row.seq, "label": row.label, "done": row.done})
    for marker in markers:
        seqs = [stop["seq"] for stop in marker["stops"]]
        marker["text"] = _seq_range(seqs)
        marker["done"] = all(stop["done"] for stop in marker["stops"])
    path = [marker["at"] for marker in markers]
    office_at = _display(office, datum) if office is not None else None
    if office_at is not None and path:
        path = [office_at, *path, office_at]
    return {
        "tiles": tiles,
        "office": office_at,
        "markers": markers,
        "path": path,
        "text": {
            "office": _("居委会"),
            "tiles_failed": _("地图底图无法加载，仅显示路线"),
            "no_tiles": _("未配置地图底图，仅显示路线"),
            "done": _("已走访"),
            "not_done": _("未走访"),
            "stops": _("%(n)d 户"),
        },
    }


def _seq_range(seqs: list[int]) -> str:
    """A marker's label: "3", "1–5" for consecutive stops, "2·7" otherwise."""
    if len(seqs) == 1:
        return str(seqs[0])
    if seqs == list(range(seqs[0], seqs[0] + len(seqs))):
        return f"{seqs[0]}–{seqs[-1]}"
    return "·".join(str(seq) for seq in seqs)


def office_of(route: Route | None, owner: User) -> LatLng | None:
    area = route.area if route is not None else owner.area
    if area is None or area.office_lat is None or area.office_lng is None:
        return None
    return area.office_lat, area.office_lng


# --- working-day navigation -------------------------------------------------------------------------------------


def previous_workday(day: date) -> date | None:
    for n in range(1, WORKDAY_SEARCH_DAYS + 1):
        if workdays.is_workday(day - timedelta(days=n)):
            return day - timedelta(days=n)
    return None


def next_workday(day: date) -> date | None:
    for n in range(1, WORKDAY_SEARCH_DAYS + 1):
        if workdays.is_workday(day + timedelta(days=n)):
            return day + timedelta(days=n)
    return None
