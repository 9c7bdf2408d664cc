"""What Open311 clients read: services, service definitions, receipts and requests in the specification's shapes.

Plain values named as GeoReport v2 names them; render.py writes them as JSON or XML. Nothing personal
leaves through these shapes: no reporter, phone, e-mail, name, staff member or rating comment, and
typed text passes core.privacy.masking (phones, ID numbers, plates, rooms, e-mail); positions are
rounded to about 100 m and the address is the checkpoint or grid name, never what a resident typed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.glossary import CaseStatus, CoordSystem, Role
from core.models import Case, Category
from core.privacy.masking import mask_optional
from core.privacy.positions import PUBLIC_DECIMALS, public_place, public_point
from core.services.open311 import CLOSED
from core.services.resident_cases import resident_timeline
from web.public.open311.forms import ATTRIBUTES

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"


def public_text(text: str | None) -> str | None:
    """`text` with personal identifiers masked (core.privacy.masking), or None when there is none."""
    return mask_optional(text)


def w3c(moment: datetime | None, tz: ZoneInfo) -> str | None:
    """A W3C datetime with the district's offset, e.g. 2026-11-21T14:03:00+08:00."""
    return moment.astimezone(tz).isoformat(timespec="seconds") if moment else None


# --- services --------------------------------------------------------------------------------


def service_notice(category: Category) -> str:
    """What happens to a request of this service: who handles it, how soon, and when it counts as done."""
    parts = ["受理后派遣处置"]
    if category.time_limit_hours:
        parts.append(f"处置时限 {category.time_limit_hours} 小时")
    notice = "，".join(parts)
    if category.closing_standard:
        notice += f"；结案标准：{category.closing_standard}"
    return notice


def service_entry(category: Category) -> dict[str, Any]:
    """One service of GET services."""
    described = []
    if category.kind:
        described.append(f"{category.kind}类")
    if category.default_tier:
        described.append(f"{category.default_tier.label}处置")
    if category.time_limit_hours:
        described.append(f"时限 {category.time_limit_hours} 小时")
    description = "，".join(described)
    if category.closing_standard:
        description += f"。结案标准：{category.closing_standard}"
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": description or category.name,
        "metadata": bool(ATTRIBUTES),
        "type": "realtime",
        "keywords": ", ".join(category.keywords.split()) if category.keywords else None,
        "group": category.parent.name if category.parent else None,
    }


def service_definition(category: Category) -> dict[str, Any]:
    """GET services/<service_code>: the service's extra questions."""
    return {"service_code": category.code, "attributes": [attribute.as_spec() for attribute in ATTRIBUTES]}


# --- requests --------------------------------------------------------------------------------


def receipt(case: Case) -> dict[str, Any]:
    """The answer to POST requests, one element of the array."""
    return {
        "service_request_id": case.number,
        "token": case.tracking_token,
        "service_notice": service_notice(case.category) if case.category else None,
        "account_id": None,
    }


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
    # Never the exact spot: the checkpoint's point or about 100 m (core.privacy.positions).
    point = public_point(case, CoordSystem.WGS84)
    if point is None:
        return None, None
    return round(point.lat, PUBLIC_DECIMALS + 3), round(point.lng, PUBLIC_DECIMALS + 3)


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
        "address": public_place(case),
        "address_id": case.checkpoint.label if case.checkpoint else None,
        "zipcode": None,
        "lat": lat,
        "long": lng,
        # Photos of cases are not published (no public media route): residents' photos stay inside.
        "media_url": None,
    }
