"""Open311 requests as cases: the services to report, a checked request filed, the requests a query asks for.

The GeoReport forms are read, and its answers shaped, in web/public/open311; these take and return
plain values and models. A posted request becomes a case through submit_report (source open311).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from core.errors import InvalidInput, NotFound
from core.glossary import CaseSource, CaseStatus
from core.models import ApiKey, Case, Category
from core.models.base import utcnow
from core.services.intake import ReportInput, submit_report
from core.settings import Settings
from core.text import clean

# GET requests answers at most this many requests.
MAX_RESULTS = 1000
# The same key posting the same thing again within this long gets the first answer back.
DOUBLE_POST_WINDOW = timedelta(seconds=10)
CLOSED = frozenset({CaseStatus.CLOSED, CaseStatus.EVALUATED, CaseStatus.REJECTED, CaseStatus.DUPLICATE})


# --- services --------------------------------------------------------------------------------


def services(session: Session) -> list[Category]:
    """The sub-categories of the catalogue, in catalogue order: the services a client can report."""
    query = (
        select(Category)
        .where(Category.parent_id.is_not(None))
        .options(selectinload(Category.parent))
        .order_by(Category.sort_order, Category.id)
    )
    return list(session.scalars(query))


def find_service(session: Session, code: object) -> Category:
    """The sub-category `code`; NotFound for anything else (a major category is not a service)."""
    if not isinstance(code, str) or not code.strip():
        raise InvalidInput("缺少 service_code")
    code = code.strip()
    category = session.scalar(select(Category).where(Category.code == code, Category.parent_id.is_not(None)))
    if category is None:
        raise NotFound(f"没有编码为 {clean(code, 32)} 的服务（service_code）")
    return category


# --- POST requests ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PostedRequest:
    """A POST requests form, checked: the report it becomes, and what identifies a double post."""

    report: ReportInput
    fingerprint: str


def _intake_key(api_key: ApiKey, fingerprint: str, moment: datetime) -> str:
    window = int(moment.timestamp() // DOUBLE_POST_WINDOW.total_seconds())
    return f"open311:{api_key.id}:{fingerprint}:{window}"


def submit_request(
    session: Session,
    settings: Settings,
    api_key: ApiKey,
    posted: PostedRequest,
    now: datetime | None = None,
) -> tuple[Case, bool]:
    """POST requests: the checked request becomes a case (source open311) in the caller's transaction.

    Returns (case, created). The same key posting the same service, place, description and
    answers again within 10 seconds gets the first case back (created False) instead of a second
    one.
    """
    now = now or utcnow()
    # The key names the 10-second window the post falls in; the window before is looked up too.
    previous = _intake_key(api_key, posted.fingerprint, now - DOUBLE_POST_WINDOW)
    earlier = session.scalar(select(Case).where(Case.intake_key == previous))
    if earlier is not None and now - earlier.created_at < DOUBLE_POST_WINDOW:
        return earlier, False
    return submit_report(
        session,
        settings,
        resident=None,
        report=posted.report,
        source=CaseSource.OPEN311,
        intake_key=_intake_key(api_key, posted.fingerprint, now),
    )


# --- GET requests ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestQuery:
    """The filters of GET requests, checked. Numbers, when given, override all the others."""

    numbers: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    statuses: frozenset[str] = field(default_factory=frozenset)


def _loaded() -> Select[tuple[Case]]:
    return select(Case).options(
        selectinload(Case.category),
        selectinload(Case.checkpoint),
        selectinload(Case.grid),
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
