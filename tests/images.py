"""Test photos made with Pillow: with EXIF orientation and GPS, broken ones, and a decompression bomb."""

from __future__ import annotations

import io

from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def photo_with_exif(width: int = 4000, height: int = 3000, orientation: int = 6) -> bytes:
    """A JPEG whose EXIF says 'rotate 90°' and carries a GPS position and a camera model."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    # A marker in the top-left corner, to see where it ends up after rotation.
    image.paste((0, 0, 255), (0, 0, width // 4, height // 4))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x0110] = "TestPhone 12"  # Model
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (31.0, 47.0, 0.0), 3: "E", 4: (117.0, 18.0, 0.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=90, comment=b"secret comment")
    return out.getvalue()


def small_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (64, 48), (0, 128, 0, 128)).save(out, "PNG")
    return out.getvalue()


def decompression_bomb() -> bytes:
    """A tiny PNG that claims 30000 × 30000 pixels."""
    out = io.BytesIO()
    Image.new("1", (30000, 30000)).save(out, "PNG")
    return out.getvalue()


def truncated_jpeg() -> bytes:
    return photo_with_exif(800, 600)[:5000]
