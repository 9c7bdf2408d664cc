"""Cells for CSV (and tab-separated) files that people open in Excel or WPS: never a formula.

A cell that starts with = + - @ (or a tab or carriage return, which some spreadsheets skip before
reading one of those) is run as a formula when the file is opened: a grid or checkpoint name like
=HYPERLINK("http://…") would become a link, or worse. Such a cell gets a leading apostrophe, which
spreadsheets show as plain text. Plain numbers (-3, -2.5%) are left as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(\.\d+)?%?")


def safe_cell(value: object) -> str:
    """`value` as text that a spreadsheet will not read as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def safe_row(values: Iterable[object]) -> list[str]:
    """Every cell of one row through `safe_cell`."""
    return [safe_cell(value) for value in values]
