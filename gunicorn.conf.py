"""gunicorn's production settings, read by `gunicorn 'wsgi:create_app()'` from this directory."""

import multiprocessing
import os

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
