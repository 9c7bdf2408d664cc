"""Suggesting a sub-category from what a resident wrote, against the shipped catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event, select

from core.models import Category
from core.services.catalogue import load_catalogue
from core.services.suggest import MIN_SCORE, score, suggest_categories
from core.settings import Settings


@pytest.fixture
def catalogue(session, settings: Settings):
    load_catalogue(session, settings.catalogue_file)
    session.commit()
    return session


# (what a resident wrote, the code expected first, its name in core/data/catalogue.csv)
SENTENCES = [
    ("小区东门的路灯不亮了，晚上很黑", "0506", "路灯不亮"),
    ("楼下有人飞线给电动车充电，很危险", "1101", "飞线充电"),
    ("消防通道被私家车堵住了", "0407", "占用堵塞消防通道"),
    ("共享单车乱停，把人行道都占了", "0405", "共享单车乱停放"),
    ("垃圾桶满了没人清理，臭气熏天", "0103", "垃圾桶满溢"),
    ("井盖不见了", "0501", "井盖缺失"),
    ("楼上装修噪音太大", "1003", "生活噪音扰民"),
    ("有人在绿化带里种菜", "0413", "毁绿种菜"),
    ("路边摆摊卖水果占道", "0401", "占道经营"),
    ("小广告贴得到处都是", "0201", "非法小广告"),
    ("下水道堵了，路面积水", "0706", "下水道堵塞"),
    ("树枝断了快掉下来了", "0801", "树木倒伏"),
    ("楼道灯不亮了", "0908", "楼道设施损坏"),
    ("电梯坏了，把人关在里面了", "0909", "电梯故障停运"),
    ("楼下烧烤店油烟直接往我家窗户排", "0110", "餐饮油烟直排"),
    ("电动车在小区门口乱停乱放", "0404", "非机动车乱停放"),
    ("楼下汽车乱停，救护车都进不来", "0406", "机动车乱停放"),
    ("盲道上停满了车", "0609", "盲道被占或损坏"),
    ("楼道里堆满了杂物", "0108", "楼道堆物"),
    ("马路上的井盖碎了", "0502", "井盖破损"),
    ("有人从楼上往下扔垃圾", "1103", "高空抛物"),
    ("阳台上的花盆快掉下来了", "1104", "高空坠物隐患"),
    ("有人把电动车推进电梯", "1102", "电动车进楼入户"),
    ("地下车库进水了", "1111", "地下空间进水"),
    ("路边的配电箱门开着，电线都露出来了", "0510", "电力设施损坏"),
    ("楼下ＫＴＶ太吵了", "1004", "商业经营噪音"),
]


@pytest.mark.parametrize(("text", "code", "name"), SENTENCES)
def test_a_resident_sentence_gets_the_expected_category_first(catalogue, text: str, code: str, name: str) -> None:
    suggested = suggest_categories(catalogue, text)
    assert suggested, text
    assert (suggested[0].code, suggested[0].name) == (code, name), [c.name for c in suggested]
    majors = set(catalogue.scalars(select(Category.code).where(Category.parent_id.is_(None))))
    assert not {category.code for category in suggested} & majors  # never a major


@pytest.mark.parametrize(
    "text",
    [
        "你好",
        "谢谢",
        "在吗",
        "好的，收到",
        "谢谢你们，辛苦了",
        "今天天气不错",
        "哈哈哈哈",
        "asdf 1234",
        "？？？",
        "",
        "   ",
    ],
)
def test_greetings_and_nonsense_suggest_nothing(catalogue, text: str) -> None:
    assert suggest_categories(catalogue, text) == []


def test_limit_is_respected(catalogue) -> None:
    text = "路灯不亮，井盖不见了，垃圾桶满了，共享单车乱停，消防通道被堵"
    assert len(suggest_categories(catalogue, text)) == 3
    assert len(suggest_categories(catalogue, text, limit=5)) == 5
    assert [c.code for c in suggest_categories(catalogue, text, limit=1)] == [
        suggest_categories(catalogue, text)[0].code
    ]
    assert suggest_categories(catalogue, text, limit=0) == []


def test_ranking_is_by_score_then_catalogue_order_and_stable(catalogue) -> None:
    text = "消防通道被私家车堵住了，共享单车也乱停"
    first = suggest_categories(catalogue, text, limit=10)
    assert [c.code for c in suggest_categories(catalogue, text, limit=10)] == [c.code for c in first]
    scores = [score(text, c.name, c.keywords) for c in first]
    assert all(points >= MIN_SCORE for points in scores)
    ordered = sorted(zip(scores, first, strict=True), key=lambda pair: (-pair[0], pair[1].sort_order))
    assert [c.code for _, c in ordered] == [c.code for c in first]
    # "乱停" alone fits three kinds of parking equally; they come in catalogue order.
    assert [c.code for c in suggest_categories(catalogue, "乱停")] == ["0404", "0405", "0406"]


def test_one_query_per_call(catalogue, database) -> None:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        suggested = suggest_categories(catalogue, "小区东门的路灯不亮了，晚上很黑" * 12)
        # Reading what a caller shows costs no further queries.
        shown = [(c.code, c.name, c.keywords, c.sort_order) for c in suggested]
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
    assert len(statements) == 1
    assert shown[0][:2] == ("0506", "路灯不亮")


def test_keywords_from_an_edited_catalogue_are_used(session, tmp_path: Path) -> None:
    path = tmp_path / "catalogue.csv"
    path.write_text(
        "code,parent_code,name,kind,default_tier,time_limit_hours,closing_standard,keywords\n"
        "01,,公用设施,,,,,\n"
        "0101,01,路灯不亮,部件,community,24,恢复照明,路灯 灯不亮\n"
        "0102,01,灯杆歪斜,部件,community,24,扶正,路灯 歪了\n",
        encoding="utf-8",
    )
    load_catalogue(session, path)
    assert [c.code for c in suggest_categories(session, "门口的路灯歪了")] == ["0102", "0101"]
    assert [c.code for c in suggest_categories(session, "路灯")] == ["0101", "0102"]  # a tie: file order
