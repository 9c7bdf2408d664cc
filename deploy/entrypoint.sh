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

# prometheus_client's multiprocess files describe the processes of one run: a restarted container
# starts with an empty directory, or it would report the counters of processes long gone.
fresh_metrics() {
  if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    find "$PROMETHEUS_MULTIPROC_DIR" -mindepth 1 -delete
  fi
}

case "$role" in
  web)
    fresh_metrics
    exec gunicorn --config gunicorn.conf.py "$@" 'wsgi:create_app()'
    ;;
  worker)
    fresh_metrics
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
