"""Notification jobs: the fake WeChat API's send paths, a runtime with other settings, an accepted case, its notes."""

from __future__ import annotations

from sqlalchemy import select

from core import case_loop
from core.glossary import CaseStatus
from core.models import Notification
from tests.support import factories
from worker import runtime
from worker.runtime import Runtime

CUSTOM = "/cgi-bin/message/custom/send"
TEMPLATE = "/cgi-bin/message/template/send"
TEMPLATES = (("default", "TPL_PROGRESS"), ("closed", "TPL_CLOSED"))


def configure(job_runtime, **changes):
    """Install a runtime like `job_runtime` with some settings changed; returns it."""
    settings = job_runtime.settings.replace(**changes)
    runtime.install(Runtime(settings=settings, database=job_runtime.database, redis=job_runtime.redis))
    return runtime.current()


def accepted_case_event(session, settings, people):
    """A case reported by the first of `people`, followed by all of them, and its acceptance."""
    case = factories.case(session, settings, reporter=people[0])
    for resident in people[1:]:
        case.followers.append(resident)
    event = case_loop.transition(session, case, CaseStatus.ACCEPTED, action="accept")
    session.commit()
    return case, event


def notes(session):
    session.expire_all()
    return session.scalars(select(Notification).order_by(Notification.id)).all()
