"""Managing checkpoints: adding, importing from CSV and GeoJSON, listing by grid, rotating sign codes."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event, func, select

from core.codes import Verdict
from core.errors import InvalidInput, NotFound
from core.glossary import CoordSystem, GridLevel
from core.models import Checkpoint, Grid
from core.services.checkpoint_admin import (
    ImportRejected,
    add_checkpoint,
    import_checkpoints,
    list_checkpoints,
    placement_warning,
    point_in_geometry,
    rotate,
    serial_label,
)
from core.services.checkpoints import public_code, resolve_code
from tests.support.factories import G1_BOX, grid_tree


@pytest.fixture
def grids(session):
    made = grid_tree(session)
    made["G1"].boundary = G1_BOX
    made["G1"].coord_system = CoordSystem.GCJ02
    session.commit()
    return made


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(Checkpoint))


def _add(session, **kw):
    values = {"name": "3栋楼下", "grid_code": "G1", "lat": 31.805, "lng": 117.305, "coord_system": "gcj02"} | kw
    return add_checkpoint(session, **values)


def _write(tmp_path, name: str, text: str, *, bom: bool = False):
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def _geojson(tmp_path, features: list[dict], **top) -> str:
    path = tmp_path / "points.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features, **top}, ensure_ascii=False))
    return path


def _feature(lng, lat, **properties) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lng, lat]}, "properties": properties}


# --- add -----------------------------------------------------------------------------------------


def test_labels_default_to_the_next_free_cp_number(session, grids):
    first = _add(session)
    second = _add(session, name="东门")
    assert (first.label, second.label) == ("CP0001", "CP0002")
    named = _add(session, label="FX-东门-01")
    assert named.label == "FX-东门-01"  # a label that is not CPnnnn does not move the counter
    _add(session, label="CP0041")
    assert _add(session).label == "CP0042"  # never below a label in use, so no old sign's label comes back
    assert serial_label(7) == "CP0007" and serial_label(12345) == "CP12345"


def test_add_stores_the_point_and_its_coordinate_system(session, grids):
    checkpoint = _add(session, coord_system="wgs84", lat=31.8051, lng=117.3052)
    session.commit()
    session.expire_all()
    stored = session.get(Checkpoint, checkpoint.id)
    assert (stored.lat, stored.lng, stored.coord_system) == (31.8051, 117.3052, CoordSystem.WGS84)
    assert stored.grid.code == "G1" and stored.key_version == 1
    assert _add(session, coord_system="GCJ-02").coord_system == CoordSystem.GCJ02


def test_a_taken_label_is_refused(session, grids):
    _add(session, label="CP0001")
    with pytest.raises(InvalidInput, match="编号 CP0001 已被占用"):
        _add(session, label="CP0001")
    assert _count(session) == 1


@pytest.mark.parametrize(
    ("grid_code", "message"),
    [("NOPE", "网格 NOPE 不存在"), ("C", "网格 C「网格C」是居村，巡查点只能设在基础网格上"), ("D", "是区")],
)
def test_the_grid_must_exist_and_be_a_base_grid(session, grids, grid_code, message):
    with pytest.raises(InvalidInput, match=message):
        _add(session, grid_code=grid_code)
    assert _count(session) == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lat": 117.305, "lng": 31.805}, "纬度 117.305 超出范围.*写反"),
        ({"lng": 190.0}, "经度 190.0 超出范围"),
        ({"lat": float("nan")}, "纬度「nan」不是数字"),
        ({"coord_system": "bd09"}, "坐标系「bd09」未知"),
        ({"name": "  "}, "名称不能为空"),
        ({"label": "CP 1"}, "不能含空格"),
        ({"label": "X" * 33}, "超过 32 个字符"),
    ],
)
def test_bad_fields_are_refused_in_chinese(session, grids, changes, message):
    with pytest.raises(InvalidInput, match=message):
        _add(session, **changes)
    assert _count(session) == 0


def test_every_problem_is_named_at_once(session, grids):
    with pytest.raises(InvalidInput) as caught:
        _add(session, grid_code="NOPE", lng=200.0)
    assert "网格 NOPE 不存在" in caught.value.message and "经度 200.0" in caught.value.message


def test_a_point_outside_the_grid_is_stored_with_a_warning(session, grids):
    inside = _add(session)
    assert placement_warning(inside) is None
    outside = _add(session, lat=31.85, lng=117.305)
    warning = placement_warning(outside)
    assert warning and "不在网格 G1「网格G1」的边界内" in warning
    assert session.get(Checkpoint, outside.id) is not None  # warned, not refused


def test_the_warning_spots_swapped_coordinates(session, grids):
    # In the far west both numbers pass as a latitude: Ürümqi is about 43.8°N, 87.6°E.
    w, s, e, n = 87.60, 43.80, 87.61, 43.81
    grids["G2"].boundary = {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
    assert placement_warning(_add(session, grid_code="G2", lat=43.805, lng=87.605)) is None
    swapped = placement_warning(_add(session, grid_code="G2", lat=87.605, lng=43.805))
    assert swapped and "纬度和经度可能写反了" in swapped
    elsewhere = placement_warning(_add(session, grid_code="G2", lat=43.905, lng=87.605))
    assert elsewhere and "写反" not in elsewhere


def test_no_warning_across_coordinate_systems_or_without_a_boundary(session, grids):
    far = _add(session, lat=31.85, lng=117.305, coord_system="wgs84")
    assert placement_warning(far) is None  # G1's boundary is GCJ-02: not comparable, so not checked
    assert placement_warning(_add(session, grid_code="G2", lat=1.0, lng=1.0)) is None  # G2 has none


def test_point_in_polygon_respects_holes_and_multipolygons():
    outer = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]
    hole = [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]]
    polygon = {"type": "Polygon", "coordinates": [outer, hole]}
    assert point_in_geometry(2, 2, polygon) is True
    assert point_in_geometry(5, 5, polygon) is False
    assert point_in_geometry(11, 5, polygon) is False
    multi = {"type": "MultiPolygon", "coordinates": [[outer], [[[20, 0], [30, 0], [30, 10], [20, 0]]]]}
    assert point_in_geometry(28, 2, multi) is True and point_in_geometry(15, 2, multi) is False
    assert point_in_geometry(1, 1, {"type": "Point", "coordinates": [1, 1]}) is None


# --- import --------------------------------------------------------------------------------------

CSV = """name,grid,lat,lng,coord_system,label
小区东门,G1,31.805,117.305,gcj02,FX-01
"3栋楼下, 北侧",G2,31.70,117.20,wgs84,
垃圾分类亭,G1,31.801,117.309,GCJ02,
"""


@pytest.mark.parametrize("bom", [False, True])
def test_csv_import_with_or_without_bom(session, grids, tmp_path, bom):
    result = import_checkpoints(session, _write(tmp_path, "points.csv", CSV, bom=bom))
    session.commit()
    assert (result.added, result.updated, result.unchanged) == (3, 0, 0)
    stored = {c.label: c for c in session.scalars(select(Checkpoint))}
    assert set(stored) == {"FX-01", "CP0001", "CP0002"}
    east = stored["FX-01"]
    assert (east.name, east.grid.code, east.lat, east.lng, east.coord_system) == (
        "小区东门",
        "G1",
        31.805,
        117.305,
        CoordSystem.GCJ02,
    )
    assert stored["CP0001"].name == "3栋楼下, 北侧" and stored["CP0001"].coord_system == CoordSystem.WGS84
    assert stored["CP0002"].coord_system == CoordSystem.GCJ02
    assert result.warnings == []


def test_csv_without_a_label_column_and_with_crlf(session, grids, tmp_path):
    text = "Name,Grid,Lat,Lng,Coord_System\r\n东门,G1,31.805,117.305,gcj02\r\n\r\n西门,G1,31.806,117.301,gcj02\r\n"
    result = import_checkpoints(session, _write(tmp_path, "p.csv", text))
    assert result.added == 2 and [c.label for c in result.checkpoints] == ["CP0001", "CP0002"]


def test_geojson_coordinates_are_lng_lat_and_default_to_wgs84(session, grids, tmp_path):
    path = _geojson(
        tmp_path,
        [
            _feature(117.305, 31.805, name="东门", grid="G1", label="FX-01", coord_system="gcj02"),
            _feature(117.2, 31.7, name="西门", grid="G2"),
        ],
    )
    result = import_checkpoints(session, path)
    session.commit()
    assert result.added == 2
    east = session.scalar(select(Checkpoint).where(Checkpoint.label == "FX-01"))
    assert (east.lat, east.lng, east.coord_system) == (31.805, 117.305, CoordSystem.GCJ02)
    west = session.scalar(select(Checkpoint).where(Checkpoint.name == "西门"))
    assert (west.lat, west.lng, west.coord_system) == (31.7, 117.2, CoordSystem.WGS84)
    assert west.label == "CP0001"
    assert placement_warning(east) is None


def test_geojson_with_a_foreign_crs_is_refused(session, grids, tmp_path):
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}}
    path = _geojson(tmp_path, [_feature(13058000, 3735000, name="东门", grid="G1")], crs=crs)
    with pytest.raises(InvalidInput, match="crs"):
        import_checkpoints(session, path)
    crs84 = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    assert import_checkpoints(session, _geojson(tmp_path, [_feature(117.3, 31.8, name="东门", grid="G1")], crs=crs84))


def test_reimport_by_label_updates_instead_of_adding(session, grids, tmp_path):
    text = (
        "name,grid,lat,lng,coord_system,label\n东门,G1,31.805,117.305,gcj02,FX-01\n西门,G1,31.806,117.301,gcj02,FX-02\n"
    )
    path = _write(tmp_path, "p.csv", text)
    first = import_checkpoints(session, path)
    session.commit()
    ids = {c.label: c.id for c in first.checkpoints}
    again = import_checkpoints(session, path)
    session.commit()
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    moved = text.replace("西门,G1,31.806,117.301", "西门（新）,G2,31.70,117.20")
    third = import_checkpoints(session, _write(tmp_path, "p.csv", moved))
    session.commit()
    assert (third.added, third.updated, third.unchanged) == (0, 1, 1)
    assert _count(session) == 2
    west = session.get(Checkpoint, ids["FX-02"])
    assert (west.name, west.grid.code, west.lat, west.lng) == ("西门（新）", "G2", 31.70, 117.20)
    assert west.key_version == 1  # moving a checkpoint keeps its printed sign valid


def test_one_bad_row_stores_nothing_and_every_bad_row_is_named(session, grids, tmp_path):
    _add(session, label="FX-01", name="原名")
    session.commit()
    text = (
        "name,grid,lat,lng,coord_system,label\n"
        "东门改名,G1,31.805,117.305,gcj02,FX-01\n"  # line 2: fine, an update
        "西门,NOPE,31.806,117.301,gcj02,\n"  # line 3: no such grid
        "北门,G1,31.806,117.301,gcj02,\n"  # line 4: fine
        "南门,G1,abc,117.301,gcj02,\n"  # line 5: not a number
        "广场,C,31.806,117.301,bd09,\n"  # line 6: not a base grid, unknown system
        "车棚,G1,31.806,117.301,gcj02,FX-01\n"  # line 7: label used twice in the file
        "多一列,G1,31.806,117.301,gcj02,,x\n"  # line 8: one cell too many
    )
    with pytest.raises(ImportRejected) as caught:
        import_checkpoints(session, _write(tmp_path, "bad.csv", text))
    session.rollback()
    problems = caught.value.problems
    assert [p.split("：")[0] for p in problems] == ["第 3 行", "第 5 行", "第 6 行", "第 6 行", "第 7 行", "第 8 行"]
    assert "网格 NOPE 不存在" in problems[0] and "纬度「abc」不是数字" in problems[1]
    assert "坐标系「bd09」未知" in problems[2] and "只能设在基础网格上" in problems[3]
    assert "编号 FX-01 与第 2 行重复" in problems[4] and "有 7 列，表头有 6 列" in problems[5]
    assert "第 3 行" in caught.value.message and "未保存任何巡查点" in caught.value.message
    assert _count(session) == 1
    assert session.scalar(select(Checkpoint.name)) == "原名"


def test_bad_geojson_features_are_named_by_number(session, grids, tmp_path):
    path = _geojson(
        tmp_path,
        [
            _feature(117.305, 31.805, name="东门", grid="G1"),
            {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}},
            _feature(31.805, 117.305, name="西门", grid="G1"),  # [lat, lng]: the wrong way round
            _feature(117.305, 31.805, grid="G1"),
        ],
    )
    with pytest.raises(ImportRejected) as caught:
        import_checkpoints(session, path)
    session.rollback()
    wheres = [p.split("：")[0] for p in caught.value.problems]
    assert wheres == ["第 2 个要素", "第 3 个要素", "第 3 个要素", "第 4 个要素"]
    assert "写反" in caught.value.problems[2] and "名称不能为空" in caught.value.problems[3]
    assert _count(session) == 0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.csv", "name,grid,lat\n东门,G1,31.8\n", "缺少列 lng, coord_system"),
        ("a.csv", "name,grid,lat,lng,coord_system,lable\n", "未知列 lable"),
        ("a.csv", "name,grid,lat,lng,coord_system\n", "没有巡查点"),
        ("a.csv", "", "空的"),
        ("a.geojson", '{"type": "Feature"}', "FeatureCollection"),
        ("a.geojson", '{"type": "FeatureCollection", ', "无法解析"),
    ],
)
def test_unreadable_files_get_a_clear_answer(session, grids, tmp_path, name, content, message):
    with pytest.raises(InvalidInput, match=message):
        import_checkpoints(session, _write(tmp_path, name, content))


def test_a_gbk_file_is_refused_with_a_hint(session, grids, tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("name,grid,lat,lng,coord_system\n东门,G1,31.8,117.3,gcj02\n".encode("gbk"))
    with pytest.raises(InvalidInput, match="不是 UTF-8 编码"):
        import_checkpoints(session, path)


def test_import_warns_about_points_outside_their_grid(session, grids, tmp_path):
    text = "name,grid,lat,lng,coord_system\n东门,G1,31.805,117.305,gcj02\n远处,G1,31.9,117.305,gcj02\n"
    result = import_checkpoints(session, _write(tmp_path, "p.csv", text))
    assert result.added == 2
    assert len(result.warnings) == 1 and result.warnings[0].startswith("第 3 行（CP0002）")


def test_auto_labels_skip_the_cp_labels_a_file_gives(session, grids, tmp_path):
    text = "name,grid,lat,lng,coord_system,label\n甲,G1,31.805,117.305,gcj02,\n乙,G1,31.805,117.305,gcj02,CP0001\n"
    result = import_checkpoints(session, _write(tmp_path, "p.csv", text))
    assert [c.label for c in result.checkpoints] == ["CP0002", "CP0001"]


# --- list ----------------------------------------------------------------------------------------


def test_list_is_ordered_by_label_and_filtered_to_a_subtree(session, grids):
    for label, grid in [("CP0003", "G2"), ("CP0001", "G1"), ("CP0002", "X")]:
        _add(session, label=label, grid_code=grid)
    session.commit()
    assert [c.label for c in list_checkpoints(session)] == ["CP0001", "CP0002", "CP0003"]
    assert [c.label for c in list_checkpoints(session, "C")] == ["CP0001", "CP0003"]
    assert [c.label for c in list_checkpoints(session, "G2")] == ["CP0003"]
    assert [c.label for c in list_checkpoints(session, "S2")] == ["CP0002"]
    assert len(list_checkpoints(session, "D")) == 3
    with pytest.raises(NotFound, match="网格 NOPE 不存在"):
        list_checkpoints(session, "NOPE")


def test_a_grid_code_prefix_is_not_a_subtree(session, grids):
    # G1 and G10 share a code prefix but not a path prefix (/D/S/C/G1/ vs /D/S/C/G10/).
    session.add(Grid(code="G10", name="网格G10", level=GridLevel.GRID, parent=grids["C"], path="/D/S/C/G10/"))
    session.flush()
    _add(session, label="A", grid_code="G1")
    _add(session, label="B", grid_code="G10")
    assert [c.label for c in list_checkpoints(session, "G1")] == ["A"]


def test_list_loads_the_grids_in_the_same_query(session, grids, database):
    for n, grid in enumerate(["G1", "G2", "X", "G1"]):
        _add(session, label=f"CP{n:04d}", grid_code=grid)
    session.commit()
    fresh = database.session()
    statements: list[str] = []
    engine = fresh.get_bind()

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        checkpoints = list_checkpoints(fresh)
        names = [c.grid.name for c in checkpoints]
    finally:
        event.remove(engine, "before_cursor_execute", count)
        fresh.close()
    assert names == ["网格G1", "网格G2", "网格X", "网格G1"]
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


# --- rotate --------------------------------------------------------------------------------------


def test_rotation_replaces_the_old_code(session, grids, settings):
    checkpoint = _add(session, label="CP0001")
    session.commit()
    old = public_code(settings, checkpoint)
    assert resolve_code(session, settings, old).verdict is Verdict.VALID
    rotated = rotate(session, "CP0001")
    session.commit()
    assert rotated.key_version == 2
    new = public_code(settings, rotated)
    assert new != old
    assert resolve_code(session, settings, old).verdict is Verdict.REPLACED
    assert resolve_code(session, settings, new).verdict is Verdict.VALID
    assert rotate(session, "CP0001").key_version == 3


def test_rotating_an_unknown_label(session, grids):
    with pytest.raises(NotFound, match="巡查点 NOPE 不存在"):
        rotate(session, "NOPE")
