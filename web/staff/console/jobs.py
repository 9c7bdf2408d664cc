"""Console page 任务: whether the workers are alive, the outbox backlog, and jobs that failed for good.

Failed jobs come from rq's failed registries and can be retried. Only the district center sees it.
A job lands there after its last retry (worker.relay gives each job its retries and keeps it a month).
Without REDIS_URL jobs run on a thread of the app process and nothing is kept here; the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.results import Result

from core.glossary import Role
from core.models.base import utcnow
from core.services.vitals import Backlog, outbox_backlog
from web.context import current_context, db_session
from web.csrf import check_csrf
from web.staff.auth import page_staff_required
from worker.heartbeats import WorkerBeat, worker_beats
from worker.routes import QUEUES
from worker.runtime import JOB_SERIALIZER
from wxclient.redact import redact

blueprint = Blueprint("console_jobs", __name__, url_prefix="/console")
NAV = ("console_jobs.failed", "任务")
NAV_ROLES = frozenset({Role.DISTRICT_CENTER})
PER_QUEUE = 200  # the newest this many failed jobs of each queue are listed
ARGS_SHOWN = 160  # characters of a job's arguments shown in the list


@dataclass(frozen=True)
class FailedJob:
    """One failed job as the page shows it."""

    queue: str
    id: str
    function: str
    arguments: str
    failed_at: datetime | None
    traceback: str

    @property
    def error(self) -> str:
        """The traceback's last line: the exception and its message."""
        lines = [line for line in self.traceback.strip().splitlines() if line.strip()]
        return lines[-1].strip() if lines else "（没有记录错误信息）"


def _arguments(job: Job) -> str:
    """The job's arguments in short; unreadable ones (a renamed class, say) are said to be so."""
    try:
        parts = [repr(a) for a in job.args] + [f"{k}={v!r}" for k, v in job.kwargs.items()]
    except Exception:  # decoding someone else's data may raise anything
        return "（参数无法读取）"
    text = redact(", ".join(parts))
    return text if len(text) <= ARGS_SHOWN else text[: ARGS_SHOWN - 1] + "…"


def _failure(job: Job) -> tuple[datetime | None, str]:
    """When the job last failed and its traceback, from its latest result (rq keeps them per run)."""
    result = job.latest_result()
    if result is not None and result.type == Result.Type.FAILED:
        return result.created_at, redact(result.exc_string or "")
    # A job put in the registry by hand (or by an older rq) carries no result, only the job's fields.
    return job.ended_at, redact(getattr(job, "_exc_info", None) or "")


def failed_jobs(redis: Any) -> tuple[list[FailedJob], int]:
    """The failed jobs of every queue, newest failure first (at most PER_QUEUE per queue), and how many there are."""
    found = []
    total = 0
    for name in QUEUES:
        registry = Queue(name, connection=redis, serializer=JOB_SERIALIZER).failed_job_registry
        # Every job gets the same failure TTL, so the latest expiry is the latest failure (to the second).
        ids = registry.get_job_ids(0, PER_QUEUE - 1, desc=True)
        total += registry.count
        for job in Job.fetch_many(ids, connection=redis, serializer=JOB_SERIALIZER):
            if job is None:  # expired between the two reads
                continue
            failed_at, traceback = _failure(job)
            found.append(
                FailedJob(
                    queue=name,
                    id=job.id,
                    function=job.func_name or "?",
                    arguments=_arguments(job),
                    failed_at=failed_at,
                    traceback=traceback,
                )
            )
    oldest = datetime.min.replace(tzinfo=current_context().settings.tz)
    return sorted(found, key=lambda j: j.failed_at or oldest, reverse=True), total


# An outbox message older than this means the relay is stuck (it hands messages on within seconds).
BACKLOG_WARN_SECONDS = 300


def ago(seconds: float | None) -> str:
    """How long ago, in words a dispatcher reads at a glance."""
    if seconds is None:
        return "从未"
    if seconds < 60:
        return f"{int(seconds)} 秒前"
    if seconds < 3600:
        return f"{int(seconds // 60)} 分钟前"
    if seconds < 86400:
        return f"{int(seconds // 3600)} 小时前"
    return f"{int(seconds // 86400)} 天前"


def waited(seconds: float) -> str:
    return ago(seconds).removesuffix("前")


def _district_center_only() -> None:
    if g.staff.role != Role.DISTRICT_CENTER:
        abort(403, description="只有区网格中心可以查看后台任务。")


@blueprint.get("/jobs", endpoint="failed")
@page_staff_required
def failed_page() -> Any:
    """The workers' heartbeats, the outbox backlog, and the list of failed jobs with a retry button each."""
    _district_center_only()
    context = current_context()
    backlog: Backlog = outbox_backlog(db_session(), utcnow())
    shown = {
        "backlog": backlog,
        "backlog_stuck": backlog.oldest_age_seconds > BACKLOG_WARN_SECONDS,
        "tz": context.settings.tz,
        "silent_after": context.settings.worker_silent_seconds,
        "ago": ago,
        "waited": waited,
    }
    if not context.settings.redis_url:
        return render_template(
            "console/jobs.html", embedded=True, jobs=[], total=0, unavailable=False, workers=[], **shown
        )
    try:
        jobs, total = failed_jobs(context.redis)
        workers: list[WorkerBeat] = worker_beats(context.redis, context.settings.worker_silent_seconds)
    except RedisError:
        page = render_template(
            "console/jobs.html", embedded=False, jobs=[], total=0, unavailable=True, workers=[], **shown
        )
        return page, 503
    return render_template(
        "console/jobs.html",
        embedded=False,
        jobs=jobs,
        total=total,
        unavailable=False,
        per_queue=PER_QUEUE,
        workers=workers,
        **shown,
    )


@blueprint.post("/jobs/retry", endpoint="retry")
@page_staff_required
def retry() -> Any:
    """Put one failed job (form fields queue, job_id) or all of them (all=1) back on their queues."""
    _district_center_only()
    check_csrf()
    context = current_context()
    if not context.settings.redis_url:
        abort(404)
    try:
        if request.form.get("all"):
            moved = 0
            for name in QUEUES:
                registry = Queue(name, connection=context.redis, serializer=JOB_SERIALIZER).failed_job_registry
                for job_id in registry.get_job_ids():
                    try:
                        registry.requeue(job_id)
                        moved += 1
                    except (InvalidJobOperation, NoSuchJobError):
                        pass  # retried by someone else meanwhile, or expired
            flash(f"已将 {moved} 个失败任务重新排队。", "ok")
        else:
            name, job_id = request.form.get("queue", ""), request.form.get("job_id", "")
            if name not in QUEUES:
                abort(404)
            try:
                Queue(name, connection=context.redis, serializer=JOB_SERIALIZER).failed_job_registry.requeue(job_id)
            except (InvalidJobOperation, NoSuchJobError):
                flash("这个任务已不在失败列表中（可能已被重试或已过期）。", "error")
            else:
                flash(f"任务 {job_id} 已重新排队。", "ok")
    except RedisError:
        flash("暂时无法连接任务队列（Redis），请稍后再试。", "error")
    return redirect(url_for(".failed"), code=303)
