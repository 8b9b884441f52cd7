"""Coordinates on the ground: walking distances (haversine) and WGS-84 ↔ GCJ-02 for Chinese map tiles.

Coordinates are stored in WGS-84 (what a phone's GPS gives). Chinese map tiles (高德/腾讯) are drawn in GCJ-02, a
published obfuscation that moves points by several hundred metres, so a stored point is converted before it is drawn
on those tiles. The formulas are the standard public ones (the eviltransform implementations); outside mainland China
GCJ-02 equals WGS-84.
"""

import math
from collections.abc import Iterable

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius

# Krasovsky 1940 ellipsoid, as the GCJ-02 formulas use it.
_KRASOVSKY_A = 6_378_245.0
_KRASOVSKY_EE = 0.00669342162296594323

LatLng = tuple[float, float]


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres between two WGS-84 points."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lng2 - lng1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def path_length_m(points: Iterable[LatLng]) -> float:
    """Length in metres of the polyline through `points`, in order."""
    total = 0.0
    previous: LatLng | None = None
    for point in points:
        if previous is not None:
            total += haversine_m(previous[0], previous[1], point[0], point[1])
        previous = point
    return total


def out_of_china(lat: float, lng: float) -> bool:
    """The rough rectangle the GCJ-02 formulas apply to (the same one every reference implementation uses)."""
    return not (72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _transform(x: float, y: float) -> LatLng:
    xy = x * y
    abs_x = math.sqrt(abs(x))
    x_pi = x * math.pi
    y_pi = y * math.pi
    d = 20.0 * math.sin(6.0 * x_pi) + 20.0 * math.sin(2.0 * x_pi)
    lat = d + 20.0 * math.sin(y_pi) + 40.0 * math.sin(y_pi / 3.0)
    lng = d + 20.0 * math.sin(x_pi) + 40.0 * math.sin(x_pi / 3.0)
    lat += 160.0 * math.sin(y_pi / 12.0) + 320 * math.sin(y_pi / 30.0)
    lng += 150.0 * math.sin(x_pi / 12.0) + 300.0 * math.sin(x_pi / 30.0)
    lat *= 2.0 / 3.0
    lng *= 2.0 / 3.0
    lat += -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * xy + 0.2 * abs_x
    lng += 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * xy + 0.1 * abs_x
    return lat, lng


def _delta(lat: float, lng: float) -> LatLng:
    d_lat, d_lng = _transform(lng - 105.0, lat - 35.0)
    rad_lat = lat / 180.0 * math.pi
    magic = 1 - _KRASOVSKY_EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_KRASOVSKY_A * (1 - _KRASOVSKY_EE)) / (magic * sqrt_magic) * math.pi)
    d_lng = (d_lng * 180.0) / (_KRASOVSKY_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return d_lat, d_lng


def wgs84_to_gcj02(lat: float, lng: float) -> LatLng:
    """A stored (WGS-84) point as GCJ-02, for drawing on 高德 tiles."""
    if out_of_china(lat, lng):
        return lat, lng
    d_lat, d_lng = _delta(lat, lng)
    return lat + d_lat, lng + d_lng


def gcj02_to_wgs84(lat: float, lng: float, tolerance: float = 1e-7) -> LatLng:
    """A GCJ-02 point (a coordinate picked on a Chinese map) back to WGS-84. There is no closed form: bisect until
    the forward conversion lands within `tolerance` degrees (about 1 cm), as eviltransform's exact inverse does."""
    if out_of_china(lat, lng):
        return lat, lng
    low_lat, low_lng = lat - 0.01, lng - 0.01
    high_lat, high_lng = lat + 0.01, lng + 0.01
    wgs_lat, wgs_lng = lat, lng
    for _step in range(60):
        wgs_lat, wgs_lng = (low_lat + high_lat) / 2, (low_lng + high_lng) / 2
        gcj_lat, gcj_lng = wgs84_to_gcj02(wgs_lat, wgs_lng)
        d_lat, d_lng = gcj_lat - lat, gcj_lng - lng
        if abs(d_lat) < tolerance and abs(d_lng) < tolerance:
            break
        if d_lat > 0:
            high_lat = wgs_lat
        else:
            low_lat = wgs_lat
        if d_lng > 0:
            high_lng = wgs_lng
        else:
            low_lng = wgs_lng
    return wgs_lat, wgs_lng
