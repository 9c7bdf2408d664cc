"""Routing on arrival: which base grid a new case lies in, its default tier, and open cases it may repeat.

Point-in-polygon runs on an in-memory `shapely.STRtree` of the base grids' boundaries, built once per
process and database and rebuilt when the grids change in any process (a cheap fingerprint of the
grids table — count, last id, last change — is checked on every call; `invalidate_grid_index` drops
it explicitly). Routing only fills in fields and
flushes: it is not a move of the case loop, so the status stays as it is.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.geo import Point
from core.glossary import CoordSystem, GridLevel
from core.models import Case, Checkpoint, Grid
from core.services.nearby import nearby_open_cases
from core.settings import Settings

OUTSIDE_EVERY_GRID = "不在任何网格内，转区网格中心处理"
DUPLICATE_RADIUS_M = 50.0
# The nearest few are enough for staff to check; a storm's hundred reports of one tree need not be listed.
DUPLICATE_LIMIT = 5


@dataclass(frozen=True)
class RoutingResult:
    """Where routing placed a case: its grid (None: the district center's queue), how, and likely repeats."""

    grid_id: int | None
    via: str  # "checkpoint", "point" or "outside"
    possible_duplicates: list[str] = field(default_factory=list)


Fingerprint = tuple[int, int | None, datetime | None]


@dataclass(frozen=True)
class _Layer:
    """The base grids of one coordinate system, in an R-tree."""

    tree: shapely.STRtree
    grid_ids: list[int]


@dataclass(frozen=True)
class GridIndex:
    """The base grids' boundaries, one R-tree per coordinate system they are drawn in."""

    fingerprint: Fingerprint
    layers: dict[CoordSystem, _Layer]

    def locate(self, point: Point) -> int | None:
        """The id of the base grid containing `point` (on a shared edge: the lowest id), or None."""
        hits: list[int] = []
        for system, layer in self.layers.items():
            where = point.to(system)
            found = layer.tree.query(shapely.Point(where.lng, where.lat), predicate="intersects")
            hits.extend(layer.grid_ids[i] for i in found)
        return min(hits) if hits else None


_lock = threading.Lock()
_indexes: dict[str, GridIndex] = {}


def invalidate_grid_index() -> None:
    """Forget every built index, so the next routing rebuilds it (after editing a boundary in place)."""
    with _lock:
        _indexes.clear()


def _fingerprint(session: Session) -> Fingerprint:
    count, max_id, max_created = session.execute(
        select(func.count(Grid.id), func.max(Grid.id), func.max(Grid.updated_at)).where(Grid.level == GridLevel.GRID)
    ).one()
    return int(count), max_id, max_created


def _geometry(boundary: dict[str, Any] | None) -> Any | None:
    """The shapely geometry of a GeoJSON Polygon or MultiPolygon, or None if it is not a usable one."""
    if not boundary or boundary.get("type") not in ("Polygon", "MultiPolygon"):
        return None
    try:
        geometry = shapely.geometry.shape(boundary)
    except (TypeError, ValueError, IndexError, AttributeError, shapely.errors.ShapelyError):
        return None
    if geometry.is_empty:
        return None
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    shapely.prepare(geometry)
    return geometry


def _build(session: Session, fingerprint: Fingerprint) -> GridIndex:
    rows = session.execute(
        select(Grid.id, Grid.boundary, Grid.coord_system).where(Grid.level == GridLevel.GRID).order_by(Grid.id)
    ).all()
    by_system: dict[CoordSystem, tuple[list[Any], list[int]]] = {}
    for grid_id, boundary, system in rows:
        geometry = _geometry(boundary)
        if geometry is None:
            continue
        geometries, ids = by_system.setdefault(system or CoordSystem.GCJ02, ([], []))
        geometries.append(geometry)
        ids.append(grid_id)
    layers = {system: _Layer(shapely.STRtree(geoms), ids) for system, (geoms, ids) in by_system.items()}
    return GridIndex(fingerprint, layers)


def grid_index(session: Session) -> GridIndex:
    """The index of the base grids as they are now in the session's database (built or reused)."""
    key = str(session.get_bind().engine.url)
    fingerprint = _fingerprint(session)
    with _lock:
        index = _indexes.get(key)
    if index is not None and index.fingerprint == fingerprint:
        return index
    index = _build(session, fingerprint)
    with _lock:
        _indexes[key] = index
    return index


def _possible_duplicates(session: Session, case: Case, at: Point) -> list[str]:
    """Numbers of other open cases of the same category within DUPLICATE_RADIUS_M of `at`, nearest first."""
    assert case.category is not None
    near = nearby_open_cases(
        session, at, category_code=case.category.code, radius_m=DUPLICATE_RADIUS_M, limit=DUPLICATE_LIMIT
    )
    return [item.case.number for item in near if item.case.id != case.id]


def route_case(session: Session, case: Case, settings: Settings) -> RoutingResult:
    """Place a newly flushed `case`: grid, routing note, default tier, possible duplicates; flushes only.

    A case from a checkpoint keeps the checkpoint's grid; otherwise its point decides, converted into
    each grid's system through core.geo. A case outside every base grid (or without a position) goes
    to the district center's queue with a note. The time limit is not started here but at dispatch.
    """
    located = case.lat is not None and case.lng is not None and case.coord_system is not None
    at = Point(case.lat, case.lng, case.coord_system) if located else None  # type: ignore[arg-type]

    if case.checkpoint_id is not None:
        checkpoint = case.checkpoint or session.get(Checkpoint, case.checkpoint_id)
        assert checkpoint is not None
        grid_id: int | None = checkpoint.grid_id
        via = "checkpoint"
    else:
        grid_id = grid_index(session).locate(at) if at is not None else None
        via = "point" if grid_id is not None else "outside"
    case.grid = session.get(Grid, grid_id) if grid_id is not None else None
    case.routing_note = OUTSIDE_EVERY_GRID if grid_id is None else None

    if case.tier is None and case.category is not None:
        case.tier = case.category.default_tier

    duplicates = _possible_duplicates(session, case, at) if at is not None and case.category_id is not None else []
    case.possible_duplicates = duplicates or None
    session.flush()
    return RoutingResult(grid_id, via, duplicates)
