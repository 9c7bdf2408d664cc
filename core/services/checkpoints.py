"""Finding the checkpoint behind a scanned sign: a WeChat QR scene or the sign's URL."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Checkpoint

SCENE_PREFIX = "cp:"


def scene_for(checkpoint: Checkpoint) -> str:
    """The parametric-QR scene string of a checkpoint's sign."""
    return f"{SCENE_PREFIX}{checkpoint.code}"


def sign_url(public_base_url: str, checkpoint: Checkpoint) -> str:
    """The URL a checkpoint's sign encodes."""
    return f"{public_base_url.rstrip('/')}/q/{checkpoint.code}"


def checkpoint_for_code(session: Session, code: str) -> Checkpoint | None:
    if not code or len(code) > 64:
        return None
    return session.scalar(select(Checkpoint).where(Checkpoint.code == code))


def checkpoint_for_scene(session: Session, scene: str | None) -> Checkpoint | None:
    """The checkpoint of a QR scene `cp:<code>`; None for any other scene."""
    if not scene or not scene.startswith(SCENE_PREFIX):
        return None
    return checkpoint_for_code(session, scene.removeprefix(SCENE_PREFIX))


def checkpoint_for_url(session: Session, url: str | None, public_base_url: str) -> Checkpoint | None:
    """The checkpoint of a sign URL `PUBLIC_BASE_URL/q/<code>`; None for any other URL."""
    if not url:
        return None
    ours, scanned = urlsplit(public_base_url), urlsplit(url.strip())
    if (scanned.scheme, scanned.netloc) != (ours.scheme, ours.netloc):
        return None
    prefix = ours.path.rstrip("/") + "/q/"
    if not scanned.path.startswith(prefix):
        return None
    return checkpoint_for_code(session, scanned.path.removeprefix(prefix).strip("/"))
