"""Which job runs each outbox topic, on which queue."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from core import outbox
from core.models import OutboxMessage


@dataclass(frozen=True)
class Route:
    """Where an outbox topic's work goes: the rq queue, and the job function."""

    queue: str
    # Dotted path, so that rq and the embedded runner find the same function. An outbox row stores
    # only its topic (this table names the job when the row is relayed); rq stores the path itself.
    job: str
    # Seconds before rq kills a run and retries it. rq also takes a job run inside the worker
    # (worker/lanes.py) for abandoned only this long plus a minute after its worker died, so those
    # jobs, whose calls time out within seconds, get a short one; a photo's decoding may take long.
    timeout: int = 60


ROUTES: dict[str, Route] = {
    outbox.PHOTO_FETCH: Route("media", "worker.jobs.photos.fetch_photo", timeout=120),
    outbox.ATTACHMENT_FETCH: Route("media", "worker.jobs.attachments.fetch_attachment", timeout=120),
    outbox.GRANT_PHOTO_PROCESS: Route("media", "worker.jobs.photos.process_grant_photo", timeout=120),
    outbox.CASE_STATUS_CHANGED: Route("notify", "worker.jobs.notify.notify_case_event"),
    outbox.CASE_ASSIGNED: Route("notify", "worker.jobs.deadlines.notify_assigned"),
    outbox.CASE_DEADLINE_WARNING: Route("notify", "worker.jobs.deadlines.notify_deadline_warning"),
    outbox.CASE_OVERDUE: Route("notify", "worker.jobs.deadlines.notify_overdue"),
    outbox.GRANT_STATUS_CHANGED: Route("notify", "worker.jobs.grants.notify_grant_event"),
    outbox.GRANT_REPORT_DUE: Route("notify", "worker.jobs.grants.notify_grant_event"),
    outbox.GRANT_REPORT_LATE: Route("notify", "worker.jobs.grants.notify_report_late"),
    outbox.CASE_PLATFORM_PUSH: Route("default", "worker.jobs.platform.push_case"),
    outbox.MEDIA_DELETE: Route("media", "worker.jobs.privacy.delete_files"),
}

QUEUES = ("notify", "media", "default")


def job_id(message: OutboxMessage) -> str:
    """One rq job per outbox row: relaying a row twice overwrites, never doubles, its job."""
    return f"outbox-{message.id}"


def route_for(message: OutboxMessage) -> Route:
    try:
        return ROUTES[message.topic]
    except KeyError:
        raise LookupError(f"no job for outbox topic {message.topic!r}") from None


def preload_jobs() -> None:
    """Import every job's module and Pillow's image plugins now, so forked work horses do not each
    pay for the imports (rq runs each job in a fresh fork of the worker)."""
    from PIL import Image

    Image.init()
    for route in ROUTES.values():
        importlib.import_module(route.job.rsplit(".", 1)[0])
