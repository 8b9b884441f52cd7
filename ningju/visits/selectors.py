"""Reads for the route map pages: whose routes a user may see, one day's route with its stops and their done
status, the map's data (tiles, coordinates in the tiles' datum), and working-day navigation."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import Prefetch
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from ningju.core import workdays
from ningju.core.geo import LatLng, wgs84_to_gcj02
from ningju.core.models import User
from ningju.visits import permissions
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
        Route.objects.select_related("area", "plan")
        .prefetch_related(Prefetch("stops", queryset=stops))
        .filter(cadre=owner, day=day)
        .first()
    )


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day as aware datetimes, so that queries use the visited_at indexes."""
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def visited_on(day: date, household_ids: list[int], site_ids: list[int]) -> tuple[set[int], set[int]]:
    """Which of these households and patrol sites had a visit (by anyone) on `day`: two queries."""
    start, end = day_bounds(day)
    in_day = Visit.objects.filter(visited_at__gte=start, visited_at__lt=end)
    households = set(in_day.filter(household_id__in=household_ids).values_list("household_id", flat=True))
    sites = set(in_day.filter(patrol_site_id__in=site_ids).values_list("patrol_site_id", flat=True))
    return households, sites


@dataclass(frozen=True)
class StopRow:
    """A stop as the route page lists it."""

    seq: int
    kind: str
    target_id: int
    label: str
    detail: str
    reason: str
    lat: float
    lng: float
    done: bool
    visit_url: str | None


def stop_rows(route: Route, visit_form_url: str | None) -> list[StopRow]:
    """The route's stops in walking order, each with its done status and the link to log its visit."""
    stops = list(route.stops.all())
    done_households, done_sites = visited_on(
        route.day,
        [s.household_id for s in stops if s.household_id is not None],
        [s.patrol_site_id for s in stops if s.patrol_site_id is not None],
    )
    rows = []
    for stop in stops:
        if stop.household is not None:
            target_id, param = stop.household.pk, "household"
            label, detail = stop.household.address, ""
            done = target_id in done_households
        elif stop.patrol_site is not None:
            target_id, param = stop.patrol_site.pk, "patrol_site"
            label = stop.patrol_site.name
            detail = " · ".join(x for x in (str(stop.patrol_site.site_type), stop.patrol_site.address) if x)
            done = target_id in done_sites
        else:  # the database refuses a stop with neither; keep the page up if one slipped through
            continue
        url = f"{visit_form_url}?{param}={target_id}&stop={stop.pk}" if visit_form_url else None
        rows.append(
            StopRow(
                seq=stop.seq,
                kind=stop.kind,
                target_id=target_id,
                label=label,
                detail=detail,
                reason=stop.reason,
                lat=stop.lat,
                lng=stop.lng,
                done=done,
                visit_url=url,
            )
        )
    return rows


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
    """Everything the map script needs, embedded in the page (json_script): tiles, the office, numbered stops and
    the closed walking path office → stops → office, in the tiles' datum."""
    tiles = map_tiles()
    datum = tiles["datum"]
    stops = [
        {"seq": row.seq, "at": _display((row.lat, row.lng), datum), "label": row.label, "done": row.done}
        for row in rows
    ]
    path = [stop["at"] for stop in stops]
    office_at = _display(office, datum) if office is not None else None
    if office_at is not None and path:
        path = [office_at, *path, office_at]
    return {
        "tiles": tiles,
        "office": office_at,
        "stops": stops,
        "path": path,
        "text": {
            "office": _("居委会"),
            "tiles_failed": _("地图底图无法加载，仅显示路线"),
            "no_tiles": _("未配置地图底图，仅显示路线"),
            "done": _("已走访"),
        },
    }


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
