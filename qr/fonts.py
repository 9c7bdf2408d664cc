"""The CJK font signs are printed in: SIGN_FONT if set, else whatever fontconfig offers for zh-CN.

A sign in a font without Chinese glyphs would print rows of empty boxes (tofu) on 1,393 posts, so
every candidate is checked by rendering Chinese characters, and finding none is an error that says
which Debian package to install.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from functools import lru_cache

from PIL import ImageFont

from core.errors import ConfigError

INSTALL_HINT = "安装中文字体：apt-get install fonts-noto-cjk（或把 SIGN_FONT 设为一个中文字体文件）"
# Characters every sign prints; a usable font draws each as a glyph of its own.
PROBE_TEXT = "共治网格员扫码"
# A code point no font maps (plane 16 private use): what it renders to is the font's .notdef
# glyph, the box a missing character turns into.
_MISSING = "\U0010fffd"
# A font collection (.ttc) holds one face per region; Japanese or Korean faces draw some Hanzi
# in their own forms, so the simplified-Chinese face is preferred when the names say which it is.
_SIMPLIFIED_MARKS = (" SC ", " CN ", " GB ", "Simplified", "简")
_MAX_FACES = 32
FC_TIMEOUT_SECONDS = 10


class SignFontError(ConfigError):
    """No font with Chinese glyphs could be found; the message names the package to install."""

    code = "sign_font"


@dataclass(frozen=True)
class FontSpec:
    """A font file and the face in it (collections hold several); small and picklable for workers."""

    path: str
    index: int = 0


@lru_cache(maxsize=64)
def load_font(spec: FontSpec, size: int) -> ImageFont.FreeTypeFont:
    """The face `spec` at `size` pixels; cached because a batch asks for the same few sizes."""
    return ImageFont.truetype(spec.path, size, index=spec.index)


def draws_chinese(spec: FontSpec) -> bool:
    """Whether the face renders Chinese: each probe character non-blank and unlike the missing glyph."""
    try:
        font = ImageFont.truetype(spec.path, 48, index=spec.index)
    except (OSError, ValueError):
        return False
    missing = _mask_bytes(font, _MISSING)
    for char in PROBE_TEXT:
        mask = _mask_bytes(font, char)
        if not mask.strip(b"\x00") or mask == missing:
            return False
    return True


def _mask_bytes(font: ImageFont.FreeTypeFont, text: str) -> bytes:
    mask = font.getmask(text)
    return bytes(mask) if mask.size[0] and mask.size[1] else b""


def _chinese_face(path: str, index: int | None) -> FontSpec | None:
    """`path`'s face `index`, or (index None) its simplified-Chinese face, if it draws Chinese."""
    if index is not None:
        spec = FontSpec(path, index)
        return spec if draws_chinese(spec) else None
    faces: list[FontSpec] = []
    for i in range(_MAX_FACES):
        try:
            family, style = ImageFont.truetype(path, 12, index=i).getname()
        except (OSError, ValueError):
            break  # past the last face of a collection, or not a font at all
        spec = FontSpec(path, i)
        if any(mark in f" {family} {style} " for mark in _SIMPLIFIED_MARKS) and draws_chinese(spec):
            return spec
        faces.append(spec)
    return next((spec for spec in faces if draws_chinese(spec)), None)


def _fontconfig_match() -> FontSpec | None:
    """fontconfig's best font for zh-CN, or None when fontconfig is not installed or has nothing."""
    try:
        done = subprocess.run(
            ["fc-match", "-f", "%{file}\n%{index}", ":lang=zh-cn"],
            capture_output=True,
            text=True,
            timeout=FC_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    path, _, index = done.stdout.partition("\n")
    if done.returncode != 0 or not path.strip():
        return None
    return FontSpec(path.strip(), int(index) if index.strip().isdigit() else 0)


def find_sign_font(sign_font: str | None) -> FontSpec:
    """The font to print signs in.

    `sign_font` (the SIGN_FONT setting) wins when set; a file that is not a Chinese font is then an
    error rather than a silent fallback, so a typo cannot change the look of every sign unnoticed.
    Otherwise fontconfig is asked, and its answer is used only if it really draws Chinese (without a
    CJK font installed it answers DejaVu or the like). Raises SignFontError naming fonts-noto-cjk.
    """
    if sign_font:
        spec = _chinese_face(sign_font, None)
        if spec is None:
            raise SignFontError(f"SIGN_FONT={sign_font} 不是可用的中文字体文件。{INSTALL_HINT}")
        return spec
    matched = _fontconfig_match()
    if matched is not None:
        # fontconfig names the face; keep it if it draws Chinese, else look for one in the file.
        spec = _chinese_face(matched.path, matched.index) or _chinese_face(matched.path, None)
        if spec is not None:
            return spec
        raise SignFontError(f"找不到中文字体：fontconfig 给出的 {matched.path} 没有中文字形。{INSTALL_HINT}")
    raise SignFontError(f"找不到中文字体：未设置 SIGN_FONT，fontconfig（fc-match）也不可用。{INSTALL_HINT}")
