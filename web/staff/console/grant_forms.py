"""Reading the console's micro-grant forms: yuan to fen, dates, and the one-per-line lists of a new round."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from core.errors import InvalidInput
from core.grants.applications import ApplicationInput
from core.grants.rounds import RoundInput
from core.grants.terms import DEFAULT_CATEGORIES

_YUAN = re.compile(r"^\d{1,9}(\.\d{1,2})?$")


def fen(text: str, what: str) -> int:
    """「1234.5」 yuan as 123450 fen; at most two decimals, never a float on the way."""
    cleaned = text.strip().replace(",", "").replace("，", "").removesuffix("元")
    if not _YUAN.match(cleaned):
        raise InvalidInput(f"{what}应为金额（元），最多两位小数")
    try:
        return int(Decimal(cleaned) * 100)
    except InvalidOperation:
        raise InvalidInput(f"{what}应为金额（元）") from None


def day(text: str, what: str, tz: ZoneInfo, end: bool = False) -> datetime:
    """A local date as the start (or the end) of that day in the district's time zone."""
    try:
        parsed = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{what}应为日期（YYYY-MM-DD）") from None
    return datetime.combine(parsed, time.max if end else time.min, tzinfo=tz)


def _lines(text: str) -> list[list[str]]:
    return [[part.strip() for part in re.split(r"[:：]", line)] for line in text.splitlines() if line.strip()]


def round_input(form: dict[str, str], tz: ZoneInfo) -> RoundInput:
    """A RoundInput from the new-round form; percentages and yuan are turned into basis points and fen."""
    sources = []
    for parts in _lines(form.get("sources", "")):
        if len(parts) != 2:
            raise InvalidInput("资金来源每行一个：名称:比例（%）")
        try:
            share = Decimal(parts[1].removesuffix("%"))
        except InvalidOperation:
            raise InvalidInput(f"资金来源「{parts[0]}」的比例应为数字") from None
        sources.append((parts[0], int(share * 100)))
    categories = [line[0] for line in _lines(form.get("categories", ""))] or list(DEFAULT_CATEGORIES)
    caps = {}
    for parts in _lines(form.get("category_caps", "")):
        if len(parts) != 2:
            raise InvalidInput("类别上限每行一个：类别:金额（元）")
        caps[parts[0]] = fen(parts[1], f"「{parts[0]}」类上限")
    data = RoundInput(
        name=form.get("name", ""),
        description=form.get("description", "").strip(),
        budget_fen=fen(form.get("budget", ""), "总预算"),
        cap_per_application_fen=fen(form.get("cap", ""), "单项上限"),
        opens_at=day(form.get("opens_on", ""), "开始日期", tz),
        closes_at=day(form.get("closes_on", ""), "截止日期", tz, end=True),
        sources=sources,
        categories=categories,
        category_caps=caps,
    )
    rubric = _lines(form.get("rubric", ""))
    if rubric:
        try:
            data.rubric = [{"key": f"c{n}", "name": p[0], "weight": int(p[1])} for n, p in enumerate(rubric, 1)]
        except (IndexError, ValueError):
            raise InvalidInput("评分标准每行一个：名称:权重（正整数）") from None
    return data


def scores(form: dict[str, str], rubric: list[dict[str, object]]) -> dict[str, int | None]:
    """Each criterion's score from the form: 0–5, or 「na」 for n/a."""
    found: dict[str, int | None] = {}
    for criterion in rubric:
        key = str(criterion["key"])
        value = form.get(f"score_{key}", "").strip()
        if value == "na":
            found[key] = None
        elif value.isdigit():
            found[key] = int(value)
        else:
            raise InvalidInput(f"请为「{criterion['name']}」评分")
    return found


def application_input(form: dict[str, str]) -> ApplicationInput:
    """An application typed in by staff: team lines 「姓名:分工[:电话]」, budget lines 「名目:数量:单价（元）」."""
    team = []
    for parts in _lines(form.get("team", "")):
        person = {"name": parts[0], "role": parts[1] if len(parts) > 1 else ""}
        if len(parts) > 2 and parts[2]:
            person["phone"] = parts[2]
        team.append(person)
    lines = []
    for number, parts in enumerate(_lines(form.get("budget_lines", "")), start=1):
        if len(parts) != 3 or not parts[1].isdigit():
            raise InvalidInput(f"预算第 {number} 行应为 名目:数量:单价（元）")
        lines.append(
            {"item": parts[0], "quantity": int(parts[1]), "unit_price_fen": fen(parts[2], f"预算第 {number} 行单价")}
        )
    return ApplicationInput(
        title=form.get("title", ""),
        category=form.get("category", ""),
        summary=form.get("summary", ""),
        beneficiaries=form.get("beneficiaries", ""),
        schedule=form.get("schedule", ""),
        group_name=form.get("group_name", ""),
        team=team,
        budget_lines=lines,
    )
