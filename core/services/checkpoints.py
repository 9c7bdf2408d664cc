"""Checkpoints behind scanned signs: public codes, sign URLs, QR scenes, and what a scanned code means."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from core.codes import Verdict, judge, make_code, parse_code
from core.models import Checkpoint
from core.settings import Settings

SCENE_PREFIX = "cp:"


@dataclass(frozen=True)
class Scanned:
    """What a scanned code turned out to be; `checkpoint` is set unless the code is forged."""

    verdict: Verdict
    checkpoint: Checkpoint | None = None

    @property
    def valid(self) -> bool:
        return self.verdict is Verdict.VALID


FORGED = Scanned(Verdict.FORGED)


def public_code(settings: Settings, checkpoint: Checkpoint) -> str:
    return make_code(settings.checkpoint_keys[0], checkpoint.id, checkpoint.key_version)


def sign_url(settings: Settings, checkpoint: Checkpoint) -> str:
    """The URL a checkpoint's sign encodes: PUBLIC_BASE_URL/q/<public code>."""
    return f"{settings.public_base_url.rstrip('/')}/q/{public_code(settings, checkpoint)}"


def scene_for(settings: Settings, checkpoint: Checkpoint) -> str:
    """The official account's parametric-QR scene for a checkpoint: cp:<public code>."""
    return f"{SCENE_PREFIX}{public_code(settings, checkpoint)}"


def resolve_code(session: Session, settings: Settings, code: str | None) -> Scanned:
    """Whether `code` opens a checkpoint, belongs to a replaced sign, or is forged."""
    parsed = next(filter(None, (parse_code(key, code or "") for key in settings.checkpoint_keys)), None)
    checkpoint = session.get(Checkpoint, parsed.checkpoint_id) if parsed else None
    verdict = judge(parsed, checkpoint.key_version if checkpoint else None)
    return FORGED if verdict is Verdict.FORGED else Scanned(verdict, checkpoint)


def resolve_scene(session: Session, settings: Settings, scene: str | None) -> Scanned | None:
    """The checkpoint of a QR scene `cp:<code>`; None for a scene that is not a checkpoint's."""
    if not scene or not scene.startswith(SCENE_PREFIX):
        return None
    return resolve_code(session, settings, scene.removeprefix(SCENE_PREFIX))


def resolve_url(session: Session, settings: Settings, url: str | None) -> Scanned:
    """The checkpoint of a sign URL; forged for any URL that is not one of our signs."""
    ours, scanned = urlsplit(settings.public_base_url), urlsplit((url or "").strip())
    prefix = ours.path.rstrip("/") + "/q/"
    if (scanned.scheme, scanned.netloc) != (ours.scheme, ours.netloc) or not scanned.path.startswith(prefix):
        return FORGED
    return resolve_code(session, settings, scanned.path.removeprefix(prefix).strip("/"))
