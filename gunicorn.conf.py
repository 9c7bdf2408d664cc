"""gunicorn's production settings, read by `gunicorn 'wsgi:create_app()'` from this directory."""

import multiprocessing
import os

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
# The reverse proxy in front logs requests; gunicorn logs only its own events.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")


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
