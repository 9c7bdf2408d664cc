"""Small charts drawn on the server as inline SVG: no JavaScript, nothing fetched from elsewhere.

Every piece of text is escaped with markupsafe, so names typed in by people cannot break the markup.
Each chart scales to the width of its container (a viewBox and width 100%), which suits a phone.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

WIDTH = 400  # drawing units; at a phone's width that keeps FONT about 12 px
ROW = 26  # height of one bar's row
BAR = 16  # thickness of a bar
FONT = 13
VALUE_SPACE = 56  # room right of the longest bar for its value
MAX_LABEL = 120  # labels wider than this are cut with "…" (the full name is in the tooltip)
PALETTE = ("#0f7b5f", "#3e8ed0", "#d69e2e", "#b42318", "#7a5af8", "#616e7c")
EMPTY = "#e4e7eb"
NO_DATA = "无数据"


def percent(value: float) -> str:
    """A rate in [0, 1] as people read it: 0.8 → "80.0%"."""
    return f"{value * 100:.1f}%"


def count(value: float) -> str:
    """A count without decimals."""
    return f"{value:.0f}"


def text_width(text: str) -> float:
    """The approximate width of `text` at FONT px: a Chinese character is a full em, Latin about half."""
    return sum(FONT if unicodedata.east_asian_width(ch) in "WF" else FONT * 0.6 for ch in text)


def _fit(text: str, width: float) -> str:
    """`text`, cut with "…" so that it fits `width`."""
    if text_width(text) <= width:
        return text
    while text and text_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _num(value: float) -> str:
    """A coordinate with at most one decimal (short markup, no float noise)."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg(height: float, title: str, body: list[str], css_class: str) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css_class}" role="img" '
        f'aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {_num(height)}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" font-size="{FONT}" '
        f'font-family="system-ui, &quot;PingFang SC&quot;, &quot;Noto Sans CJK SC&quot;, sans-serif">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def bar_chart(
    items: Sequence[tuple[str, float | None]],
    *,
    title: str,
    scale: float | None = 1.0,
    value_text: Callable[[float], str] = percent,
) -> Markup:
    """A horizontal bar per (label, value), in the given order; None draws no bar and says 无数据.

    `scale` is the value of a full-length bar: 1.0 for rates, None for the largest value (counts).
    """
    values = [v for _, v in items if v is not None]
    full = scale if scale is not None else max(values, default=0) or 1
    label_width = min(max((text_width(label) for label, _ in items), default=0), MAX_LABEL) + 8
    bar_space = WIDTH - label_width - VALUE_SPACE
    body = []
    for n, (label, value) in enumerate(items):
        y = n * ROW
        shown = value_text(value) if value is not None else NO_DATA
        length = 0.0 if value is None else max(0.0, min(value / full, 1.0)) * bar_space
        colour = PALETTE[0] if value is not None else EMPTY
        body.append(
            f'<g class="bar"><title>{escape(label)}：{escape(shown)}</title>'
            f'<text x="{_num(label_width - 8)}" y="{_num(y + ROW / 2 + FONT * 0.35)}" text-anchor="end">'
            f"{escape(_fit(label, MAX_LABEL))}</text>"
            f'<rect x="{_num(label_width)}" y="{_num(y + (ROW - BAR) / 2)}" width="{_num(length)}" '
            f'height="{BAR}" rx="2" fill="{colour}"/>'
            f'<text x="{_num(label_width + length + 4)}" y="{_num(y + ROW / 2 + FONT * 0.35)}" fill="#1f2933">'
            f"{escape(shown)}</text></g>"
        )
    return _svg(max(len(items), 1) * ROW, title, body, "bar-chart")


def share_bar(parts: Sequence[tuple[str, float | None]], *, title: str) -> Markup:
    """One bar split into the shares of its parts (which add up to 1), with a legend beneath it.

    Parts whose share is None or 0 get no segment but keep their place in the legend; when no part
    has a share, the bar is empty and says 无数据.
    """
    body = []
    x = 0.0
    shares = list(parts)
    for n, (label, share) in enumerate(shares):
        if not share:
            continue
        length = max(0.0, min(share, 1.0)) * WIDTH
        colour = PALETTE[n % len(PALETTE)]
        inside = f"{label} {percent(share)}"
        text = ""
        if text_width(inside) + 8 <= length:
            text = f'<text x="{_num(x + 4)}" y="{_num(BAR / 2 + 4 + FONT * 0.35)}" fill="#fff">{escape(inside)}</text>'
        body.append(
            f'<g class="segment"><title>{escape(label)}：{escape(percent(share))}</title>'
            f'<rect x="{_num(x)}" y="4" width="{_num(length)}" height="{BAR + 8}" fill="{colour}"/>{text}</g>'
        )
        x += length
    if not any(share for _, share in shares):
        body.append(
            f'<rect x="0" y="4" width="{WIDTH}" height="{BAR + 8}" fill="{EMPTY}"/>'
            f'<text x="8" y="{_num(BAR / 2 + 4 + FONT * 0.35)}">{NO_DATA}</text>'
        )
    top = BAR + 8 + 12
    for n, (label, share) in enumerate(shares):
        y = top + n * ROW
        shown = percent(share) if share is not None else NO_DATA
        body.append(
            f'<g class="legend"><rect x="0" y="{_num(y + 6)}" width="12" height="12" '
            f'fill="{PALETTE[n % len(PALETTE)]}"/>'
            f'<text x="18" y="{_num(y + ROW / 2 + FONT * 0.35)}">{escape(label)}　{escape(shown)}</text></g>'
        )
    return _svg(top + len(shares) * ROW, title, body, "share-bar")
