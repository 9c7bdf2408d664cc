"""Privacy jobs: deleting the media files erasure and retention took out of their rows, and the daily purge."""

from __future__ import annotations

import logging
from pathlib import Path

from core.privacy.retention import clear_positions, purge
from worker import runtime

log = logging.getLogger(__name__)


def remove_file(media_dir: str, relative: str) -> bool:
    """Delete one stored file (relative to MEDIA_DIR); False when it was not there. The one place files
    are deleted for privacy, so that a storage other than the local disk is one change here."""
    root = Path(media_dir).resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or target == root:
        raise ValueError("not a path under MEDIA_DIR")
    if not target.is_file():
        return False
    target.unlink(missing_ok=True)
    return True


def delete_files(paths: list[str]) -> int:
    """Delete `paths` under MEDIA_DIR; idempotent (a file already gone is skipped). How many went."""
    rt = runtime.current()
    deleted = sum(1 for relative in paths if remove_file(rt.settings.media_dir, relative))
    log.info("privacy: deleted %d of %d media files", deleted, len(paths))
    return deleted


def purge_daily() -> dict[str, int]:
    """The daily retention purge (core/privacy/retention.py), committed; its counts."""
    rt = runtime.current()
    with rt.database.session() as session:
        report = purge(session, rt.settings)
        session.commit()
    log.info("privacy purge: %s", report)
    return vars(report)


def clear_old_positions() -> int:
    """Residents' last positions older than 30 minutes are forgotten (every few minutes, between purges)."""
    rt = runtime.current()
    with rt.database.session() as session:
        cleared = clear_positions(session)
        session.commit()
    return cleared
