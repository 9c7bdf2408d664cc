"""Managing checkpoints (巡查点): add one, import many from CSV or GeoJSON, list them, rotate a sign's code.

Every function flushes only; the caller commits. Each checkpoint keeps the coordinate system its
point came in (GCJ-02 from WeChat and Chinese maps, WGS-84 from GPS and GeoJSON): nothing here
converts, and a point is compared with its grid's boundary only when both are in the same system.
"""

from __future__ import annotations

import csv
import io
import json
import math
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
from core.glossary import CoordSystem, GridLevel
from core.models import Checkpoint, Grid

LABEL_PREFIX = "CP"
MAX_LABEL = 32  # Checkpoint.code
MAX_NAME = 128  # Checkpoint.name
CSV_REQUIRED = ("name", "grid", "lat", "lng", "coord_system")
CSV_OPTIONAL = ("label",)
# The names a GeoJSON 2008 `crs` member may give for plain WGS-84 longitude/latitude.
WGS84_CRS_NAMES = (
    "urn:ogc:def:crs:ogc:1.3:crs84",
    "urn:ogc:def:crs:ogc::crs84",
    "epsg:4326",
    "urn:ogc:def:crs:epsg::4326",
)

_AUTO_LABEL = re.compile(rf"^{LABEL_PREFIX}(\d+)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_QUERY_CHUNK = 500  # codes per IN (...) query


def checkpoint_code(serial: int) -> str:
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
    row = _RawRow("", name, grid_code, lat, lng, coord_system, label)
    problems: list[str] = []
    fields = _check_fields(row, problems)
    code = _grid_code(grid_code)
    grid = _check_grid(_grids_by_code(session, [code]), code, problems) if code else None
    if fields and fields.label and _existing_by_label(session, [fields.label]):
        problems.append(f"编号 {fields.label} 已被占用")
    if problems or fields is None or grid is None:
        raise InvalidInput("；".join(problems))
    checkpoint = Checkpoint(
        code=fields.label or checkpoint_code(_last_serial(session) + 1),
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
    rows = list(_read_rows(Path(path)))
    if not rows:
        raise InvalidInput("文件里没有巡查点")
    grids = _grids_by_code(session, {code for row in rows if (code := _grid_code(row.grid_code))})
    problems: list[str] = []
    seen: dict[str, str] = {}  # label → the row that first gave it
    placed: list[tuple[str, _Fields, Grid]] = []
    for row in rows:
        row_problems = [row.broken] if row.broken else []
        fields = None if row.broken else _check_fields(row, row_problems)
        code = None if row.broken else _grid_code(row.grid_code)
        grid = _check_grid(grids, code, row_problems) if code else None
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
            checkpoint = Checkpoint(code=fields.label or checkpoint_code(serial))
            session.add(checkpoint)
            result.added += 1
        elif _same_place(checkpoint, fields, grid):
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
            result.warnings.append(f"{where}（{checkpoint.code}）：{warning}")
    return result


def rotate(session: Session, label: str) -> Checkpoint:
    """Give checkpoint `label` a new sign code (key_version + 1); signs printed before now read as replaced."""
    checkpoint = session.scalar(select(Checkpoint).where(Checkpoint.code == (label or "").strip()))
    if checkpoint is None:
        raise NotFound(f"巡查点 {label} 不存在")
    # Raised in SQL, so two rotations at the same time both count.
    checkpoint.key_version = Checkpoint.key_version + 1
    session.flush()
    session.refresh(checkpoint)
    return checkpoint


def list_checkpoints(session: Session, grid_code: str | None = None) -> list[Checkpoint]:
    """Every checkpoint by label, or those in `grid_code`'s subtree; each with its grid, in one query."""
    query = select(Checkpoint).join(Checkpoint.grid).options(contains_eager(Checkpoint.grid)).order_by(Checkpoint.code)
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
    kind, coordinates = geometry.get("type"), geometry.get("coordinates")
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
# Checking one row


@dataclass(frozen=True)
class _RawRow:
    """One checkpoint as read, before any checking; `where` names it for people ("第 3 行").

    `broken` says why a row could not even be read into fields (a wrong column count, no Point).
    """

    where: str
    name: Any = None
    grid_code: Any = None
    lat: Any = None
    lng: Any = None
    coord_system: Any = None
    label: Any = None
    broken: str | None = None


@dataclass(frozen=True)
class _Fields:
    name: str
    grid_code: str
    lat: float
    lng: float
    coord_system: CoordSystem
    label: str | None


def _check_fields(row: _RawRow, problems: list[str]) -> _Fields | None:
    """The row's fields cleaned, or None with each problem appended to `problems`."""
    before = len(problems)
    name = _text(row.name, "名称", problems)
    if name is not None and not name:
        problems.append("名称不能为空")
    elif name and len(name) > MAX_NAME:
        problems.append(f"名称不能超过 {MAX_NAME} 个字")
    grid_code = _text(row.grid_code, "网格代码", problems)
    if grid_code is not None and not grid_code:
        problems.append("网格代码不能为空")
    lat = _coordinate(row.lat, "纬度", 90, problems)
    lng = _coordinate(row.lng, "经度", 180, problems)
    swapped = _number(row.lat), _number(row.lng)
    if lat is None and swapped[0] is not None and swapped[1] is not None and abs(swapped[1]) <= 90:
        problems.append("纬度和经度可能写反了")
    coord_system = _coord_system(row.coord_system, problems)
    label = _text(row.label, "编号", problems) or None
    if label and len(label) > MAX_LABEL:
        problems.append(f"编号 {label} 超过 {MAX_LABEL} 个字符")
    elif label and re.search(r"\s", label):
        problems.append(f"编号「{label}」不能含空格")
    if len(problems) > before:
        return None
    assert name and grid_code and lat is not None and lng is not None and coord_system is not None
    return _Fields(name, grid_code, lat, lng, coord_system, label)


def _text(value: Any, what: str, problems: list[str]) -> str | None:
    """A stripped text field ("" when blank); numbers are taken as their digits (GeoJSON codes)."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        problems.append(f"{what}应为文字")
        return None
    value = value.strip()
    if _CONTROL.search(value):
        problems.append(f"{what}含有制表符、换行等控制字符")
        return None
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _coordinate(value: Any, what: str, limit: float, problems: list[str]) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        problems.append(f"{what}不能为空")
        return None
    number = _number(value)
    if number is None:
        problems.append(f"{what}「{value}」不是数字")
        return None
    if not -limit <= number <= limit:
        problems.append(f"{what} {number} 超出范围（-{limit} 到 {limit}）")
        return None
    return number


def _coord_system(value: Any, problems: list[str]) -> CoordSystem | None:
    """gcj02 or wgs84, forgiving case, hyphens and underscores (GCJ-02, WGS_84)."""
    if isinstance(value, CoordSystem):
        return value
    text = re.sub(r"[-_\s]", "", value).lower() if isinstance(value, str) else ""
    try:
        return CoordSystem(text)
    except ValueError:
        choices = "、".join(c.value for c in CoordSystem)
        shown = value if value not in (None, "") else "（空）"
        problems.append(f"坐标系「{shown}」未知，应为 {choices}")
        return None


def _grid_code(value: Any) -> str:
    """The grid code of a row as text, "" when missing or unusable (`_check_fields` says why)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else ""


def _check_grid(grids: dict[str, Grid], code: str, problems: list[str]) -> Grid | None:
    grid = grids.get(code)
    if grid is None:
        problems.append(f"网格 {code} 不存在")
        return None
    if grid.level != GridLevel.GRID:
        problems.append(f"网格 {code}「{grid.name}」是{grid.level.label}，巡查点只能设在基础网格上")
        return None
    return grid


def _same_place(checkpoint: Checkpoint, fields: _Fields, grid: Grid) -> bool:
    return (checkpoint.name, checkpoint.grid_id, checkpoint.lat, checkpoint.lng, checkpoint.coord_system) == (
        fields.name,
        grid.id,
        fields.lat,
        fields.lng,
        fields.coord_system,
    )


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
        found.update((c.code, c) for c in session.scalars(select(Checkpoint).where(Checkpoint.code.in_(chunk))))
    return found


def _serial(label: str) -> int:
    """The number of a CPnnnn label, 0 for any other label."""
    match = _AUTO_LABEL.match(label)
    return int(match.group(1)) if match else 0


def _last_serial(session: Session) -> int:
    """The highest CPnnnn number in use (0 if none), so a new label never reuses an old sign's."""
    labels = session.scalars(select(Checkpoint.code).where(Checkpoint.code.startswith(LABEL_PREFIX)))
    return max((_serial(label) for label in labels), default=0)


def _flush(session: Session) -> None:
    """Flush; a label taken meanwhile by someone else becomes InvalidInput (roll the session back)."""
    try:
        session.flush()
    except IntegrityError:
        raise InvalidInput("编号已被占用（可能有人同时在添加巡查点），请重试") from None


# ---------------------------------------------------------------------------------------------
# Reading files


def _read_rows(path: Path) -> Iterator[_RawRow]:
    """The rows of a CSV or GeoJSON file (GeoJSON by its suffix or a leading "{")."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"无法读取文件 {path}：{exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"文件 {path.name} 不是 UTF-8 编码（Excel 请另存为「CSV UTF-8」）") from None
    if path.suffix.lower() in (".geojson", ".json") or text.lstrip().startswith("{"):
        return _geojson_rows(text)
    return _csv_rows(text)


def _csv_rows(text: str) -> Iterator[_RawRow]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise InvalidInput("CSV 文件是空的")
    columns = [column.strip().lower() for column in header]
    missing = [c for c in CSV_REQUIRED if c not in columns]
    unknown = [c for c in columns if c not in CSV_REQUIRED + CSV_OPTIONAL]
    doubled = sorted({c for c in columns if columns.count(c) > 1})
    if missing or unknown or doubled:
        parts = [f"缺少列 {', '.join(missing)}"] if missing else []
        parts += [f"未知列 {', '.join(unknown)}"] if unknown else []
        parts += [f"重复列 {', '.join(doubled)}"] if doubled else []
        expected = ",".join(CSV_REQUIRED) + "[,label]"
        raise InvalidInput(f"CSV 表头不对（{'；'.join(parts)}），应为：{expected}")
    end = reader.line_num
    for cells in reader:
        where, end = f"第 {end + 1} 行", reader.line_num  # where the record starts (it may span lines)
        if not any(cell.strip() for cell in cells):
            continue  # a blank line, or an empty row Excel left behind
        if len(cells) != len(columns):
            yield _RawRow(where, broken=f"有 {len(cells)} 列，表头有 {len(columns)} 列")
            continue
        values = dict(zip(columns, cells, strict=True))
        yield _RawRow(where, *(values.get(c) for c in (*CSV_REQUIRED, "label")))


def _geojson_rows(text: str) -> Iterator[_RawRow]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"GeoJSON 无法解析：第 {exc.lineno} 行第 {exc.colno} 列，{exc.msg}") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise InvalidInput("GeoJSON 应为 FeatureCollection（由 Point 要素组成）")
    crs = data.get("crs")
    if crs is not None:
        properties = crs.get("properties") if isinstance(crs, dict) else None
        name = properties.get("name") if isinstance(properties, dict) else None
        if not isinstance(name, str) or name.lower() not in WGS84_CRS_NAMES:
            raise InvalidInput(f"GeoJSON 的 crs（{name or crs}）不受支持：坐标须为经纬度 [经度, 纬度]")
    features = data.get("features")
    if not isinstance(features, list):
        raise InvalidInput("GeoJSON 缺少 features 列表")
    for number, feature in enumerate(features, start=1):
        where = f"第 {number} 个要素"
        point = _point(feature)
        if isinstance(point, str):
            yield _RawRow(where, broken=point)
            continue
        properties = feature.get("properties") or {}
        if not isinstance(properties, dict):
            yield _RawRow(where, broken="properties 应为对象")
            continue
        lng, lat = point  # GeoJSON puts longitude first
        coord = properties.get("coord_system")
        coord = CoordSystem.WGS84 if coord in (None, "") else coord  # RFC 7946: WGS-84 unless it says otherwise
        yield _RawRow(where, properties.get("name"), properties.get("grid"), lat, lng, coord, properties.get("label"))


def _point(feature: Any) -> tuple[Any, Any] | str:
    """The (lng, lat) of a Point feature, or what is wrong with it."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return "不是 Feature"
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        return "几何类型应为 Point"
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list) or len(coordinates) < 2:
        return "坐标应为 [经度, 纬度]"
    return coordinates[0], coordinates[1]
