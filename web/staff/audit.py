"""Writing the access log from staff requests: who (g.staff), from which address, what, with what result."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import abort, g, request
from sqlalchemy import select

from core.audit import Actor, record
from core.audit import actions as A
from core.errors import NotFound
from core.glossary import Role
from core.models import Case, StaffUser
from core.services import cases as case_service
from core.services import queues
from web.context import current_context, db_session
from web.errors import json_error

# What an auditor may open: the log, their own account (password, two factors) and signing out.
AUDITOR_ENDPOINTS = frozenset(
    {
        "console_audit.log",
        "console_auth.logout",
        "console_account.page",
        "console_account.password",
        "console_account.sign_out_everywhere",
        "console_account.totp",
    }
)
AUDITOR_ONLY = "审计管理员只能查看审计日志。"


def client_address() -> str:
    """The address of this request's client as the app sees it: the peer, or what the trusted proxy
    passed on (ProxyFix, TRUSTED_PROXY_HOPS). Sign-in limits count by it and the access log keeps it."""
    return request.remote_addr or "unknown"


def note(
    action: str,
    target_type: str | None = None,
    target_id: object = None,
    *,
    result: str = "ok",
    detail: Mapping[str, Any] | None = None,
    staff: StaffUser | None = None,
    actor: Actor | None = None,
) -> None:
    """Append one entry for this request, by `staff` (default: the signed-in `g.staff`).

    In its own short transaction, committed before the view answers: a view that only reads never
    commits the request's session and a refused one rolls back, yet the entry must stay; and the
    chain's lock is held for this insert alone, not for the page's rendering. If it cannot be
    written the request fails (500) rather than show data with no trail.
    """
    if actor is None:
        who = staff if staff is not None else g.get("staff")
        actor = Actor.of_staff(who, client_address()) if who is not None else Actor(address=client_address())
    with current_context().uow() as uow:
        record(uow.session, actor, action, target_type, target_id, result=result, detail=detail)
        uow.commit()


def tried_account(staff_id: int | None) -> Actor:
    """The actor of a failed sign-in: the account of the name tried if there is one, else nobody.

    A name that is no account is not kept: people type their password into the name field.
    """
    staff = db_session().get(StaffUser, staff_id) if staff_id is not None else None
    if staff is None:
        return Actor(address=client_address())
    return Actor.of_staff(staff, client_address())


def note_refused_sign_in(channel: str, refused: Exception) -> None:
    """The access-log entry of a sign-in refused on `channel` (console, api): too many tries from the
    client's address (denied), or a wrong name, password or code (failed, on the account tried)."""
    from core.services.staff import SignInRefused

    if not isinstance(refused, SignInRefused):  # TooManyAttempts: the address, not an account
        note(A.STAFF_SIGN_IN_FAILED, result="denied", detail={"channel": channel, "reason": "client_limited"})
        return
    note(
        A.STAFF_SIGN_IN_FAILED,
        A.TARGET_STAFF,
        refused.staff_id,
        result="failed",
        detail={"channel": channel, "reason": refused.reason},
        actor=tried_account(refused.staff_id),
    )


def list_detail(channel: str, view: str, page: int, count: int) -> dict[str, Any]:
    """A queue page's entry: which of the known views (anything else typed is "other"), page, rows shown."""
    return {"channel": channel, "view": view if view in queues.VIEWS else "other", "page": page, "count": count}


def viewed_case(number: str, *, channel: str) -> Case:
    """The case `g.staff` opens, its view recorded; refused (NotFound) recorded as denied or failed.

    Denied: the case exists but is not theirs to see. Failed: there is no such case (the number typed
    is not kept, it could be anything).
    """
    session = db_session()
    try:
        case = case_service.find_case(session, g.staff, number)
    except NotFound:
        exists = session.scalar(select(Case.id).where(Case.number == number)) is not None
        if exists:
            note(A.CASE_VIEW, A.TARGET_CASE, number, result="denied", detail={"channel": channel})
        else:
            note(A.CASE_VIEW, A.TARGET_CASE, None, result="failed", detail={"channel": channel, "reason": "not_found"})
        raise
    note(A.CASE_VIEW, A.TARGET_CASE, case.number, detail={"channel": channel})
    return case


def refuse_auditor_page(staff: StaffUser) -> None:
    """403 for an auditor on any console page but theirs (AUDITOR_ENDPOINTS), recorded."""
    if staff.role == Role.AUDITOR and request.endpoint not in AUDITOR_ENDPOINTS:
        note(A.ACCESS_REFUSED, A.TARGET_ENDPOINT, request.endpoint, result="denied", staff=staff)
        abort(403, description=AUDITOR_ONLY)


def refuse_auditor_api(staff: StaffUser) -> Any:
    """The JSON 403 for an auditor on the staff API (all of it), recorded; None for anyone else."""
    if staff.role != Role.AUDITOR:
        return None
    note(A.ACCESS_REFUSED, A.TARGET_ENDPOINT, request.endpoint, result="denied", staff=staff)
    return json_error(403, "forbidden", "审计管理员只能在工作台查看审计日志，不能使用工作人员接口")
