"""The service catalogue (管理服务清单): read the CSV file, upsert it into categories, show it as a tree."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.glossary import Tier
from core.models import Category

COLUMNS = ("code", "parent_code", "name", "kind", "default_tier", "time_limit_hours", "closing_standard")
# Optional last column; districts' older files without it still load.
KEYWORDS_COLUMN = "keywords"
KINDS = ("部件", "事件")
# The limits of the columns in core.models.catalogue; checked here so a bad file fails with a line number.
MAX_CODE = 16
MAX_NAME = 64
MAX_KIND = 8
# Keywords are separated by spaces; commas and 顿号 typed by hand are accepted too.
KEYWORD_SEPARATORS = re.compile(r"[\s,，、;；]+")


@dataclass(frozen=True)
class CatalogueRow:
    """One line of the catalogue file: a major category (no parent) or a sub-category."""

    line: int
    code: str
    parent_code: str | None
    name: str
    kind: str | None
    default_tier: Tier | None
    time_limit_hours: int | None
    closing_standard: str | None
    keywords: str | None = None  # words residents use for it, space-separated

    @property
    def is_major(self) -> bool:
        """True for a major category (大类)."""
        return self.parent_code is None


def _fail(line: int, problem: str) -> InvalidInput:
    return InvalidInput(f"服务清单第 {line} 行：{problem}")


def _keywords(text: str) -> str | None:
    """The cell's words, space-separated and without repeats; None when it has none."""
    words = dict.fromkeys(word for word in KEYWORD_SEPARATORS.split(text) if word)
    return " ".join(words) or None


def _parse_row(line: int, cells: dict[str, str]) -> CatalogueRow:
    code = cells["code"]
    name = cells["name"]
    parent_code = cells["parent_code"] or None
    kind = cells["kind"] or None
    tier_text, hours_text, standard = (
        cells["default_tier"],
        cells["time_limit_hours"],
        cells["closing_standard"],
    )
    keywords = _keywords(cells.get(KEYWORDS_COLUMN, ""))

    if not code:
        raise _fail(line, "缺少编码（code）")
    if len(code) > MAX_CODE or any(ch.isspace() for ch in code):
        raise _fail(line, f"编码 {code} 不合法（不超过 {MAX_CODE} 个字符，不含空白）")
    if not name:
        raise _fail(line, f"编码 {code} 缺少名称（name）")
    if len(name) > MAX_NAME:
        raise _fail(line, f"名称「{name}」超过 {MAX_NAME} 个字符")
    if parent_code == code:
        raise _fail(line, f"编码 {code} 不能以自己为上级")
    if kind is not None and kind not in KINDS:
        raise _fail(line, f"类型「{kind}」不合法（可选：{'、'.join(KINDS)}）")

    if parent_code is None:
        # A value here almost always means the parent column was left out by mistake.
        if tier_text or hours_text or standard:
            raise _fail(line, f"大类 {code} 不应填写处置层级、时限或结案标准；小类请填写上级编码（parent_code）")
        if keywords:
            raise _fail(line, f"大类 {code} 不应填写关键词（keywords）；小类请填写上级编码（parent_code）")
        return CatalogueRow(line, code, None, name, kind, None, None, None)

    if kind is None:
        raise _fail(line, f"小类 {code} 缺少类型（kind，可选：{'、'.join(KINDS)}）")
    if not tier_text:
        raise _fail(line, f"小类 {code} 缺少处置层级（default_tier）")
    try:
        tier = Tier(tier_text)
    except ValueError:
        options = "、".join(f"{t.value}（{t.label}）" for t in Tier)
        raise _fail(line, f"处置层级「{tier_text}」不合法（可选：{options}）") from None
    if not hours_text:
        raise _fail(line, f"小类 {code} 缺少处置时限（time_limit_hours）")
    try:
        hours = int(hours_text)
    except ValueError:
        raise _fail(line, f"处置时限「{hours_text}」不是整数小时") from None
    if hours <= 0:
        raise _fail(line, f"处置时限必须是正整数小时，实际为 {hours}")
    if not standard:
        raise _fail(line, f"小类 {code} 缺少结案标准（closing_standard）")
    return CatalogueRow(line, code, parent_code, name, kind, tier, hours, standard, keywords)


def read_catalogue(path: str | Path) -> list[CatalogueRow]:
    """Parse and check the catalogue file; any problem raises InvalidInput naming the line.

    The last column, keywords, is optional: without it every row's keywords are None.
    """
    return _read(path)[0]


def _read(path: str | Path) -> tuple[list[CatalogueRow], bool]:
    """The checked rows, and whether the file has the keywords column."""
    path = Path(path)
    try:
        # utf-8-sig: a file saved from Excel starts with a byte-order mark that would spoil the first header.
        with path.open(encoding="utf-8-sig", newline="") as handle:
            records = list(_records(handle))
    except FileNotFoundError:
        raise InvalidInput(f"找不到服务清单文件：{path}") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"服务清单文件不是 UTF-8 编码：{path}") from None
    except csv.Error as exc:
        raise InvalidInput(f"服务清单文件格式有误：{exc}") from None

    if not records:
        raise InvalidInput("服务清单文件是空的")
    header_line, header = records[0]
    names = tuple(cell.strip() for cell in header)
    if names not in (COLUMNS, (*COLUMNS, KEYWORDS_COLUMN)):
        raise _fail(
            header_line,
            f"表头应为 {','.join(COLUMNS)}（可在最后加 {KEYWORDS_COLUMN} 列），实际为 {','.join(names)}",
        )

    rows: list[CatalogueRow] = []
    seen: dict[str, int] = {}
    for line, cells in records[1:]:
        if len(cells) != len(names):
            raise _fail(line, f"应有 {len(names)} 列，实际为 {len(cells)} 列")
        row = _parse_row(line, dict(zip(names, (cell.strip() for cell in cells), strict=True)))
        if row.code in seen:
            raise _fail(line, f"编码 {row.code} 重复（第 {seen[row.code]} 行已出现）")
        seen[row.code] = line
        rows.append(row)
    if not rows:
        raise InvalidInput("服务清单文件没有任何分类")

    # Parents are checked after the whole file is read, so a major may be listed after its subs.
    majors = {row.code for row in rows if row.is_major}
    for row in rows:
        if row.parent_code is None or row.parent_code in majors:
            continue
        if row.parent_code in seen:
            raise _fail(row.line, f"上级编码 {row.parent_code} 是小类；清单只有大类和小类两级")
        raise _fail(row.line, f"上级编码 {row.parent_code} 不存在")
    return rows, KEYWORDS_COLUMN in names


def _records(handle: TextIO) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) for each non-blank record; the number is where the record starts."""
    reader = csv.reader(handle)
    start = 1
    for cells in reader:
        if any(cell.strip() for cell in cells):
            yield start, cells
        start = reader.line_num + 1


def _apply(category: Category, values: dict[str, Any]) -> bool:
    changed = False
    for field, value in values.items():
        if getattr(category, field) != value:
            setattr(category, field, value)
            changed = True
    return changed


def load_catalogue(session: Session, path: str | Path) -> tuple[int, int]:
    """Upsert the file into categories by code and flush; returns (added, updated). The caller commits.

    Categories missing from the file are kept, because cases may still point at them. A file without
    the keywords column leaves the stored keywords as they are; with it, each row's cell replaces them.
    """
    # Read and check everything first, so a bad file stores nothing.
    rows, has_keywords = _read(path)
    existing = {
        category.code: category
        for category in session.scalars(select(Category).where(Category.code.in_([row.code for row in rows])))
    }
    order = {row.code: index for index, row in enumerate(rows)}
    added = updated = 0

    def upsert(row: CatalogueRow, parent_id: int | None) -> None:
        nonlocal added, updated
        values = {
            "name": row.name,
            "parent_id": parent_id,
            "kind": row.kind,
            "default_tier": row.default_tier,
            "time_limit_hours": row.time_limit_hours,
            "closing_standard": row.closing_standard,
            "sort_order": order[row.code],
        }
        if has_keywords:
            values["keywords"] = row.keywords
        category = existing.get(row.code)
        if category is None:
            category = Category(code=row.code, **values)
            session.add(category)
            existing[row.code] = category
            added += 1
        elif _apply(category, values):
            updated += 1

    # Majors go first and are flushed, so that their ids exist before the subs point at them.
    for row in rows:
        if row.is_major:
            upsert(row, None)
    session.flush()
    for row in rows:
        if row.parent_code is not None:
            upsert(row, existing[row.parent_code].id)
    session.flush()
    return added, updated


def category_tree(session: Session) -> list[dict[str, Any]]:
    """The majors in catalogue order, each with its sub-categories in order, as plain dicts."""
    categories = session.scalars(select(Category).order_by(Category.sort_order, Category.id)).all()
    majors = [category for category in categories if category.parent_id is None]
    children: dict[int, list[dict[str, Any]]] = {major.id: [] for major in majors}
    for category in categories:
        if category.parent_id in children:
            children[category.parent_id].append(
                {
                    "code": category.code,
                    "name": category.name,
                    "kind": category.kind,
                    "default_tier": category.default_tier.value if category.default_tier else None,
                    "time_limit_hours": category.time_limit_hours,
                    "closing_standard": category.closing_standard,
                }
            )
    return [{"code": major.code, "name": major.name, "children": children[major.id]} for major in majors]
