"""One printable checkpoint sign: A6 portrait at 300 dpi, drawn with Pillow from plain data.

Top to bottom: a red band with the title, the checkpoint's name and label, the QR code as large as
the remaining space allows, two lines telling residents what to do, and the grid and its worker.
Text is fitted (smaller, then wrapped, then cut with "…") so no name can run off the page; the QR
is drawn module by module at a whole number of pixels each, so every edge is sharp.
"""

from __future__ import annotations

from dataclasses import dataclass

import qrcode
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_Q

from qr.fonts import FontSpec, load_font

DPI = 300
# A6 (105 × 148 mm) at 300 dpi.
WIDTH, HEIGHT = 1240, 1748
MARGIN = 72  # 6 mm: inside what office printers can reach
TITLE = "随手拍 · 共治"
INSTRUCTIONS = ("微信或手机相机扫码，拍照即可上报身边问题", "上报后可随时查看处理进度")
NO_WORKER = "—"

RED = (198, 40, 40)
WHITE = (255, 255, 255)
INK = (20, 20, 20)
GREY = (90, 90, 90)
BAND_HEIGHT = 220
# Q (25% recoverable) rather than the minimum M: outdoor signs get scratched, stained and faded.
ERROR_CORRECTION = ERROR_CORRECT_Q
QUIET_ZONE = 4  # modules of white around the code, as the QR standard asks
MIN_MODULE_PIXELS = 8  # 0.68 mm at 300 dpi; below this a phone at arm's length struggles
LINE_SPACING = 1.25
PNG_COMPRESS_LEVEL = 3


@dataclass(frozen=True)
class SignData:
    """What one sign shows; plain strings, so rendering needs no database and pickles to workers."""

    title: str
    name: str
    label: str
    grid_name: str
    worker_name: str | None
    qr_content: str


@dataclass(frozen=True)
class _Block:
    """Fitted text: its lines, the font they are set in, and the height they take."""

    lines: tuple[str, ...]
    font: ImageFont.FreeTypeFont
    line_height: int

    @property
    def height(self) -> int:
        return self.line_height * len(self.lines)


def qr_matrix(content: str) -> list[list[bool]]:
    """The QR modules of `content`, quiet zone included (True is a dark module)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION, box_size=1, border=QUIET_ZONE)
    code.add_data(content)
    code.make(fit=True)
    return code.get_matrix()


def qr_image(content: str, max_side: int) -> Image.Image:
    """The QR of `content`, black on white, at the largest whole number of pixels per module.

    Drawn at one pixel per module and enlarged with NEAREST by an integer factor, so each module is
    an exact square of identical pixels: nothing is resampled, nothing blurs.
    """
    matrix = qr_matrix(content)
    modules = len(matrix)
    box = max_side // modules
    if box < MIN_MODULE_PIXELS:
        raise ValueError(f"QR content too long for a sign: {modules} modules in {max_side} px")
    small = Image.new("1", (modules, modules), 1)
    small.putdata([0 if dark else 1 for row in matrix for dark in row])
    return small.resize((modules * box, modules * box), Image.Resampling.NEAREST)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """`text` broken into lines no wider than `width`, at any character (Chinese has no spaces)."""
    lines: list[str] = []
    current = ""
    for char in text:
        if current and font.getlength(current + char) > width:
            lines.append(current.rstrip())
            current = char.lstrip()
        else:
            current += char
    if current or not lines:
        lines.append(current)
    return lines


def _balanced(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """`text` wrapped into as few lines as at `width`, but as even as possible.

    Greedy wrapping alone leaves a lone character on the last line (「…小区东 / 门」); the narrowest
    width that still needs no more lines spreads the text evenly instead.
    """
    lines = _wrap(text, font, width)
    if len(lines) < 2:
        return lines
    low, high = font.getlength(text) / len(lines), float(width)
    while high - low > 2:
        middle = (low + high) / 2
        if len(_wrap(text, font, middle)) <= len(lines):
            high = middle
        else:
            low = middle
    return _wrap(text, font, high)


def _ellipsize(text: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    """`text` cut so that it and a trailing "…" fit `width`."""
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _largest_fit(
    text: str, spec: FontSpec, width: int, sizes: range, max_lines: int
) -> tuple[ImageFont.FreeTypeFont, list[str]] | None:
    """The first of `sizes` at which `text` wraps (evenly) into `max_lines` lines or fewer."""
    for size in sizes:
        font = load_font(spec, size)
        lines = _balanced(text, font, width)
        if len(lines) <= max_lines:
            return font, lines
    return None


def fit_text(
    text: str, spec: FontSpec, width: int, *, max_size: int, min_size: int, max_lines: int = 1, step: int = 4
) -> _Block:
    """`text` set as large as it fits within `width` and `max_lines` lines, never below `min_size`.

    One line is preferred while it can stay at three quarters of `max_size` or more; after that
    the text wraps (evenly) at the largest size that fits. If even `min_size` needs more lines than
    allowed, the last line is cut with "…": the page never overflows.
    """
    one_line_floor = max(min_size, max_size * 3 // 4) if max_lines > 1 else min_size
    choice = _largest_fit(text, spec, width, range(max_size, one_line_floor - 1, -step), 1)
    if choice is None and max_lines > 1:
        choice = _largest_fit(text, spec, width, range(max_size, min_size - 1, -step), max_lines)
    if choice is None:
        font = load_font(spec, min_size)
        lines = _wrap(text, font, width)
        choice = font, [*lines[: max_lines - 1], _ellipsize("".join(lines[max_lines - 1 :]), font, width)]
    font, lines = choice
    ascent, descent = font.getmetrics()
    return _Block(tuple(lines), font, round((ascent + descent) * LINE_SPACING))


def _draw_block(
    draw: ImageDraw.ImageDraw,
    block: _Block,
    top: int,
    fill: tuple[int, int, int],
    stroke_width: int = 0,
    stroke_fill: tuple[int, int, int] | None = None,
) -> int:
    """Draw `block` centred from `top`; returns the y just below it."""
    for i, line in enumerate(block.lines):
        # Anchor "ma": x is the middle, y the ascender line, so every line of a size sits alike.
        draw.text(
            (WIDTH // 2, top + i * block.line_height),
            line,
            font=block.font,
            fill=fill,
            anchor="ma",
            stroke_width=stroke_width,
            stroke_fill=stroke_fill,
        )
    return top + block.height


def render_sign(data: SignData, font: FontSpec) -> Image.Image:
    """The sign for `data` in `font`: an RGB image of WIDTH × HEIGHT pixels (A6 at 300 dpi)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), WHITE)
    draw = ImageDraw.Draw(image)
    text_width = WIDTH - 2 * MARGIN

    # The band and its title.
    draw.rectangle((0, 0, WIDTH, BAND_HEIGHT), fill=RED)
    # Stroking in the text colour emboldens it without needing a second (bold) font file; the
    # stroke widens each line by twice its width, so the text is fitted that much narrower.
    title = fit_text(data.title, font, text_width - 6, max_size=128, min_size=64)
    _draw_block(draw, title, (BAND_HEIGHT - title.height) // 2 + 8, WHITE, stroke_width=3, stroke_fill=WHITE)

    # Name and label, from the top down.
    y = BAND_HEIGHT + 44
    name = fit_text(data.name, font, text_width - 2, max_size=88, min_size=52, max_lines=2)
    y = _draw_block(draw, name, y, INK, stroke_width=1, stroke_fill=INK)
    label = fit_text(f"点位编号：{data.label}", font, text_width, max_size=48, min_size=32)
    qr_top = _draw_block(draw, label, y + 4, GREY)

    # Grid, worker and instructions, from the bottom up.
    worker = data.worker_name or NO_WORKER
    footer = [
        fit_text(f"所属网格：{data.grid_name}", font, text_width, max_size=46, min_size=32),
        fit_text(f"网格员：{worker}", font, text_width, max_size=46, min_size=32),
    ]
    guide = [fit_text(line, font, text_width, max_size=50, min_size=32) for line in INSTRUCTIONS]
    footer_top = HEIGHT - MARGIN - sum(block.height for block in footer)
    guide_top = footer_top - 28 - sum(block.height for block in guide)
    y = footer_top
    draw.line((MARGIN, footer_top - 14, WIDTH - MARGIN, footer_top - 14), fill=(200, 200, 200), width=3)
    for block in footer:
        y = _draw_block(draw, block, y, GREY)
    y = guide_top
    for block in guide:
        y = _draw_block(draw, block, y, INK)

    # The QR takes the space between; its own quiet zone is the white gap around it.
    code = qr_image(data.qr_content, min(text_width, guide_top - qr_top))
    image.paste(code.convert("RGB"), ((WIDTH - code.width) // 2, qr_top + (guide_top - qr_top - code.height) // 2))
    return image


def save_sign(image: Image.Image, path: str) -> None:
    """Write a rendered sign as an RGB PNG marked 300 dpi, so printers keep it at A6.

    Plain RGB, not interlaced: qr.batch copies these PNGs' compressed data into the PDF unchanged.
    zlib level 3 rather than the default 6: measured, 13% larger files for a third less time, and it
    scales across cores where 4 and up did not (quantizing to a palette halves the file but costs
    four times the whole rendering).
    """
    image.save(path, "PNG", dpi=(DPI, DPI), compress_level=PNG_COMPRESS_LEVEL)
