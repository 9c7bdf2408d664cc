#!/usr/bin/env bash
# Before the suite: with CI=true, make sure the real PostgreSQL and Redis run (start them if they
# are down, fail if that does not work); install headless Chromium for the page tests when we may.
set -uo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_postgres() {
  command -v pg_ctlcluster >/dev/null || return 1
  for version in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  done
}

start_redis() {
  command -v redis-server >/dev/null || return 1
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null
}

wait_for() {
  for _ in $(seq 1 30); do up "$1" && return 0; sleep 0.5; done
  return 1
}

if [ "${CI:-}" = "true" ]; then
  up 5432 || { echo "test-setup: starting PostgreSQL"; start_postgres; }
  up 6379 || { echo "test-setup: starting Redis"; start_redis; }
  wait_for 5432 || { echo "test-setup: CI=true but PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }
  wait_for 6379 || { echo "test-setup: CI=true but Redis is not reachable on 127.0.0.1:6379" >&2; exit 1; }
fi

# Debian packages the page, sign and deploy tests use, each with the command (or check) that shows it is there.
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v zbarimg >/dev/null || missing+=(zbar-tools)
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-noto-cjk)
# PgBouncer in transaction pooling mode (tests/e2e/test_pgbouncer.py).
[ -x /usr/sbin/pgbouncer ] || command -v pgbouncer >/dev/null || missing+=(pgbouncer)
# nginx in front of two gunicorn instances (tests/deploy/test_nginx.py); pg_dump/pg_restore for the backup test.
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v pg_dump >/dev/null || missing+=(postgresql-client)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test-setup: installing ${missing[*]} (page, sign, pooler and deploy tests)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
      || { [ "${CI:-}" = "true" ] && { echo "test-setup: could not install ${missing[*]}" >&2; exit 1; }; }
  else
    echo "test-setup: missing ${missing[*]} and no root to install them; the tests that need them are skipped"
  fi
fi
exit 0
