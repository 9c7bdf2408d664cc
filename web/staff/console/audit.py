"""Console page 审计日志 (/console/audit): the access log, searched by the auditor and by nobody else."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, g, render_template, request, url_for

from core.audit import AuditQuery, search, verify_chain
from core.audit import actions as A
from core.audit.search import MAX_PAGE
from core.errors import InvalidInput
from core.glossary import Role
from core.models import AccessLogEntry
from web.context import current_context, db_session
from web.staff.audit import note
from web.staff.auth import page_staff_required

blueprint = Blueprint("console_audit", __name__, url_prefix="/console")
NAV = ("console_audit.log", "审计日志")
NAV_ROLES = frozenset({Role.AUDITOR})
TEXT_FILTERS = ("actor", "target_type", "target_id", "address")
SHOWN = 64  # characters of a filter kept (the columns are no longer)


def _moment(raw: str, tz: ZoneInfo, *, end: bool) -> datetime | None:
    """A date or date-and-time typed in local time; a bare date as an end means the end of that day."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"时间格式应为 年-月-日 或 年-月-日T时:分：{raw[:SHOWN]}") from None
    if end and len(raw) <= len("2026-12-31"):
        value += timedelta(days=1)
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


def _query(args: Any, tz: ZoneInfo) -> AuditQuery:
    texts = {name: (args.get(name) or "").strip()[:SHOWN] or None for name in TEXT_FILTERS}
    action = args.get("action") or None
    if action is not None and action not in A.ALL:
        raise InvalidInput("未知的操作类型")
    raw_page = (args.get("page") or "1").strip()
    if not raw_page.isdigit() or len(raw_page) > len(str(MAX_PAGE)):
        raise InvalidInput(f"页码应在 1 到 {MAX_PAGE} 之间")
    return AuditQuery(
        since=_moment(args.get("from", ""), tz, end=False),
        until=_moment(args.get("to", ""), tz, end=True),
        action=action,
        result=args.get("result") or None,
        page=int(raw_page),
        **texts,
    )


@blueprint.get("/audit", endpoint="log")
@page_staff_required
def log_page() -> Any:
    """The log, newest first, filtered; whether the chain holds and where it breaks. Every search is itself logged."""
    if g.staff.role != Role.AUDITOR:
        note(A.ACCESS_REFUSED, A.TARGET_ENDPOINT, request.endpoint, result="denied")
        abort(403, description="只有审计管理员可以查看审计日志。")
    tz = current_context().settings.tz
    session = db_session()
    error, found, wanted = None, None, AuditQuery()
    try:
        wanted = _query(request.args, tz)
        note(A.AUDIT_SEARCH, A.TARGET_ACCESS_LOG, detail={**wanted.filters(), "page": wanted.page})
        found = search(session, wanted)
    except InvalidInput as invalid:
        note(A.AUDIT_SEARCH, A.TARGET_ACCESS_LOG, result="failed", detail={"reason": "invalid"})
        error = invalid.message
    broken_at = verify_chain(session)
    broken = session.get(AccessLogEntry, broken_at) if broken_at is not None else None
    args: dict[str, Any] = {key: value for key, value in request.args.items() if key != "page" and value}
    return (
        render_template(
            "console/audit.html",
            found=found,
            wanted=wanted,
            error=error,
            form=request.args,
            broken=broken,
            actions=[(name, A.LABELS[name]) for name in A.ALL],
            labels=A.LABELS,
            results=A.RESULT_LABELS,
            retention_days=current_context().settings.retention_access_log_days,
            page_url=lambda page: url_for("console_audit.log", **args, page=page),
        ),
        400 if error else 200,
    )
