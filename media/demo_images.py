"""Demo photos: street scenes drawn with Pillow, cleaned and scaled like a resident's photo, stored once each."""

from __future__ import annotations

import hashlib
import io
import random

from PIL import Image, ImageDraw

from core.services.demo_month import StoredImage
from media.imaging import process_photo
from media.storage import Store

WIDTH, HEIGHT = 1024, 768
# (sky, ground, thing) colours per scene; the thing drawn is a lamp post, a bin, bikes or a crack.
PALETTE = (
    ((186, 214, 235), (120, 120, 118), (60, 60, 64)),
    ((200, 220, 240), (96, 128, 80), (30, 110, 60)),
    ((170, 190, 215), (140, 132, 120), (200, 60, 40)),
    ((220, 225, 230), (110, 110, 110), (40, 80, 160)),
)


class DemoPhotos:
    """Draws scene n the first time it is asked for, stores it under photos/demo/ in the store, then reuses it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._made: dict[int, StoredImage] = {}

    def __call__(self, scene: int) -> StoredImage:
        if scene not in self._made:
            self._made[scene] = self._store(scene)
        return self._made[scene]

    def _store(self, scene: int) -> StoredImage:
        processed = process_photo(draw_scene(scene))
        digest = hashlib.sha256(processed.jpeg).hexdigest()
        base = f"photos/demo/scene-{scene:02d}-{digest[:12]}"
        return StoredImage(
            path=self.store.put(f"{base}.jpg", processed.jpeg, "image/jpeg"),
            thumb_path=self.store.put(f"{base}-thumb.jpg", processed.thumbnail, "image/jpeg"),
            width=processed.width,
            height=processed.height,
            sha256=digest,
        )


def draw_scene(scene: int) -> bytes:
    """A JPEG of a simple street scene, different for each `scene` and the same every time."""
    rng = random.Random(scene)
    sky, ground, thing = PALETTE[scene % len(PALETTE)]
    image = Image.new("RGB", (WIDTH, HEIGHT), sky)
    draw = ImageDraw.Draw(image)
    horizon = rng.randint(HEIGHT // 3, HEIGHT // 2)
    draw.rectangle((0, horizon, WIDTH, HEIGHT), fill=ground)
    for _ in range(rng.randint(2, 4)):  # buildings on the horizon
        left = rng.randint(0, WIDTH - 200)
        draw.rectangle(
            (left, horizon - rng.randint(80, 220), left + rng.randint(120, 260), horizon), fill=(150, 150, 160)
        )
    kind = scene % 4
    x = rng.randint(200, WIDTH - 200)
    if kind == 0:  # a street lamp
        draw.rectangle((x, horizon - 160, x + 12, HEIGHT - 120), fill=thing)
        draw.ellipse((x - 30, horizon - 190, x + 42, horizon - 150), fill=(250, 240, 180))
    elif kind == 1:  # an overflowing bin
        draw.rectangle((x, HEIGHT - 320, x + 160, HEIGHT - 120), fill=thing)
        for _ in range(12):
            bx, by = x + rng.randint(-80, 220), HEIGHT - rng.randint(90, 140)
            draw.ellipse((bx, by, bx + 40, by + 28), fill=(rng.randint(60, 230), rng.randint(60, 230), 90))
    elif kind == 2:  # bikes blocking a lane
        for i in range(4):
            cx = x - 150 + i * 90
            draw.ellipse((cx, HEIGHT - 220, cx + 70, HEIGHT - 150), outline=thing, width=8)
            draw.ellipse((cx + 60, HEIGHT - 220, cx + 130, HEIGHT - 150), outline=thing, width=8)
    else:  # a crack in the pavement
        points = [(rng.randint(0, 100), HEIGHT - 60)]
        for _ in range(8):
            points.append((points[-1][0] + rng.randint(60, 130), points[-1][1] - rng.randint(-30, 40)))
        draw.line(points, fill=(40, 40, 40), width=10)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()
