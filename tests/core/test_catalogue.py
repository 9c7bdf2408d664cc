"""The service catalogue: the shipped file, its loader and the tree the apps show."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.errors import InvalidInput
from core.glossary import Tier
from core.models import Category
from core.services.catalogue import category_tree, load_catalogue, read_catalogue
from core.settings import PROJECT_ROOT

SHIPPED = PROJECT_ROOT / "core" / "data" / "catalogue.csv"
HEADER = "code,parent_code,name,kind,default_tier,time_limit_hours,closing_standard"


def write(tmp_path: Path, *lines: str, name: str = "catalogue.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join((HEADER, *lines)) + "\n", encoding="utf-8")
    return path


def count(session) -> int:
    return session.scalar(select(func.count()).select_from(Category))


def test_shipped_file_has_eleven_majors_and_over_a_hundred_subs() -> None:
    rows = read_catalogue(SHIPPED)
    majors = [row for row in rows if row.is_major]
    subs = [row for row in rows if not row.is_major]
    assert len(majors) == 11
    assert len(subs) >= 100
    assert {row.parent_code for row in subs} == {row.code for row in majors}
    for row in subs:
        assert isinstance(row.default_tier, Tier), row.code
        assert row.time_limit_hours is not None and row.time_limit_hours > 0, row.code
        assert row.closing_standard and row.closing_standard.strip(), row.code
        assert row.kind in ("部件", "事件"), row.code
        assert row.keywords and 2 <= len(row.keywords.split()) <= 6, row.code
    assert all(row.keywords is None for row in majors)
    by_name = {row.name: row for row in rows}
    assert by_name["暴露垃圾"].time_limit_hours == 2
    assert by_name["暴露垃圾"].closing_standard == "垃圾清理干净，地面无残留"
    assert by_name["路灯不亮"].default_tier is Tier.COMMUNITY
    # Most problems are meant to be solved in the grid; a few go to the district.
    tiers = Counter(row.default_tier for row in subs)
    assert tiers[Tier.COMMUNITY] > tiers[Tier.STREET] > tiers[Tier.DISTRICT] > 0


def test_loading_twice_adds_nothing_the_second_time(session) -> None:
    rows = read_catalogue(SHIPPED)
    assert load_catalogue(session, SHIPPED) == (len(rows), 0)
    session.commit()
    ids = set(session.scalars(select(Category.id)))
    assert len(ids) == len(rows)

    assert load_catalogue(session, SHIPPED) == (0, 0)
    session.commit()
    assert set(session.scalars(select(Category.id))) == ids

    lamp = session.scalar(select(Category).where(Category.name == "路灯不亮"))
    assert lamp.parent.name == "公用设施"
    assert lamp.default_tier is Tier.COMMUNITY
    assert lamp.time_limit_hours == 24
    assert lamp.kind == "部件"
    assert {"路灯", "灯不亮"} <= set(lamp.keywords.split())
    assert lamp.sort_order == next(i for i, row in enumerate(rows) if row.name == "路灯不亮")


def test_an_edited_file_updates_in_place_and_keeps_missing_categories(session, tmp_path: Path) -> None:
    load_catalogue(
        session,
        write(
            tmp_path,
            "01,,市容环境,,,,",
            "0101,01,暴露垃圾,事件,community,2,清理干净",
            "0102,01,积存垃圾,事件,community,24,清运完毕",
        ),
    )
    session.commit()
    before = session.scalar(select(Category).where(Category.code == "0101"))
    before_id = before.id

    edited = write(
        tmp_path,
        "01,,市容环境,,,,",
        "0101,01,暴露垃圾（含散落垃圾）,事件,street,4,清理干净",
        name="edited.csv",
    )
    assert load_catalogue(session, edited) == (0, 1)
    session.commit()
    session.expire_all()

    after = session.scalar(select(Category).where(Category.code == "0101"))
    assert after.id == before_id
    assert after.name == "暴露垃圾（含散落垃圾）"
    assert after.default_tier is Tier.STREET
    assert after.time_limit_hours == 4
    # 0102 is not in the edited file; cases may still point at it, so it stays.
    assert session.scalar(select(Category.name).where(Category.code == "0102")) == "积存垃圾"
    assert count(session) == 3


@pytest.mark.parametrize(
    ("lines", "line", "words"),
    [
        (
            [
                "01,,市容环境,,,,",
                "0101,01,暴露垃圾,事件,community,2,清理干净",
                "0101,01,积存垃圾,事件,community,24,清运",
            ],
            4,
            "重复",
        ),
        (["01,,市容环境,,,,", "0101,09,暴露垃圾,事件,community,2,清理干净"], 3, "上级编码 09 不存在"),
        (["01,,市容环境,,,,", "0101,01,暴露垃圾,事件,village,2,清理干净"], 3, "village"),
        (["01,,市容环境,,,,", "0101,01,暴露垃圾,事件,community,0,清理干净"], 3, "正整数"),
        (["01,,市容环境,,,,", "0101,01,,事件,community,2,清理干净"], 3, "缺少名称"),
        (["01,,市容环境,,,,", "0101,01,暴露垃圾,事件,community,2,"], 3, "结案标准"),
        (["01,,市容环境,,,,", "0101,01,暴露垃圾,事件,,2,清理干净"], 3, "处置层级"),
        (
            [
                "01,,市容环境,,,,",
                "0101,01,暴露垃圾,事件,community,2,清理干净",
                "010101,0101,散落垃圾,事件,community,2,清理",
            ],
            4,
            "两级",
        ),
        (["01,,市容环境,,,,", "0101,01,暴露垃圾,事件,community"], 3, "列"),
        (["01,,市容环境,,community,,", "0101,01,暴露垃圾,事件,community,2,清理干净"], 2, "大类 01"),
        (["01,,市容环境,,,,", "0101,01,暴露垃圾,事件,community,两天,清理干净"], 3, "不是整数"),
    ],
)
def test_a_malformed_file_names_the_line_and_stores_nothing(
    session, tmp_path: Path, lines: list[str], line: int, words: str
) -> None:
    path = write(tmp_path, *lines)
    with pytest.raises(InvalidInput) as caught:
        load_catalogue(session, path)
    assert f"第 {line} 行" in caught.value.message
    assert words in caught.value.message
    assert count(session) == 0


def test_keywords_are_an_optional_last_column(session, tmp_path: Path) -> None:
    old = write(tmp_path, "01,,市容环境,,,,", "0101,01,暴露垃圾,事件,community,2,清理干净", name="old.csv")
    assert [row.keywords for row in read_catalogue(old)] == [None, None]

    with_keywords = tmp_path / "keywords.csv"
    with_keywords.write_text(
        f"{HEADER},keywords\n01,,市容环境,,,,,\n0101,01,暴露垃圾,事件,community,2,清理干净, 垃圾  乱扔、垃圾 \n",
        encoding="utf-8",
    )
    assert load_catalogue(session, with_keywords) == (2, 0)
    session.commit()
    rubbish = session.scalar(select(Category).where(Category.code == "0101"))
    assert rubbish.keywords == "垃圾 乱扔"  # spaces tidied, repeats dropped
    assert session.scalar(select(Category.keywords).where(Category.code == "01")) is None

    # An older file without the column still loads and leaves the stored keywords alone.
    assert load_catalogue(session, old) == (0, 0)
    assert rubbish.keywords == "垃圾 乱扔"

    with_keywords.write_text(
        f"{HEADER},keywords\n01,,市容环境,,,,,\n0101,01,暴露垃圾,事件,community,2,清理干净,垃圾 随手扔\n",
        encoding="utf-8",
    )
    assert load_catalogue(session, with_keywords) == (0, 1)
    assert rubbish.keywords == "垃圾 随手扔"

    with_keywords.write_text(f"{HEADER},keywords\n01,,市容环境,,,,,垃圾\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="第 2 行：大类 01 不应填写关键词"):
        read_catalogue(with_keywords)


def test_line_numbers_count_blank_lines_and_a_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    text = HEADER + "\n01,,市容环境,,,,\n\n0101,01,暴露垃圾,事件,district,-1,清理干净\n"
    path.write_text(text, encoding="utf-8-sig")
    with pytest.raises(InvalidInput, match="第 4 行"):
        read_catalogue(path)


def test_a_wrong_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("编码,名称\n01,市容环境\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="第 1 行：表头"):
        read_catalogue(path)


def test_category_tree_lists_majors_and_children_in_file_order(session) -> None:
    load_catalogue(session, SHIPPED)
    tree = category_tree(session)
    rows = read_catalogue(SHIPPED)

    assert [major["code"] for major in tree] == [row.code for row in rows if row.is_major]
    assert set(tree[0]) == {"code", "name", "children"}
    assert tree[0]["name"] == "市容环境"
    assert sum(len(major["children"]) for major in tree) == len(rows) - 11
    assert tree[0]["children"][0] == {
        "code": "0101",
        "name": "暴露垃圾",
        "kind": "事件",
        "default_tier": "community",
        "time_limit_hours": 2,
        "closing_standard": "垃圾清理干净，地面无残留",
    }
    public = next(major for major in tree if major["name"] == "公用设施")
    assert [child["code"] for child in public["children"]] == sorted(child["code"] for child in public["children"])
    assert "路灯不亮" in [child["name"] for child in public["children"]]
