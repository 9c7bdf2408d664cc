"""POST /api/v1/staff/cases/<number>/phone/reveal: a case's full call-back number, once, audited."""

from __future__ import annotations

from flask import Blueprint, g, jsonify

from web.errors import json_error
from web.staff.auth import staff_required
from web.staff.contact import not_kept, reveal

blueprint = Blueprint("staff_api_contact", __name__, url_prefix="/api/v1/staff")

REFUSALS = {
    "forbidden": (403, "forbidden", "您无权查看该案件的联系电话"),
    "rate_limited": (429, "rate_limited", "查看完整号码太频繁，请一小时后再试"),
}


@blueprint.post("/cases/<number>/phone/reveal")
@staff_required
def reveal_phone(number: str):  # type: ignore[no-untyped-def]
    outcome = reveal(g.staff, number)
    if outcome.refused is not None:
        return json_error(*REFUSALS[outcome.refused])
    return not_kept(jsonify({"number": number, "contact_phone": outcome.phone}))
