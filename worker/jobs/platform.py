"""Push an accepted case to the district's own governance platform (docs/platform-api.md).

POST PLATFORM_URL, a signed JSON body with an Idempotency-Key header; the platform keeps one case
per key, so a push that is retried after it may already have arrived is harmless. A network
failure, a timeout, 408, 429 or a 5xx answer raises, so the job is retried after each of
JOB_RETRY_INTERVALS; every try is counted on the PlatformPush row with its error, and after the
last one the row is `failed` (and the job stays in rq's failed registry) for the console to show
and retry. Any other 4xx will not change on retrying: the row is failed at once.
"""

from __future__ import annotations

import logging
import time

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Case, PlatformPush
from core.models.base import utcnow
from core.services import platform
from worker import runtime

log = logging.getLogger(__name__)

RETRYABLE = {408, 425, 429}
ERROR_MAX = 500


class PlatformUnavailable(Exception):
    """The platform could not take the push now; rq retries the job."""


def _answer_text(response: requests.Response) -> str:
    return response.text[:200].replace("\n", " ")


def _external_id(response: requests.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    value = body.get("external_id") if isinstance(body, dict) else None
    return str(value)[:64] if value not in (None, "") else None


def push_case(case_id: int, event_id: int | None = None, attempts_before: int = 0) -> str:
    """Send case `case_id` to PLATFORM_URL once; returns "sent", "failed", "off" or "missing".

    `attempts_before` is the row's count of tries when this round was queued (a retry from the
    console starts a new round of 1 + len(JOB_RETRY_INTERVALS) tries).
    """
    rt = runtime.current()
    settings = rt.settings
    if not settings.platform_url or not settings.platform_secret:
        if settings.platform_url:
            log.warning("PLATFORM_URL is set but PLATFORM_SECRET is not: case %s not pushed (never unsigned)", case_id)
        return "off"
    tries = 1 + len(settings.job_retry_intervals)
    with rt.database.session() as session:
        case = session.get(Case, case_id)
        if case is None:
            return "missing"
        push = platform.push_for(session, case)
        session.commit()
        push = session.scalars(select(PlatformPush).where(PlatformPush.id == push.id).with_for_update()).one()
        if push.status == platform.SENT:
            session.commit()
            return platform.SENT
        push.attempts += 1
        push.status = platform.PENDING
        session.commit()
        last_try = push.attempts - attempts_before >= tries

        photos = platform.photo_links(session, case, settings)
        body = platform.canonical_json(
            platform.push_body(
                case,
                push.idempotency_key,
                settings.tz,
                photos,
                reference=platform.shared_reference(session, settings, case),
            )
        )
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            platform.IDEMPOTENCY_HEADER: push.idempotency_key,
            **platform.signed_headers(settings.platform_secret, int(time.time()), body),
        }
        try:
            response = requests.post(
                settings.platform_url, data=body, headers=headers, timeout=settings.platform_timeout_seconds
            )
        except requests.RequestException as exc:
            _failed(session, push, f"无法连接对接平台：{type(exc).__name__}: {exc}", final=last_try)
            raise PlatformUnavailable(str(exc)) from exc
        if 200 <= response.status_code < 300:
            push.status = platform.SENT
            push.sent_at = utcnow()
            push.external_id = _external_id(response) or push.external_id
            push.last_error = None
            session.commit()
            log.info("case %s pushed to the platform (%s)", case.number, push.idempotency_key)
            return platform.SENT
        error = f"对接平台返回 HTTP {response.status_code}：{_answer_text(response)}"
        if response.status_code >= 500 or response.status_code in RETRYABLE:
            _failed(session, push, error, final=last_try)
            raise PlatformUnavailable(error)
        # Our request itself was refused: sending the same body again cannot help, a person must look.
        _failed(session, push, error, final=True)
        return platform.FAILED


def _failed(session: Session, push: PlatformPush, error: str, *, final: bool) -> None:
    push.last_error = error[:ERROR_MAX]
    if final:
        push.status = platform.FAILED
        log.error("push %s failed for good: %s", push.idempotency_key, error)
    else:
        log.warning("push %s failed, will retry: %s", push.idempotency_key, error)
    session.commit()
