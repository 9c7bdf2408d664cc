"""The upload sweep: files under MEDIA_DIR/uploads/ that no row refers to and older than an hour are deleted.

A request that fails after keeping its uploads (a crash, a lost database), or a worker killed between
committing a clean copy and removing the original, leaves such files behind. The sweep runs from the
cron (worker/cron.py); it is idempotent — a second run finds nothing more — and logs each deletion.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from core.services import uploads
from worker import runtime

log = logging.getLogger(__name__)


def sweep_uploads(now: float | None = None) -> list[str]:
    """Delete the orphaned uploads older than ORPHAN_AGE_SECONDS; the paths deleted, relative to MEDIA_DIR."""
    rt = runtime.current()
    media = Path(rt.settings.media_dir)
    root = media / uploads.UPLOAD_DIR
    if not root.is_dir():
        return []
    cutoff = (time.time() if now is None else now) - uploads.ORPHAN_AGE_SECONDS
    old: dict[str, Path] = {}
    for path in root.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime < cutoff:
                old[path.relative_to(media).as_posix()] = path
        except FileNotFoundError:  # removed meanwhile (the photo job, another sweep)
            continue
    if not old:
        return []
    with rt.database.session() as session:
        kept = uploads.referenced(session, old)
    deleted = []
    for relative, path in sorted(old.items()):
        if relative in kept:
            continue
        path.unlink(missing_ok=True)
        log.info("upload sweep: deleted %s (no row refers to it)", relative)
        deleted.append(relative)
    return deleted
