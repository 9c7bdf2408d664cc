"""One masking function for every text the public or another resident reads: phones, ID numbers, plates, rooms.

Residents type their phone number, their neighbour's licence plate or their flat into a report's
description; staff copy such details into a rejection reason. Whatever leaves for someone who does
not need it (Open311, the tracking page, public grant pages, the platform push) passes `mask_text`.
Ordinary numbers — dates, times, amounts, case numbers like GZ20261204-000002 — are left alone:
every pattern is anchored so that it does not start or end inside a longer run of letters or digits.
"""

from __future__ import annotations

import re

MASK = "＊＊＊"

# Edges: a match may not start right after, or end right before, a letter or digit, so that a case
# number (GZ20261204-000002) or a long amount is never cut in two.
_START = r"(?<![0-9A-Za-z])"
_END = r"(?![0-9A-Za-z])"
_SEP = r"[\s\-－.]?"  # one optional space, hyphen (ASCII or full-width) or dot between digit groups

# 18-digit resident ID: 6-digit area, birth date 19xx/20xx, 3-digit sequence, check digit or X.
_ID_CARD = re.compile(
    _START + r"[1-9]\d{5}\s?(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\s?\d{3}[\dXx]" + _END
)
# Country code before a number: +86, 0086, ＋86, (+86).
_CC = r"(?:[(（]?(?:\+|＋|00)86[)）]?[\s\-]?)"
# Mobile: 1[3-9]x xxxx xxxx, in one run or split 3-4-4 by spaces, hyphens or dots.
_MOBILE = re.compile(_START + _CC + r"?1[3-9]\d" + _SEP + r"\d{4}" + _SEP + r"\d{4}" + _END)
# Landline: an area code 0xx/0xxx (bare, in brackets, or after +86 without its 0), then 7–8 digits,
# possibly split 3-4 or 4-4; an extension may follow.
_AREA = r"(?:[(（]0\d{2,3}[)）]\s?|0\d{2,3}" + _SEP + r"|" + _CC + r"[1-9]\d{1,2}" + _SEP + r")"
_LANDLINE = re.compile(_START + _AREA + r"\d{3,4}" + _SEP + r"\d{4}(?:\s?(?:转|ext\.?|-)\s?\d{1,5})?" + _END)
# Chinese plates: province, letter (no I or O), optional separator, 5 characters (6 for new energy),
# optionally followed by 挂/学/警/港/澳/领.
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE = re.compile(
    rf"[{_PROVINCES}]\s?[A-HJ-NP-Za-hj-np-z]\s?[·•・.\-\s]?"
    # At least one digit among the last characters: "云Backup" is a word, not a plate.
    rf"(?=[A-HJ-NP-Za-hj-np-z]{{0,5}}\d)[A-HJ-NP-Z0-9a-hj-np-z]{{5,6}}[挂学警港澳领]?" + _END
)
# Rooms: a building (3栋, 3幢, 3号楼, B座) with a unit and/or room after it, a unit with a room, or a
# bare room of three or more digits followed by 室/房. "2室1厅" (a flat's layout) is not a room.
_BUILDING = r"[0-9A-Za-z一二三四五六七八九十]+\s?(?:栋|幢|号楼|座|楼)"
_UNIT = r"[0-9一二三四五六七八九十]+\s?单元"
_ROOM_NO = r"\d{2,5}\s?(?:室|房|号|户)?"
_ROOM = re.compile(
    _START
    + r"(?:"
    + rf"{_BUILDING}\s?(?:{_UNIT}\s?)?(?:{_ROOM_NO})(?![0-9])"
    + rf"|{_BUILDING}\s?{_UNIT}"
    + rf"|{_UNIT}\s?{_ROOM_NO}(?![0-9])"
    + r"|\d{3,5}\s?(?:室|房)"
    + r")"
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")

# Order matters: the ID number before the phone patterns (its digits contain phone-shaped runs).
_PATTERNS = (_ID_CARD, _EMAIL, _MOBILE, _LANDLINE, _PLATE, _ROOM)


def mask_text(text: str) -> str:
    """`text` with phone numbers, ID numbers, e-mail addresses, licence plates and room numbers masked."""
    for pattern in _PATTERNS:
        text = pattern.sub(MASK, text)
    return text


def mask_optional(text: str | None) -> str | None:
    """`mask_text` for a value that may be missing: None or an empty text stays None."""
    return mask_text(text) if text else None
