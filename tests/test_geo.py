"""Coordinates: walking distances, and WGS-84 ↔ GCJ-02 against the published eviltransform reference values."""

import pytest

from ningju.core.geo import (
    EARTH_RADIUS_M,
    gcj02_to_wgs84,
    haversine_m,
    out_of_china,
    path_length_m,
    wgs84_to_gcj02,
)

# (WGS-84, GCJ-02) pairs from the eviltransform test suites (Shanghai, Shenzhen, Beijing).
REFERENCE = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),
]


@pytest.mark.parametrize(("wgs", "gcj"), REFERENCE)
def test_wgs84_point_converts_to_the_reference_gcj02_point(
    wgs: tuple[float, float], gcj: tuple[float, float]
) -> None:
    assert wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-9)


@pytest.mark.parametrize(("wgs", "gcj"), REFERENCE)
def test_gcj02_point_converts_back_to_within_a_centimetre(
    wgs: tuple[float, float], gcj: tuple[float, float]
) -> None:
    lat, lng = gcj02_to_wgs84(*gcj)
    assert haversine_m(lat, lng, *wgs) < 0.01


def test_gcj02_shift_in_jiangning_road_is_hundreds_of_metres_south_east() -> None:
    # Why the conversion matters: drawn unconverted on 高德 tiles, a building lands on the wrong block.
    lat, lng = wgs84_to_gcj02(31.2376, 121.4508)
    shift = haversine_m(31.2376, 121.4508, lat, lng)
    assert 400 < shift < 700
    assert lat < 31.2376 and lng > 121.4508


def test_points_outside_china_are_not_shifted() -> None:
    assert out_of_china(51.5007, -0.1246)
    assert wgs84_to_gcj02(51.5007, -0.1246) == (51.5007, -0.1246)
    assert gcj02_to_wgs84(-27.4698, 153.0251) == (-27.4698, 153.0251)


def test_haversine_matches_the_reference_shanghai_to_beijing_distance() -> None:
    # eviltransform's distance test: 1,078,164 m between its Shanghai and Beijing points on a sphere of the
    # equatorial radius (6,378,137 m); we use the mean radius (EARTH_RADIUS_M), so the figure scales by their ratio.
    distance = haversine_m(31.17530398364597, 121.531541859215, 39.91334545536069, 116.38404722455657)
    assert distance == pytest.approx(1_078_164 * EARTH_RADIUS_M / 6_378_137, abs=1)


def test_one_thousandth_of_a_degree_of_latitude_is_about_111_metres() -> None:
    assert haversine_m(31.0, 121.0, 31.001, 121.0) == pytest.approx(111.19, abs=0.01)
    assert haversine_m(31.0, 121.0, 31.0, 121.0) == 0


def test_path_length_is_the_sum_of_its_legs() -> None:
    a, b, c = (31.0, 121.0), (31.001, 121.0), (31.001, 121.001)
    assert path_length_m([a, b, c, a]) == pytest.approx(
        haversine_m(*a, *b) + haversine_m(*b, *c) + haversine_m(*c, *a)
    )
    assert path_length_m([a]) == 0
    assert path_length_m([]) == 0
