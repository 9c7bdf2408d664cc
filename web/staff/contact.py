"""The reveal of a case's full call-back number, shared by the console and the staff API."""

from __future__ import annotations

from flask import Response

from core.models import StaffUser
from core.privacy.reveal import Reveal, reveal_contact_phone
from web.context import current_context
from web.ratelimit import hit
from web.staff.auth import client_address

HOUR = 3600


def reveal(staff: StaffUser, number: str) -> Reveal:
    """Reveal (or refuse) in a unit of work of its own; its access-log row is committed either way."""
    context = current_context()

    def count_reveal() -> bool:
        limit = context.settings.phone_reveals_per_hour
        return hit(context.redis, "phone-reveal", str(staff.id), limit=limit, window_seconds=HOUR)

    with context.uow() as uow:
        person = uow.session.get_one(StaffUser, staff.id)
        outcome = reveal_contact_phone(uow.session, person, number, address=client_address(), count_reveal=count_reveal)
        uow.commit()
    return outcome


def not_kept(response: Response) -> Response:
    """No cache or history keeps the page or answer that carries a full number."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
