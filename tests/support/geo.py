"""Geometry for tests: a point moved a given number of metres north and east."""

from __future__ import annotations

from core.geo import degrees_around


def shifted(lat: float, lng: float, north_m: float = 0.0, east_m: float = 0.0) -> tuple[float, float]:
    dlat, dlng = degrees_around(lat, 1.0)
    return lat + north_m * dlat, lng + east_m * dlng
