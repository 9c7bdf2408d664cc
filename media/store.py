"""Files under MEDIA_DIR, written so that a reader never sees half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def save(media_dir: str, relative: str, data: bytes) -> str:
    """Write `data` at MEDIA_DIR/`relative` atomically; returns `relative`."""
    target = Path(media_dir) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise
    return relative
