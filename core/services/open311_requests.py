"""Open311 GeoReport v2, the reading side: which requests a query asks for, and each request as the
specification shapes it (no personal data; see core/services/open311.py for the rules)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from core.errors import InvalidInput, NotFound
from core.geo import Point
from core.glossary import CaseStatus, CoordSystem, Role
from core.models import Case, Category
from core.models.base import utcnow
from core.services.open311 import (
    CLOSED,
    MAX_IDS,
    MAX_RESULTS,
    MAX_SPAN,
    STATUSES,
    find_service,
    public_text,
    service_notice,
    w3c,
)
from core.services.resident_cases import resident_timeline
from core.text import clean

_W3C = re.compile(r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2}))?")


@dataclass(frozen=True)
class RequestQuery:
    """The filters of GET requests, checked. Numbers, when given, override all the others."""

    numbers: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    statuses: frozenset[str] = field(default_factory=frozenset)


def _list(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def parse_w3c(raw: str, name: str, tz: ZoneInfo) -> datetime:
    """A W3C datetime (with Z or an offset), or a date alone meaning 00:00 that day in the district."""
    text = raw.strip()
    if not _W3C.fullmatch(text):
        raise InvalidInput(f"{name} 应为带时区的 W3C 日期时间，例如 2026-11-21T14:03:00+08:00 或 2026-11-21T06:03:00Z")
    try:
        if "T" not in text:
            return datetime.combine(datetime.fromisoformat(text).date(), time(), tz)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name} 不是有效的日期时间：{clean(text, 40)}") from None


def parse_query(session: Session, args: Mapping[str, str], tz: ZoneInfo, now: datetime | None = None) -> RequestQuery:
    """Check the query of GET requests; InvalidInput (400) or NotFound (404, unknown service_code)."""
    numbers = _list(args.get("service_request_id"))
    if numbers:
        if len(numbers) > MAX_IDS:
            raise InvalidInput(f"service_request_id 一次最多 {MAX_IDS} 个")
        return RequestQuery(numbers=tuple(number.upper() for number in numbers))

    codes = _list(args.get("service_code"))
    for code in codes:
        find_service(session, code)
    statuses = _list(args.get("status"))
    for status in statuses:
        if status not in STATUSES:
            raise InvalidInput(f"status 只能是 open 或 closed（可用逗号分隔），不能是 {clean(status, 16)}")

    start_raw, end_raw = args.get("start_date"), args.get("end_date")
    start = parse_w3c(start_raw, "start_date", tz) if start_raw else None
    end = parse_w3c(end_raw, "end_date", tz) if end_raw else None
    if start is None and end is None:
        end = now or utcnow()
    if start is None:
        assert end is not None
        start = end - MAX_SPAN
    if end is None:
        end = start + MAX_SPAN
    if start > end:
        raise InvalidInput("start_date 不能晚于 end_date")
    if end - start > MAX_SPAN:
        raise InvalidInput("start_date 到 end_date 不能超过 90 天")
    return RequestQuery(service_codes=tuple(codes), start=start, end=end, statuses=frozenset(statuses))


def _loaded() -> Select[tuple[Case]]:
    return select(Case).options(
        selectinload(Case.category),
        selectinload(Case.checkpoint),
        selectinload(Case.assignee),
        selectinload(Case.events),
    )


def find_requests(session: Session, query: RequestQuery) -> list[Case]:
    """The cases the query asks for, newest first, at most MAX_RESULTS."""
    statement = _loaded()
    if query.numbers:
        statement = statement.where(Case.number.in_(query.numbers))
    else:
        if query.start is not None:
            statement = statement.where(Case.created_at >= query.start)
        if query.end is not None:
            statement = statement.where(Case.created_at <= query.end)
        if query.service_codes:
            statement = statement.join(Case.category).where(Category.code.in_(query.service_codes))
        if query.statuses == {"open"}:
            statement = statement.where(Case.status.not_in(CLOSED))
        elif query.statuses == {"closed"}:
            statement = statement.where(Case.status.in_(CLOSED))
    statement = statement.order_by(Case.created_at.desc(), Case.id.desc()).limit(MAX_RESULTS)
    return list(session.scalars(statement))


def find_request(session: Session, number: str) -> Case:
    """The case `number` (any letter case); NotFound otherwise."""
    wanted = (number or "").strip().upper()
    case = session.scalar(_loaded().where(Case.number == wanted)) if wanted else None
    if case is None:
        raise NotFound(f"没有编号为 {clean(wanted, 40)} 的诉求（service_request_id）")
    return case


def find_token(session: Session, token: str) -> Case:
    """The case whose tracking token is `token` (as given with POST requests); NotFound otherwise."""
    case = session.scalar(select(Case).where(Case.tracking_token == token)) if token and len(token) <= 64 else None
    if case is None:
        raise NotFound("没有这个 token")
    return case


def token_entry(case: Case) -> dict[str, Any]:
    return {"service_request_id": case.number, "token": case.tracking_token}


def open_or_closed(status: CaseStatus) -> str:
    return "closed" if status in CLOSED else "open"


def status_notes(case: Case) -> str:
    """The finer status in Chinese, with what a resident may read of the last move (a reject reason)."""
    notes = case.status.label
    if case.events and case.events[-1].to_status == case.status:
        text = resident_timeline(case)[-1].text
        if text:
            notes += f"（{text}）"
    return public_text(notes) or notes


def _agency(case: Case) -> str | None:
    # A department is an organisation and may be named; a grid worker is a person and is not.
    if case.assignee is not None and case.assignee.role is Role.DEPARTMENT:
        return case.assignee.display_name
    return case.tier.label if case.tier else None


def _wgs84(case: Case) -> tuple[float | None, float | None]:
    if case.lat is None or case.lng is None:
        return None, None
    system = case.coord_system or CoordSystem.GCJ02
    if system is CoordSystem.WGS84:
        return case.lat, case.lng
    point = Point(case.lat, case.lng, system).to(CoordSystem.WGS84)
    return round(point.lat, 6), round(point.lng, 6)


def request_entry(case: Case, tz: ZoneInfo) -> dict[str, Any]:
    """One request of GET requests: the case as the public may see it."""
    category = case.category
    lat, lng = _wgs84(case)
    return {
        "service_request_id": case.number,
        "status": open_or_closed(case.status),
        "status_notes": status_notes(case),
        "service_name": category.name if category else None,
        "service_code": category.code if category else None,
        "description": public_text(case.description),
        "agency_responsible": _agency(case),
        "service_notice": service_notice(category) if category else None,
        "requested_datetime": w3c(case.created_at, tz),
        "updated_datetime": w3c(case.updated_at, tz),
        "expected_datetime": w3c(case.deadline_at, tz),
        "address": public_text(case.checkpoint.name if case.checkpoint else case.location_label),
        "address_id": case.checkpoint.code if case.checkpoint else None,
        "zipcode": None,
        "lat": lat,
        "long": lng,
        # Photos of cases are not published (no public media route): residents' photos stay inside.
        "media_url": None,
    }
