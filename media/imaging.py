"""Photo processing with Pillow: verify, upright, strip every bit of metadata, bound the size, thumbnail."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_SIDE = 2048
THUMB_SIDE = 320
MAX_PIXELS = 60_000_000  # far above any phone photo; bigger is a decompression bomb
# The most pixels the request path decodes to check an upload: a JPEG at an eighth of its size fits
# (60 megapixels decode to under one); any other format is decoded there only when this small, and
# otherwise checked from its header and structure (Image.verify) and decoded in full by the worker.
CHECK_PIXEL_BUDGET = 1_000_000
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "MPO"}  # MPO: what many phones call a JPEG
JPEG_QUALITY = 85
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
GPS_IFD = 0x8825
# GPS IFD tags: latitude reference (N/S) and value, longitude reference (E/W) and value.
GPS_LAT_REF, GPS_LAT, GPS_LNG_REF, GPS_LNG = 1, 2, 3, 4


class ImageRejected(ValueError):
    """The bytes are not a photo we accept; the message is fit for a resident."""


@dataclass(frozen=True)
class ProcessedImage:
    jpeg: bytes
    thumbnail: bytes
    width: int
    height: int


@dataclass(frozen=True)
class CheckedUpload:
    format: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif"}[self.format]

    @property
    def content_type(self) -> str:
        return {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp", ".gif": "image/gif"}[self.extension]


def check_upload(data: bytes, max_bytes: int = MAX_UPLOAD_BYTES) -> CheckedUpload:
    """Refuse, on the request path, whatever is not a photo we accept — quickly.

    JPEGs are decoded at an eighth of their size (draft mode): a truncated or corrupt file still
    fails, at a fraction of the cost of a full decode. Other formats are decoded only within
    CHECK_PIXEL_BUDGET; a bigger PNG, WebP or GIF is checked from its header (size within MAX_PIXELS)
    and structure (chunks and checksums) without decoding its pixels. The worker does the full
    processing later, and marks a photo that fails there as failed.
    """
    if len(data) > max_bytes:
        raise ImageRejected(f"图片不能超过 {max_bytes // (1024 * 1024)} MB")
    image, size = _open_verified(data, draft=True, budget=CHECK_PIXEL_BUDGET)
    return CheckedUpload(image.format or "", *size)


def _open_verified(data: bytes, draft: bool = False, budget: int | None = None) -> tuple[Image.Image, tuple[int, int]]:
    """The image and its full size, decoded (draft=True: JPEGs at 1/8 scale) unless that would
    decode more than `budget` pixels; None decodes it whatever its size."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            if probe.format not in ACCEPTED_FORMATS:
                raise ImageRejected(f"不支持的图片格式：{probe.format}")
            if probe.width * probe.height > MAX_PIXELS:
                raise ImageRejected("图片尺寸过大")
            probe.verify()  # catches truncated and corrupt files; the image must be reopened after
            image = Image.open(io.BytesIO(data))
            size = image.size
            if draft and image.format in ("JPEG", "MPO"):
                image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
            if budget is None or image.width * image.height <= budget:
                image.load()
    except ImageRejected:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise ImageRejected("图片已损坏或不是图片") from exc
    return image, size


def _clean_rgb(image: Image.Image) -> Image.Image:
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        image = background
    elif image.mode != "RGB":
        image = image.convert("RGB")
    # A new image from the raw pixels carries no EXIF, GPS, XMP, ICC or comment of the original.
    return Image.frombytes("RGB", image.size, image.tobytes())


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def process_photo(data: bytes) -> ProcessedImage:
    """The stored form of an uploaded or fetched photo; raises ImageRejected for anything else."""
    image = _open_verified(data)[0]
    if image.mode in ("RGB", "L"):
        # Photos: scale first, so turning upright and copying out the pixels handle a 2048-pixel
        # image rather than a 12-megapixel one. The bound is square, so the turn cannot change it.
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        image = _clean_rgb(image)
    else:
        # Palette and transparent images are flattened first: Pillow scales palettes without smoothing.
        image = _clean_rgb(image)
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    thumb = image.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return ProcessedImage(jpeg=_jpeg(image), thumbnail=_jpeg(thumb), width=image.width, height=image.height)


def _degrees(value: object, reference: object, negative: str) -> float | None:
    """Degrees from EXIF's (degrees, minutes, seconds) rationals; None when they make no sense."""
    if not isinstance(value, tuple | list) or not 1 <= len(value) <= 3:
        return None
    try:
        parts = [float(part) for part in value]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if any(part != part or part < 0 for part in parts):  # NaN (a 0/0 rational) or negative
        return None
    degrees = sum(part / 60**index for index, part in enumerate(parts))
    if isinstance(reference, bytes):
        reference = reference.decode("ascii", "replace")
    return -degrees if isinstance(reference, str) and reference.strip().upper() == negative else degrees


def exif_position(data: bytes) -> tuple[float, float] | None:
    """The (lat, lng) a photo's EXIF GPS records — WGS-84, as GPS gives it — or None if it has none."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            gps = image.getexif().get_ifd(GPS_IFD)
    except Exception:  # any image Pillow cannot read has no position we could trust
        return None
    lat = _degrees(gps.get(GPS_LAT), gps.get(GPS_LAT_REF), "S")
    lng = _degrees(gps.get(GPS_LNG), gps.get(GPS_LNG_REF), "W")
    if lat is None or lng is None or not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    if lat == 0 and lng == 0:  # what cameras write when they had no fix
        return None
    return lat, lng
