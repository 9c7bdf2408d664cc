"""Photo processing: upright, metadata gone, size bounded, thumbnail made; broken input refused."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from media.imaging import MAX_SIDE, THUMB_SIDE, ImageRejected, exif_position, process_photo
from tests.support import images


def test_a_phone_photo_is_turned_upright_shrunk_and_stripped():
    result = process_photo(images.photo_with_exif(4000, 3000, orientation=6))
    stored = Image.open(io.BytesIO(result.jpeg))
    # Orientation 6 means the camera was turned: the stored photo is portrait.
    assert stored.size == (1536, 2048) == (result.width, result.height)
    assert max(stored.size) <= MAX_SIDE
    # The blue marker of the top-left corner is now top-right.
    assert stored.getpixel((stored.width - 20, 20))[2] > 200
    assert stored.getpixel((20, 20))[0] > 150
    assert len(stored.getexif()) == 0
    assert not {"exif", "icc_profile", "xmp", "comment"} & set(stored.info)
    assert b"TestPhone" not in result.jpeg and b"secret comment" not in result.jpeg
    thumb = Image.open(io.BytesIO(result.thumbnail))
    assert max(thumb.size) == THUMB_SIDE and len(thumb.getexif()) == 0


def test_a_transparent_png_becomes_a_jpeg():
    result = process_photo(images.small_png())
    assert Image.open(io.BytesIO(result.jpeg)).format == "JPEG"
    assert (result.width, result.height) == (64, 48)


@pytest.mark.parametrize(
    "data",
    [b"", b"not an image at all", images.truncated_jpeg(), images.decompression_bomb(), b"GIF89a\x00\x00"],
    ids=["empty", "text", "truncated", "bomb", "broken-gif"],
)
def test_broken_and_hostile_images_are_refused(data):
    with pytest.raises(ImageRejected) as raised:
        process_photo(data)
    assert raised.value.args[0]  # a sentence for the resident


def test_exif_gps_is_read_as_signed_decimal_degrees():
    assert exif_position(images.photo_with_exif(64, 48)) == pytest.approx(images.DEFAULT_GPS, abs=1e-6)
    south_west = exif_position(images.photo_with_exif(64, 48, gps=(-33.8688, -151.2093)))
    assert south_west == pytest.approx((-33.8688, -151.2093), abs=1e-6)
    # The photo job's copy has no EXIF, so no position either.
    assert exif_position(process_photo(images.photo_with_exif(64, 48)).jpeg) is None


@pytest.mark.parametrize(
    "data",
    [
        images.photo_with_exif(64, 48, gps=None),
        images.photo_with_exif(64, 48, gps=(0, 0)),
        images.small_png(),
        b"junk",
        b"",
    ],
    ids=["no-gps", "zero-zero", "png", "junk", "empty"],
)
def test_no_usable_exif_gps_is_none(data):
    assert exif_position(data) is None


def test_nonsense_gps_values_are_none():
    image, out = Image.new("RGB", (8, 8)), io.BytesIO()
    exif = Image.Exif()
    exif.get_ifd(images.GPS_IFD).update({1: "N", 2: (95.0, 0.0, 0.0), 3: "E", 4: (117.0, 0.0, 0.0)})
    image.save(out, "JPEG", exif=exif.tobytes())
    assert exif_position(out.getvalue()) is None


def test_the_request_path_decodes_no_big_non_jpeg_only_the_worker_does(monkeypatch):
    from PIL import ImageFile

    from media.imaging import CHECK_PIXEL_BUDGET, check_upload

    decoded: list[int] = []
    load = ImageFile.ImageFile.load

    def counting_load(self):  # type: ignore[no-untyped-def]
        decoded.append(self.width * self.height)
        return load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)
    out = io.BytesIO()
    Image.new("RGB", (3000, 2000), (200, 10, 10)).save(out, "PNG")
    checked = check_upload(out.getvalue())
    assert (checked.format, checked.width, checked.height) == ("PNG", 3000, 2000)
    assert all(pixels <= CHECK_PIXEL_BUDGET for pixels in decoded), decoded
    # A JPEG is decoded at an eighth of its size, within the same budget; the worker decodes in full.
    decoded.clear()
    check_upload(images.photo_with_exif(4000, 3000))
    assert decoded and all(pixels <= CHECK_PIXEL_BUDGET for pixels in decoded), decoded
    decoded.clear()
    process_photo(out.getvalue())
    assert max(decoded) == 3000 * 2000


def test_a_small_broken_png_is_still_refused_on_the_request_path():
    from media.imaging import check_upload

    data = images.small_png()
    with pytest.raises(ImageRejected):
        check_upload(data[: len(data) // 2])
