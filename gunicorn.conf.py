"""gunicorn's production settings, read by `gunicorn 'wsgi:create_app()'` from this directory."""

import multiprocessing
import os
import tempfile
from pathlib import Path

from core import logs

# Serving through gunicorn is production unless APP_ENV says otherwise: production refuses the
# development keys, with which anyone could sign a staff token.
os.environ.setdefault("APP_ENV", "production")

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Requests spend much of their time waiting on PostgreSQL, so a few threads per process keep the
# cores busy; processes beyond the cores only add memory.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# WeChat gives a callback 5 s; a request still running after 30 s is stuck, not slow.
timeout = 30
graceful_timeout = 20
keepalive = 5
# Every line on stdout: gunicorn's own, the access log and the app's, JSON unless LOG_FORMAT=text
# (core/logs.py). The access log names the route pattern and request id, never the raw path
# (tracking and media links carry tokens) nor the client's address.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
access_log_format = logs.ACCESS_FORMAT
logconfig_dict = logs.gunicorn_logconfig(os.environ.get("LOG_FORMAT", "json") != "text", loglevel.upper())

# Prometheus counters of every worker process meet in one directory, so that whichever process
# answers /metrics answers for all; a fresh one per start unless the operator names one.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="gongzhi-metrics-")


def on_starting(server):
    """Check the settings once, in the master, so a service that cannot start says why and stops
    (a worker failing at boot would only be started again, and again)."""
    from core.errors import ConfigError
    from core.settings import Settings

    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        raise SystemExit(f"共治 cannot start: {exc.message}") from None
    if not settings.redis_url and server.cfg.workers > 1:
        # The embedded default runs jobs on a thread of each process: several would each take the
        # same outbox rows, and their in-process Redis stand-ins share no rate limits or replay marks.
        raise SystemExit(
            f"共治 cannot start: REDIS_URL is not set, so jobs run inside the app process, which allows one "
            f"process only; set REDIS_URL and run `python -m worker`, or WEB_CONCURRENCY=1 "
            f"(now {server.cfg.workers})"
        )
    # Counts left by an earlier run would be added to this one's.
    metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in metrics_dir.glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    """A worker process that ended leaves its counters to the others; its gauges go with it."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
