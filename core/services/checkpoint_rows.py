"""Checkpoint files: reading CSV and GeoJSON rows, and checking each row before anything is stored."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import InvalidInput
from core.glossary import CoordSystem, GridLevel
from core.models import Checkpoint, Grid

MAX_LABEL = 32  # Checkpoint.label
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
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# ---------------------------------------------------------------------------------------------
# Checking one row


@dataclass(frozen=True)
class RawRow:
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
class CheckedRow:
    name: str
    grid_code: str
    lat: float
    lng: float
    coord_system: CoordSystem
    label: str | None


def check_fields(row: RawRow, problems: list[str]) -> CheckedRow | None:
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
    return CheckedRow(name, grid_code, lat, lng, coord_system, label)


def _text(value: Any, what: str, problems: list[str]) -> str | None:
    """A stripped text field ("" when blank); numbers are taken as their digits (GeoJSON codes)."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        problems.append(f"{what}应为文字")
        return None
    text: str = value.strip()
    if _CONTROL.search(text):
        problems.append(f"{what}含有制表符、换行等控制字符")
        return None
    return text


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


def normalized_grid_code(value: Any) -> str:
    """The grid code of a row as text, "" when missing or unusable (`check_fields` says why)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else ""


def check_grid(grids: dict[str, Grid], code: str, problems: list[str]) -> Grid | None:
    grid = grids.get(code)
    if grid is None:
        problems.append(f"网格 {code} 不存在")
        return None
    if grid.level != GridLevel.GRID:
        problems.append(f"网格 {code}「{grid.name}」是{grid.level.label}，巡查点只能设在基础网格上")
        return None
    return grid


def same_place(checkpoint: Checkpoint, fields: CheckedRow, grid: Grid) -> bool:
    return (checkpoint.name, checkpoint.grid_id, checkpoint.lat, checkpoint.lng, checkpoint.coord_system) == (
        fields.name,
        grid.id,
        fields.lat,
        fields.lng,
        fields.coord_system,
    )


# ---------------------------------------------------------------------------------------------
# Reading files


def read_rows(path: Path) -> Iterator[RawRow]:
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


def _csv_rows(text: str) -> Iterator[RawRow]:
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
            yield RawRow(where, broken=f"有 {len(cells)} 列，表头有 {len(columns)} 列")
            continue
        values = dict(zip(columns, cells, strict=True))
        yield RawRow(where, *(values.get(c) for c in (*CSV_REQUIRED, "label")))


def _geojson_rows(text: str) -> Iterator[RawRow]:
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
            yield RawRow(where, broken=point)
            continue
        properties = feature.get("properties") or {}
        if not isinstance(properties, dict):
            yield RawRow(where, broken="properties 应为对象")
            continue
        lng, lat = point  # GeoJSON puts longitude first
        coord = properties.get("coord_system")
        coord = CoordSystem.WGS84 if coord in (None, "") else coord  # RFC 7946: WGS-84 unless it says otherwise
        yield RawRow(where, properties.get("name"), properties.get("grid"), lat, lng, coord, properties.get("label"))


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
