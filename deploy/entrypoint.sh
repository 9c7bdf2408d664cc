#!/bin/sh
# The image's entrypoint: its first argument picks the role, the rest is passed on.
#   web      gunicorn with gunicorn.conf.py (GUNICORN_BIND, WEB_CONCURRENCY, GUNICORN_THREADS)
#   worker   python -m worker (rq on every queue, its scheduler and the outbox poller)
#   migrate  flask --app wsgi db upgrade (run once per release, before the new web and workers)
#   check    python -m worker --check (the worker's health check)
#   shell    flask --app wsgi shell;  flask …  any other flask command (staff create, demo, …)
# Anything else runs as given (e.g. `bash`), so the image stays debuggable.
set -eu

role="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$role" in
  web)
    exec gunicorn --config gunicorn.conf.py "$@" 'wsgi:create_app()'
    ;;
  worker)
    exec python -m worker "$@"
    ;;
  migrate)
    exec flask --app wsgi db upgrade "$@"
    ;;
  check)
    exec python -m worker --check "$@"
    ;;
  shell)
    exec flask --app wsgi shell "$@"
    ;;
  flask)
    exec flask --app wsgi "$@"
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
