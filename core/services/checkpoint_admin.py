"""Managing checkpoints (巡查点): add one, import many from CSV or GeoJSON, list them, rotate a sign's code.

Every function flushes only; the caller commits. Each checkpoint keeps the coordinate system its
point came in (GCJ-02 from WeChat and Chinese maps, WGS-84 from GPS and GeoJSON): nothing here
converts, and a point is compared with its grid's boundary only when both are in the same system.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager

from core.errors import InvalidInput, NotFound
from core.glossary import CoordSystem
from core.models import Checkpoint, Grid
from core.services.checkpoint_rows import (
    CheckedRow,
    RawRow,
    check_fields,
    check_grid,
    normalized_grid_code,
    read_rows,
    same_place,
)

LABEL_PREFIX = "CP"

_AUTO_LABEL = re.compile(rf"^{LABEL_PREFIX}(\d+)$")
_QUERY_CHUNK = 500  # grid codes or labels per IN (...) query


def serial_label(serial: int) -> str:
    """The label printed on the `serial`-th checkpoint sign: CP0001, CP0002, … (CP10000 after CP9999)."""
    return f"{LABEL_PREFIX}{serial:04d}"


class ImportRejected(InvalidInput):
    """An import with bad rows; nothing was stored. `problems` names each bad row."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"导入失败，未保存任何巡查点（{len(self.problems)} 处错误）：\n{lines}")


@dataclass
class ImportResult:
    """What an import did: checkpoints added, updated (found by label and changed), unchanged."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)  # points outside their grid's boundary
    checkpoints: list[Checkpoint] = field(default_factory=list)  # in file order


# ---------------------------------------------------------------------------------------------
# The four operations


def add_checkpoint(
    session: Session,
    *,
    name: str,
    grid_code: str,
    lat: float,
    lng: float,
    coord_system: CoordSystem | str,
    label: str | None = None,
) -> Checkpoint:
    """Add a checkpoint in base grid `grid_code`, labelled `label` or the next free CPnnnn label.

    Raises InvalidInput (in Chinese, naming every problem) for a missing or non-base grid, a
    latitude or longitude out of range, an unknown coordinate system or a label already taken.
    A point outside its grid's boundary is accepted: `placement_warning` says so.
    """
    row = RawRow("", name, grid_code, lat, lng, coord_system, label)
    problems: list[str] = []
    fields = check_fields(row, problems)
    code = normalized_grid_code(grid_code)
    grid = check_grid(_grids_by_code(session, [code]), code, problems) if code else None
    if fields and fields.label and _existing_by_label(session, [fields.label]):
        problems.append(f"编号 {fields.label} 已被占用")
    if problems or fields is None or grid is None:
        raise InvalidInput("；".join(problems))
    checkpoint = Checkpoint(
        label=fields.label or serial_label(_last_serial(session) + 1),
        name=fields.name,
        grid=grid,
        lat=fields.lat,
        lng=fields.lng,
        coord_system=fields.coord_system,
    )
    session.add(checkpoint)
    _flush(session)
    return checkpoint


def import_checkpoints(session: Session, path: str | Path) -> ImportResult:
    """Add or update checkpoints from a CSV or GeoJSON file, all or nothing.

    CSV: a header `name,grid,lat,lng,coord_system[,label]`, UTF-8 with or without BOM.
    GeoJSON: a FeatureCollection of Points ([lng, lat]) with properties `name`, `grid`, optional
    `label` and optional `coord_system` (wgs84 unless it says gcj02, as RFC 7946 has it).
    Every row is checked before anything is stored; if any is bad, ImportRejected names each bad
    row (CSV line or feature number) and nothing is added. A row whose label exists updates that
    checkpoint's name, grid and point; a row without a label gets the next free CPnnnn label.
    """
    rows = list(read_rows(Path(path)))
    if not rows:
        raise InvalidInput("文件里没有巡查点")
    grids = _grids_by_code(session, {code for row in rows if (code := normalized_grid_code(row.grid_code))})
    problems: list[str] = []
    seen: dict[str, str] = {}  # label → the row that first gave it
    placed: list[tuple[str, CheckedRow, Grid]] = []
    for row in rows:
        row_problems = [row.broken] if row.broken else []
        fields = None if row.broken else check_fields(row, row_problems)
        code = "" if row.broken else normalized_grid_code(row.grid_code)
        grid = check_grid(grids, code, row_problems) if code else None
        if fields and fields.label in seen:
            row_problems.append(f"编号 {fields.label} 与{seen[fields.label]}重复")
        elif fields and fields.label:
            seen[fields.label] = row.where
        problems.extend(f"{row.where}：{p}" for p in row_problems)
        if fields and grid and not row_problems:
            placed.append((row.where, fields, grid))
    if problems:
        raise ImportRejected(problems)

    existing = _existing_by_label(session, seen)
    serial = max([_last_serial(session), *(_serial(label) for label in seen)])
    result = ImportResult()
    for _, fields, grid in placed:
        checkpoint = existing.get(fields.label) if fields.label else None
        if checkpoint is None:
            if fields.label is None:
                serial += 1
            checkpoint = Checkpoint(label=fields.label or serial_label(serial))
            session.add(checkpoint)
            result.added += 1
        elif same_place(checkpoint, fields, grid):
            result.unchanged += 1
        else:
            result.updated += 1
        checkpoint.name, checkpoint.grid = fields.name, grid
        checkpoint.lat, checkpoint.lng, checkpoint.coord_system = fields.lat, fields.lng, fields.coord_system
        result.checkpoints.append(checkpoint)
    _flush(session)
    for (where, _, _), checkpoint in zip(placed, result.checkpoints, strict=True):
        warning = placement_warning(checkpoint)
        if warning:
            result.warnings.append(f"{where}（{checkpoint.label}）：{warning}")
    return result


def rotate(session: Session, label: str) -> Checkpoint:
    """Give checkpoint `label` a new sign code (key_version + 1); signs printed before now read as replaced."""
    checkpoint = session.scalar(select(Checkpoint).where(Checkpoint.label == (label or "").strip()))
    if checkpoint is None:
        raise NotFound(f"巡查点 {label} 不存在")
    # Raised in SQL, so two rotations at the same time both count.
    checkpoint.key_version = Checkpoint.key_version + 1
    session.flush()
    session.refresh(checkpoint)
    return checkpoint


def list_checkpoints(session: Session, grid_code: str | None = None) -> list[Checkpoint]:
    """Every checkpoint by label, or those in `grid_code`'s subtree; each with its grid, in one query."""
    query = select(Checkpoint).join(Checkpoint.grid).options(contains_eager(Checkpoint.grid)).order_by(Checkpoint.label)
    if grid_code is not None:
        grid = session.scalar(select(Grid).where(Grid.code == grid_code.strip()))
        if grid is None:
            raise NotFound(f"网格 {grid_code} 不存在")
        query = query.where(Grid.path.startswith(grid.path, autoescape=True))
    return list(session.scalars(query))


def placement_warning(checkpoint: Checkpoint) -> str | None:
    """A warning when the checkpoint lies outside its grid's boundary; None when inside or not comparable.

    Compared only when the point and the boundary are in the same coordinate system (GCJ-02 is
    offset from WGS-84 by up to several hundred metres, enough to cross a grid's edge).
    """
    grid = checkpoint.grid
    if grid is None or not grid.boundary or grid.coord_system != checkpoint.coord_system:
        return None
    inside = point_in_geometry(checkpoint.lng, checkpoint.lat, grid.boundary)
    if inside is None or inside:
        return None
    hint = "请核对坐标和坐标系"
    if point_in_geometry(checkpoint.lat, checkpoint.lng, grid.boundary):
        hint = "纬度和经度可能写反了"
    return (
        f"点（纬度 {checkpoint.lat}，经度 {checkpoint.lng}，{checkpoint.coord_system.value}）"
        f"不在网格 {grid.code}「{grid.name}」的边界内，{hint}（已照常保存）"
    )


def point_in_geometry(lng: float, lat: float, geometry: dict[str, Any]) -> bool | None:
    """Whether (lng, lat) lies in a GeoJSON Polygon or MultiPolygon (holes respected); None if not one.

    Ray casting with the even-odd rule over every ring of a polygon, so a hole toggles back out.
    Points exactly on an edge may fall either way, which is fine for a warning.
    """
    kind, coordinates = geometry.get("type"), geometry.get("coordinates") or []
    try:
        if kind == "Polygon":
            return _in_polygon(lng, lat, coordinates)
        if kind == "MultiPolygon":
            return any(_in_polygon(lng, lat, polygon) for polygon in coordinates)
    except (TypeError, ValueError, IndexError):
        return None
    return None


def _in_polygon(lng: float, lat: float, rings: Iterable[Sequence[Sequence[float]]]) -> bool:
    inside = False
    for ring in rings:
        for (x1, y1, *_), (x2, y2, *_) in pairwise(ring):
            if (y1 > lat) != (y2 > lat) and lng < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
    return inside


# ---------------------------------------------------------------------------------------------
# The database side


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    items = sorted(set(values))
    for start in range(0, len(items), _QUERY_CHUNK):
        yield items[start : start + _QUERY_CHUNK]


def _grids_by_code(session: Session, codes: Iterable[str]) -> dict[str, Grid]:
    found: dict[str, Grid] = {}
    for chunk in _chunks(codes):
        found.update((g.code, g) for g in session.scalars(select(Grid).where(Grid.code.in_(chunk))))
    return found


def _existing_by_label(session: Session, labels: Iterable[str]) -> dict[str, Checkpoint]:
    found: dict[str, Checkpoint] = {}
    for chunk in _chunks(labels):
        found.update((c.label, c) for c in session.scalars(select(Checkpoint).where(Checkpoint.label.in_(chunk))))
    return found


def _serial(label: str) -> int:
    """The number of a CPnnnn label, 0 for any other label."""
    match = _AUTO_LABEL.match(label)
    return int(match.group(1)) if match else 0


def _last_serial(session: Session) -> int:
    """The highest CPnnnn number in use (0 if none), so a new label never reuses an old sign's."""
    labels = session.scalars(select(Checkpoint.label).where(Checkpoint.label.startswith(LABEL_PREFIX)))
    return max((_serial(label) for label in labels), default=0)


def _flush(session: Session) -> None:
    """Flush; a label taken meanwhile by someone else becomes InvalidInput (roll the session back)."""
    try:
        session.flush()
    except IntegrityError:
        raise InvalidInput("编号已被占用（可能有人同时在添加巡查点），请重试") from None
