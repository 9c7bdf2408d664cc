"""How a case looks to a resident in the API: what they may see of it, and nothing of anyone else."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.geo import Point
from core.glossary import CaseStatus, PhotoStatus
from core.media_urls import media_url
from core.models import Case, Photo, Resident
from core.models.base import utcnow
from core.privacy.positions import rounded
from core.services.nearby import NearbyCase
from core.services.resident_cases import REOPEN_WINDOW, resident_timeline
from core.settings import Settings


def position(point: Point) -> dict[str, Any]:
    """A point as the API gives it: lat, lng and the system they are in."""
    return {"lat": point.lat, "lng": point.lng, "coord_system": point.system.value}


def _category(case: Case) -> dict[str, str] | None:
    return {"code": case.category.code, "name": case.category.name} if case.category else None


def case_summary(case: Case, resident: Resident) -> dict[str, Any]:
    """The line of a case in the resident's list; the place is the checkpoint's name, never typed text."""
    return {
        "number": case.number,
        "status": case.status.value,
        "status_label": case.status.label,
        "category": _category(case),
        "place": case.checkpoint.name if case.checkpoint else None,
        "reported_at": case.created_at,
        "is_reporter": case.reporter_id == resident.id,
    }


def _photo(settings: Settings, photo: Photo) -> dict[str, Any]:
    assert photo.path is not None and photo.thumb_path is not None
    return {
        "url": media_url(settings, photo.path),
        "thumb_url": media_url(settings, photo.thumb_path),
        "width": photo.width,
        "height": photo.height,
    }


def case_detail(
    settings: Settings, case: Case, resident: Resident, photos: list[Photo], now: datetime | None = None
) -> dict[str, Any]:
    """A case as its reporter or a follower sees it.

    Only the reporter sees what they wrote, the photos and the exact position, and only the reporter
    rates or reopens; a follower (a neighbour with the same problem) sees status and timeline only.
    """
    now = now or utcnow()
    is_reporter = case.reporter_id == resident.id
    closed = case.status == CaseStatus.CLOSED
    shown = photos if is_reporter else []
    ready = [photo for photo in shown if photo.status == PhotoStatus.READY and photo.path and photo.thumb_path]
    located = is_reporter and case.lat is not None and case.lng is not None and case.coord_system is not None
    return {
        **case_summary(case, resident),
        "description": case.description if is_reporter else None,
        "position": position(Point(case.lat, case.lng, case.coord_system)) if located else None,  # type: ignore[arg-type]
        "rating": case.rating if is_reporter else None,
        "can_evaluate": closed and is_reporter and case.rating is None,
        "can_reopen": closed and is_reporter and case.closed_at is not None and now - case.closed_at <= REOPEN_WINDOW,
        "timeline": [
            {"at": entry.at, "status_label": entry.status_label, "text": entry.text}
            for entry in resident_timeline(case)
        ],
        "photos": [_photo(settings, photo) for photo in ready],
        "photos_pending": sum(1 for photo in shown if photo.status == PhotoStatus.PENDING),
    }


def nearby_case(item: NearbyCase, resident: Resident) -> dict[str, Any]:
    """An open case near the asker: category, status, distance and a position rounded to ~100 m.

    The number is there to follow it by; nothing else — no place, time, description, reporter or
    photo — since whoever asks is a stranger to the case.
    """
    case = item.case
    return {
        "number": case.number,
        "status": case.status.value,
        "status_label": case.status.label,
        "category": _category(case),
        "distance_m": round(item.distance_m),
        "position": position(rounded(item.position)),
        "following": case.reporter_id == resident.id or resident in case.followers,
    }
