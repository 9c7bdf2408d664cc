#!/usr/bin/env bash
# Back up 共治: the PostgreSQL database (pg_dump, custom format) and the photo store, together, into
# one new directory DEST/gongzhi-<UTC time>/ with a SHA256SUMS file. Usage:
#   set -a; . /etc/gongzhi/gongzhi.env; set +a      # DATABASE_URL, MEDIA_DIR (or STORAGE_URL)
#   scripts/backup.sh /var/backups/gongzhi
# The database is dumped first and the photos copied after it: a photo file is written before its row
# is committed, so every photo the dump names is already on disk when the copy starts (files newer
# than the dump are harmless extras). With STORAGE_URL=s3://… the photos are exported through the
# storage command (`flask --app wsgi storage migrate --to file:///DIR`) instead of copying MEDIA_DIR.
# Prints the backup's directory on its last line. Restore with scripts/restore.sh.
set -euo pipefail

dest="${1:?usage: scripts/backup.sh DEST_DIR}"
: "${DATABASE_URL:?DATABASE_URL is not set (the database to back up)}"
case "$DATABASE_URL" in
  postgresql://* | postgresql+psycopg://* | postgres://*) ;;
  *) echo "backup.sh: DATABASE_URL must be PostgreSQL (an SQLite file is backed up by copying it)" >&2; exit 2 ;;
esac
# libpq does not know SQLAlchemy's driver suffix.
pg_url="${DATABASE_URL/postgresql+psycopg:/postgresql:}"
storage="${STORAGE_URL:-file://${MEDIA_DIR:-}}"
flask="${FLASK:-flask}"
here="$(cd "$(dirname "$0")/.." && pwd)"

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
target="$dest/gongzhi-$stamp"
mkdir -p "$dest"
mkdir "$target"  # fails if it exists: a backup never overwrites another
chmod 700 "$target"
trap 'echo "backup.sh: failed; removing the partial $target" >&2; rm -rf "$target"' ERR

pg_dump --format=custom --no-owner --no-privileges --file="$target/database.dump" "$pg_url"

case "$storage" in
  file://?*)
    media="${storage#file://}"
    [ -d "$media" ] || { echo "backup.sh: the photo directory $media does not exist" >&2; false; }
    tar --create --gzip --file="$target/media.tar.gz" --directory="$media" --exclude='.tmp-*' .
    ;;
  s3://*)
    (cd "$here" && "$flask" --app wsgi storage migrate --to "file://$target/media")
    tar --create --gzip --file="$target/media.tar.gz" --directory="$target/media" .
    rm -rf "$target/media"
    ;;
  *)
    echo "backup.sh: set MEDIA_DIR (or STORAGE_URL) to the photo store to back up" >&2
    false
    ;;
esac

(cd "$target" && sha256sum database.dump media.tar.gz > SHA256SUMS)
trap - ERR
echo "$target"
