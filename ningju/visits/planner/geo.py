"""Walking distance for the planner: great-circle (haversine) metres between WGS-84 points.

Walking distance is approximated by the haversine distance on a sphere of the Earth's mean radius: in the lanes of
an old-town street the real walk is longer by a roughly constant detour factor, which changes no order and no
choice. Households of one building share the building's point, so they are 0 m apart.
"""

from collections.abc import Sequence

import numpy as np

from ningju.core import geo
from ningju.core.geo import EARTH_RADIUS_M

Point = tuple[float, float]  # (lat, lng) in degrees, WGS-84


def haversine_m(a: Point, b: Point) -> float:
    """Metres along the great circle between two (lat, lng) points (ningju.core.geo's formula)."""
    return geo.haversine_m(a[0], a[1], b[0], b[1])


def distance_matrix(points: Sequence[Point]) -> np.ndarray:
    """Haversine metres between every pair of points (a symmetric float matrix)."""
    if not points:
        return np.zeros((0, 0))
    coords = np.radians(np.asarray(points, dtype=float))
    lat, lng = coords[:, 0:1], coords[:, 1:2]
    h = np.sin((lat.T - lat) / 2) ** 2 + np.cos(lat) * np.cos(lat.T) * np.sin((lng.T - lng) / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))


def tour_length_m(office: Point, stops: Sequence[Point]) -> float:
    """The closed walk office → stops in order → office, in metres (0 with no stops)."""
    if not stops:
        return 0.0
    walk = haversine_m(office, stops[0]) + haversine_m(stops[-1], office)
    return walk + sum(haversine_m(stops[i], stops[i + 1]) for i in range(len(stops) - 1))
