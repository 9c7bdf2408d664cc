"""`/metrics` in Prometheus text: this process's requests, and what PostgreSQL and Redis hold, read at scrape time.

Request counts and latencies are counted where they happen; under gunicorn every worker process
writes them to PROMETHEUS_MULTIPROC_DIR and any one of them answers for all (gunicorn.conf.py).
Everything the worker does — cases it creates, notifications it sends or fails — is counted from
the database rows at scrape time instead: rq runs jobs in forks and on other machines, and the
rows are the record that survives both. Those totals are the whole installation's, so every web
instance reports the same numbers (aggregate them with max, not sum).
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import REGISTRY as PROCESS_REGISTRY
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from redis.exceptions import RedisError
from rq import Queue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from core.context import AppContext
from core.models.base import utcnow
from core.services.vitals import read_vitals
from web.context import current_context
from worker.heartbeats import worker_beats
from worker.routes import QUEUES
from worker.runtime import JOB_SERIALIZER

log = logging.getLogger(__name__)
blueprint = Blueprint("ops_metrics", __name__)

REQUESTS = Counter(
    "gongzhi_http_requests", "HTTP requests, by route pattern, method and status", ["route", "method", "status"]
)
REQUEST_SECONDS = Histogram(
    "gongzhi_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern and method",
    ["route", "method"],
)
LOOPBACK = frozenset({"127.0.0.1", "::1"})
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class StateCollector(Collector):
    """What the database and Redis hold, read on every scrape (never counted inside a job)."""

    def __init__(self, context: AppContext) -> None:
        self.context = context

    def collect(self) -> Iterator[Any]:
        up = GaugeMetricFamily("gongzhi_scrape_source_up", "Whether a source answered this scrape", labels=["source"])
        try:
            yield from self._database()
            up.add_metric(["database"], 1)
        except SQLAlchemyError as exc:
            log.warning("metrics: database not readable: %s", type(exc).__name__)
            up.add_metric(["database"], 0)
        if self.context.settings.redis_url:
            try:
                yield from self._redis()
                up.add_metric(["redis"], 1)
            except RedisError as exc:
                log.warning("metrics: Redis not readable: %s", type(exc).__name__)
                up.add_metric(["redis"], 0)
        yield up

    def _database(self) -> list[Any]:
        with self.context.database.session() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("SET LOCAL statement_timeout = 2000"))  # a scrape must not pile up
            vitals = read_vitals(session, utcnow())
        cases = CounterMetricFamily("gongzhi_cases_created", "Cases created, by source", labels=["source"])
        for source, count in sorted(vitals.cases_by_source.items()):
            cases.add_metric([source], count)
        sent = CounterMetricFamily("gongzhi_notifications_sent", "Notifications sent, by channel", labels=["channel"])
        failed = CounterMetricFamily("gongzhi_notifications_failed", "Notifications failed", labels=["channel"])
        for (channel, status), count in sorted(vitals.notifications.items()):
            (sent if status == "sent" else failed).add_metric([channel], count)
        return [
            cases,
            sent,
            failed,
            CounterMetricFamily(
                "gongzhi_deadline_warnings", "Cases warned at 80% of their time limit", value=vitals.deadline_warnings
            ),
            CounterMetricFamily("gongzhi_cases_marked_overdue", "Cases marked overdue", value=vitals.marked_overdue),
            GaugeMetricFamily("gongzhi_cases_overdue", "Cases handled past their deadline", value=vitals.overdue_open),
            GaugeMetricFamily("gongzhi_outbox_pending", "Outbox messages not yet relayed", value=vitals.outbox_pending),
            GaugeMetricFamily(
                "gongzhi_outbox_oldest_pending_age_seconds",
                "Age of the oldest outbox message not yet relayed (0: none)",
                value=vitals.outbox_oldest_age_seconds,
            ),
        ]

    def _redis(self) -> list[Any]:
        redis = self.context.redis
        depth = GaugeMetricFamily("gongzhi_queue_jobs", "Jobs waiting on each rq queue", labels=["queue"])
        failed = GaugeMetricFamily("gongzhi_queue_failed_jobs", "Jobs failed for good, by queue", labels=["queue"])
        for name in QUEUES:
            queue = Queue(name, connection=redis, serializer=JOB_SERIALIZER)
            depth.add_metric([name], queue.count)
            failed.add_metric([name], queue.failed_job_registry.count)
        workers = GaugeMetricFamily("gongzhi_workers", "rq workers, alive or silent", labels=["state"])
        beats = worker_beats(redis, self.context.settings.worker_silent_seconds)
        workers.add_metric(["alive"], sum(1 for beat in beats if not beat.silent))
        workers.add_metric(["silent"], sum(1 for beat in beats if beat.silent))
        return [depth, failed, workers]


def _process_metrics() -> bytes:
    """This process's counters, or under gunicorn every worker process's, summed."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(PROCESS_REGISTRY)


def _allowed() -> bool:
    token = current_context().settings.metrics_token
    if token:
        sent = request.headers.get("Authorization", "")
        return sent.startswith("Bearer ") and hmac.compare_digest(sent.removeprefix("Bearer ").encode(), token.encode())
    return request.remote_addr in LOOPBACK


@blueprint.get("/metrics")
def metrics() -> Response:
    """Prometheus text; with METRICS_TOKEN set only for its bearer, else only for loopback clients."""
    if not _allowed():
        abort(403)
    state: CollectorRegistry | None = current_app.extensions.get("gongzhi.metrics")
    if state is None:
        state = current_app.extensions["gongzhi.metrics"] = CollectorRegistry()
        state.register(StateCollector(current_context()))
    return Response(_process_metrics() + generate_latest(state), content_type=CONTENT_TYPE)
