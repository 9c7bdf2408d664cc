#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into an EMPTY database and an empty photo store. Usage:
#   set -a; . /etc/gongzhi/gongzhi.env; set +a      # DATABASE_URL, MEDIA_DIR (or STORAGE_URL) to restore into
#   scripts/restore.sh /var/backups/gongzhi/gongzhi-20261203T020000Z
# Stop the web and the workers first. It checks the backup's SHA256SUMS, refuses a database that already
# has tables and a photo directory that is not empty (restore never mixes two districts' data), then
# loads the dump (pg_restore) and unpacks the photos. With STORAGE_URL=s3://… the photos go back through
# `flask --app wsgi storage migrate --from file:///DIR --to STORAGE_URL`. Afterwards run `flask --app wsgi db upgrade` if the code is newer.
set -euo pipefail

backup="${1:?usage: scripts/restore.sh BACKUP_DIR}"
: "${DATABASE_URL:?DATABASE_URL is not set (the empty database to restore into)}"
pg_url="${DATABASE_URL/postgresql+psycopg:/postgresql:}"
storage="${STORAGE_URL:-file://${MEDIA_DIR:-}}"
flask="${FLASK:-flask}"
here="$(cd "$(dirname "$0")/.." && pwd)"

(cd "$backup" && sha256sum --check --quiet SHA256SUMS) || { echo "restore.sh: $backup is damaged (SHA256SUMS)" >&2; exit 1; }

tables="$(psql "$pg_url" --no-psqlrc --tuples-only --no-align \
  --command="select count(*) from pg_tables where schemaname = 'public'")"
if [ "$tables" != "0" ]; then
  echo "restore.sh: the database already has $tables tables; restore only into a new, empty database" >&2
  exit 1
fi

case "$storage" in
  file://?*)
    media="${storage#file://}"
    if [ -d "$media" ] && [ -n "$(ls -A "$media")" ]; then
      echo "restore.sh: $media is not empty; restore only into an empty photo directory" >&2
      exit 1
    fi
    ;;
  s3://*) ;;
  *) echo "restore.sh: set MEDIA_DIR (or STORAGE_URL) to the photo store to restore into" >&2; exit 2 ;;
esac

pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --dbname="$pg_url" "$backup/database.dump"

case "$storage" in
  file://*)
    mkdir -p "$media"
    tar --extract --gzip --file="$backup/media.tar.gz" --directory="$media" --no-same-owner
    ;;
  s3://*)
    unpacked="$(mktemp -d)"
    trap 'rm -rf "$unpacked"' EXIT
    tar --extract --gzip --file="$backup/media.tar.gz" --directory="$unpacked" --no-same-owner
    (cd "$here" && "$flask" --app wsgi storage migrate --from "file://$unpacked" --to "$storage")
    ;;
esac
echo "restored $backup"
