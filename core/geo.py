"""Coordinates and their systems: the one place GCJ-02 and WGS-84 are converted, and distances measured."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import prcoords

from core.glossary import CoordSystem

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class Point:
    """A position, with the system it is in."""

    lat: float
    lng: float
    system: CoordSystem

    def to(self, system: CoordSystem) -> Point:
        """The same place in `system` (outside China the two systems coincide)."""
        if system is self.system:
            return self
        if not prcoords.sanity_in_china_p(prcoords.Coords(self.lat, self.lng)):
            # prcoords' GCJ-02 → WGS-84 iterates even there and can diverge (a math error at a pole).
            return Point(self.lat, self.lng, system)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # prcoords warns, and returns the point, outside China
            if system is CoordSystem.GCJ02:
                moved = prcoords.wgs_gcj(prcoords.Coords(self.lat, self.lng))
            else:
                moved = prcoords.gcj_wgs_bored(prcoords.Coords(self.lat, self.lng))
        return Point(moved.lat, moved.lon, system)


def distance_m(a: Point, b: Point) -> float:
    """Great-circle distance in metres, after bringing both points into one system."""
    b = b.to(a.system)
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlng = lat2 - lat1, math.radians(b.lng - a.lng)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlng / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def degrees_around(lat: float, metres: float) -> tuple[float, float]:
    """How many degrees of latitude and longitude `metres` spans at `lat` (for a bounding box)."""
    dlat = math.degrees(metres / EARTH_RADIUS_M)
    dlng = dlat / max(math.cos(math.radians(lat)), 1e-6)
    return dlat, dlng
