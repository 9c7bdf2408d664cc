"""The console's SVG charts: well-formed XML, one bar per item at the right length, all text escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from markupsafe import Markup

from web.staff.console import charts

NS = "{http://www.w3.org/2000/svg}"


def parse(svg: Markup) -> ET.Element:
    assert isinstance(svg, Markup)  # safe to put in a template as is
    return ET.fromstring(str(svg))


def bars(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{NS}g") if g.get("class") == "bar"]


def test_a_bar_per_item_in_order_with_lengths_in_proportion():
    root = parse(charts.bar_chart([("甲街道", 1.0), ("乙街道", 0.5), ("丙街道", None)], title="按期处置率"))
    assert root.tag == f"{NS}svg" and root.get("aria-label") == "按期处置率"
    assert root.find(f"{NS}title").text == "按期处置率"
    found = bars(root)
    assert [b.find(f"{NS}text").text for b in found] == ["甲街道", "乙街道", "丙街道"]
    widths = [float(b.find(f"{NS}rect").get("width")) for b in found]
    assert widths[0] > 0 and widths[1] == widths[0] / 2 and widths[2] == 0
    assert [b.findall(f"{NS}text")[1].text for b in found] == ["100.0%", "50.0%", "无数据"]
    assert [b.find(f"{NS}title").text for b in found] == ["甲街道：100.0%", "乙街道：50.0%", "丙街道：无数据"]
    # Every bar fits the drawing, and the rows do not overlap.
    view = [float(v) for v in root.get("viewBox").split()]
    for b in found:
        rect = b.find(f"{NS}rect")
        assert float(rect.get("x")) + float(rect.get("width")) <= view[2]
    assert len({b.find(f"{NS}rect").get("y") for b in found}) == 3 and view[3] == 3 * charts.ROW


def test_counts_scale_to_the_largest():
    root = parse(
        charts.bar_chart([("公众号", 8), ("扫码", 2), ("小程序", 0)], title="来源", scale=None, value_text=charts.count)
    )
    widths = [float(b.find(f"{NS}rect").get("width")) for b in bars(root)]
    assert abs(widths[0] - 4 * widths[1]) < 0.5 and widths[2] == 0  # coordinates keep one decimal
    assert [b.findall(f"{NS}text")[1].text for b in bars(root)] == ["8", "2", "0"]
    empty = parse(charts.bar_chart([("公众号", 0)], title="来源", scale=None, value_text=charts.count))
    assert float(bars(empty)[0].find(f"{NS}rect").get("width")) == 0  # all zero: no division by zero


def test_no_text_gets_out_of_its_element():
    nasty = '<script>alert("x")</script> & 「街道」'
    for svg in (
        charts.bar_chart([(nasty, 0.3)], title=nasty),
        charts.share_bar([(nasty, 0.6), ("其他", 0.4)], title=nasty),
    ):
        text = str(svg)
        assert "<script>" not in text and "&lt;script&gt;" in text
        root = parse(svg)
        assert root.get("aria-label") == nasty and root.find(f"{NS}title").text == nasty
        assert not [e for e in root.iter() if e.tag.endswith("script")]
        assert any(nasty in (t.text or "") for t in root.iter(f"{NS}title"))


def test_long_names_are_cut_but_kept_whole_in_the_tooltip():
    name = "某某区某某街道某某社区第一百二十三号基础网格（东片）"
    bar = bars(parse(charts.bar_chart([(name, 0.5)], title="t")))[0]
    label = bar.find(f"{NS}text").text
    assert label.endswith("…") and len(label) < len(name) and name.startswith(label[:-1])
    assert charts.text_width(label) <= charts.MAX_LABEL
    assert bar.find(f"{NS}title").text == f"{name}：50.0%"


def test_the_share_bar_splits_one_bar_by_share():
    root = parse(charts.share_bar([("微循环", 0.8), ("小循环", 0.16), ("大循环", 0.04)], title="层级"))
    segments = [g for g in root.iter(f"{NS}g") if g.get("class") == "segment"]
    widths = [float(s.find(f"{NS}rect").get("width")) for s in segments]
    assert [round(w / sum(widths), 2) for w in widths] == [0.8, 0.16, 0.04]
    assert abs(sum(widths) - charts.WIDTH) < 0.5
    starts = [float(s.find(f"{NS}rect").get("x")) for s in segments]
    assert starts == sorted(starts) and starts[0] == 0
    legend = [g.find(f"{NS}text").text for g in root.iter(f"{NS}g") if g.get("class") == "legend"]
    assert legend == ["微循环　80.0%", "小循环　16.0%", "大循环　4.0%"]


def test_a_share_bar_without_shares_says_so():
    root = parse(charts.share_bar([("微循环", None), ("小循环", None)], title="层级"))
    assert not [g for g in root.iter(f"{NS}g") if g.get("class") == "segment"]
    assert "无数据" in [t.text for t in root.iter(f"{NS}text")]
    legend = [g.find(f"{NS}text").text for g in root.iter(f"{NS}g") if g.get("class") == "legend"]
    assert legend == ["微循环　无数据", "小循环　无数据"]
