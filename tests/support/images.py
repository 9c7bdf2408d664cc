"""Test photos made with Pillow: with EXIF orientation and GPS, broken ones, and a decompression bomb."""

from __future__ import annotations

import io

from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112
# 31°47'N 117°18'E, near Hefei: where the default test photo says it was taken (WGS-84).
DEFAULT_GPS = (31 + 47 / 60, 117 + 18 / 60)


def _dms(degrees: float) -> tuple[float, float, float]:
    """Decimal degrees as EXIF's (degrees, minutes, seconds), seconds to 1/1000."""
    thousandths = round(abs(degrees) * 3600 * 1000)
    whole_seconds, rest = divmod(thousandths, 1000)
    minutes, seconds = divmod(whole_seconds, 60)
    return float(minutes // 60), float(minutes % 60), seconds + rest / 1000


def photo_with_exif(
    width: int = 4000, height: int = 3000, orientation: int = 6, gps: tuple[float, float] | None = DEFAULT_GPS
) -> bytes:
    """A JPEG whose EXIF says 'rotate 90°' and carries a camera model and a GPS position (lat, lng) if given."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    # A marker in the top-left corner, to see where it ends up after rotation.
    image.paste((0, 0, 255), (0, 0, width // 4, height // 4))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x0110] = "TestPhone 12"  # Model
    if gps is not None:
        lat, lng = gps
        exif.get_ifd(GPS_IFD).update(
            {1: "N" if lat >= 0 else "S", 2: _dms(lat), 3: "E" if lng >= 0 else "W", 4: _dms(lng)}
        )
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
