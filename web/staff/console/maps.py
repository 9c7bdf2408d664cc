"""The small map of a case page, drawn by the server as SVG: the grid's boundary and the case's point.

No tile service is called: the boundary is projected with a local equirectangular projection
(good to well under a metre over a grid's few hundred metres), both in the grid's coordinate
system, after the case's point is brought into it by core.geo.
"""

from __future__ import annotations

import math
from typing import Any

from markupsafe import Markup, escape

from core.geo import EARTH_RADIUS_M, Point
from core.glossary import CoordSystem

WIDTH, HEIGHT, PAD = 320, 240, 16
_NICE_METRES = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000)


def _rings(boundary: dict[str, Any] | None) -> list[list[tuple[float, float]]]:
    """The outer and inner rings of a GeoJSON Polygon or MultiPolygon as (lng, lat) lists."""
    if not boundary:
        return []
    kind, coords = boundary.get("type"), boundary.get("coordinates") or []
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []
    return [[(float(x), float(y)) for x, y, *_ in ring] for polygon in polygons for ring in polygon if ring]


def case_map_svg(
    boundary: dict[str, Any] | None, boundary_system: CoordSystem, point: Point | None, *, title: str = ""
) -> Markup:
    """An SVG of the boundary (filled) and the point (a red dot), fitted to WIDTH × HEIGHT, with a scale bar."""
    rings = _rings(boundary)
    at = point.to(boundary_system) if point is not None else None
    spots = [p for ring in rings for p in ring] + ([(at.lng, at.lat)] if at else [])
    if not spots:
        return Markup(
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT // 3}" role="img" '
            f'aria-label="无位置信息"><text x="{WIDTH / 2}" y="{HEIGHT / 6}" text-anchor="middle" '
            f'font-size="14" fill="#616e7c">无位置信息</text></svg>'
        )
    lngs, lats = [p[0] for p in spots], [p[1] for p in spots]
    mid_lat = (min(lats) + max(lats)) / 2
    # Metres per degree here; east-west shrinks with the latitude.
    per_lat = math.pi * EARTH_RADIUS_M / 180
    per_lng = per_lat * math.cos(math.radians(mid_lat))
    span_x = max((max(lngs) - min(lngs)) * per_lng, 50.0)
    span_y = max((max(lats) - min(lats)) * per_lat, 50.0)
    scale = min((WIDTH - 2 * PAD) / span_x, (HEIGHT - 2 * PAD) / span_y)  # pixels per metre
    cx, cy = (min(lngs) + max(lngs)) / 2, (min(lats) + max(lats)) / 2

    def xy(lng: float, lat: float) -> tuple[float, float]:
        return WIDTH / 2 + (lng - cx) * per_lng * scale, HEIGHT / 2 - (lat - cy) * per_lat * scale

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title or "案件位置")}" style="width:100%;max-width:{WIDTH * 1.5}px;background:#f8fafc">'
    ]
    if rings:
        path = " ".join(
            "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in (xy(lng, lat) for lng, lat in ring)) + " Z" for ring in rings
        )
        parts.append(
            f'<path class="grid" d="{path}" fill="#0f7b5f22" stroke="#0f7b5f" stroke-width="2" fill-rule="evenodd"/>'
        )
    if at is not None:
        x, y = xy(at.lng, at.lat)
        parts.append(
            f'<circle class="case" cx="{x:.1f}" cy="{y:.1f}" r="6" fill="#b42318" stroke="#fff" stroke-width="2"/>'
        )
    metres = next((m for m in _NICE_METRES if m * scale >= 40), _NICE_METRES[-1])
    length = metres * scale
    label = f"{metres // 1000} 公里" if metres >= 1000 else f"{metres} 米"
    parts.append(
        f'<g class="scale"><path d="M{PAD},{HEIGHT - PAD} h{length:.1f}" stroke="#1f2933" stroke-width="2"/>'
        f'<text x="{PAD}" y="{HEIGHT - PAD - 5}" font-size="11" fill="#1f2933">{label}</text></g>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))
