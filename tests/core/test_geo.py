"""Coordinate systems convert both ways, and distances are right across them."""

from __future__ import annotations

import pytest

from core.geo import Point, degrees_around, distance_m
from core.glossary import CoordSystem

G, W = CoordSystem.GCJ02, CoordSystem.WGS84


def test_gcj02_is_offset_from_wgs84_by_hundreds_of_metres_in_hefei():
    wgs = Point(31.8, 117.3, W)
    gcj = wgs.to(G)
    assert 300 < distance_m(Point(gcj.lat, gcj.lng, W), wgs) < 700  # the well-known "Mars" offset
    back = gcj.to(W)
    assert distance_m(back, wgs) < 0.01  # the inverse is exact to a centimetre


def test_the_same_place_in_two_systems_is_zero_metres_apart():
    wgs = Point(31.7985, 117.2981, W)
    assert distance_m(wgs, wgs.to(G)) == pytest.approx(0, abs=0.01)


def test_distances_and_boxes():
    a, b = Point(31.8, 117.3, G), Point(31.8018, 117.3, G)  # 0.0018° of latitude
    assert distance_m(a, b) == pytest.approx(200, rel=0.01)
    dlat, dlng = degrees_around(31.8, 200)
    assert dlat == pytest.approx(0.0018, rel=0.01) and dlng > dlat


def test_outside_china_nothing_moves():
    paris = Point(48.85, 2.35, W)
    assert paris.to(G) == Point(48.85, 2.35, G)


@pytest.mark.parametrize(("lat", "lng"), [(-90, -180), (90, 180), (0, 0), (-33.87, 151.21)])
def test_outside_china_nothing_moves_either_way_even_at_the_poles(lat, lng):
    # prcoords' GCJ-02 → WGS-84 iteration diverges far from China (a math domain error at a pole).
    assert Point(lat, lng, G).to(W) == Point(lat, lng, W)
    assert Point(lat, lng, W).to(G) == Point(lat, lng, G)
    assert distance_m(Point(lat, lng, G), Point(lat, lng, W)) == pytest.approx(0, abs=0.01)
