"""Many signs at once: PNGs rendered on every core, a CSV listing them, and one PDF to print.

The PDF is assembled from the PNG files as they lie on disk: each page embeds its PNG's compressed
pixel data unchanged (PDF's FlateDecode with the PNG predictor reads it as is). That keeps the
printed QR bit-for-bit the one that was checked, holds one sign in memory at a time, and costs no
re-encoding. Pillow's own multi-page PDF save (`save_all=True, resolution=300`) was measured and
not used: it holds every page decoded until it is done (1.7 GB peak for 200 signs; appending in
chunks bounds that, but each append rewrites every earlier page object), stores RGB pages as lossy
JPEG, and takes ~30 ms a page on one core against well under 1 ms here.
"""

from __future__ import annotations

import csv
import multiprocessing
import os
import re
import struct
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from core.spreadsheet import safe_row
from qr.fonts import FontSpec
from qr.signs import DPI, SignData, render_sign, save_sign

CSV_NAME = "signs.csv"
PDF_NAME = "signs.pdf"
CSV_HEADER = ("点位编号", "公开码", "点位名称", "所属网格", "二维码链接")
# Characters kept in a file name; anything else (a "/" in a label, say) becomes "_".
_UNSAFE = re.compile(r"[^0-9A-Za-z._\-\u4e00-\u9fff]")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
POINTS_PER_INCH = 72


@dataclass(frozen=True)
class SignJob:
    """One sign to render and the file to write it to; picklable, so it can go to a worker."""

    data: SignData
    path: str


@dataclass(frozen=True)
class SignRow:
    """One line of signs.csv: what an operator needs to match a printed sign to its checkpoint."""

    label: str
    public_code: str
    name: str
    grid: str
    url: str


def sign_filename(label: str) -> str:
    """The PNG file name for a sign's label: `<label>.png`, with unsafe characters replaced."""
    stem = _UNSAFE.sub("_", label).strip(".") or "_"
    return f"{stem}.png"


def plan_jobs(signs: Sequence[SignData], out_dir: Path) -> list[SignJob]:
    """A job per sign, writing `out_dir/<label>.png`; two labels that map to one file are an error."""
    jobs: list[SignJob] = []
    taken: dict[str, str] = {}
    for data in signs:
        name = sign_filename(data.label)
        if name in taken:
            raise ValueError(f"两个点位编号会写到同一个文件 {name}：{taken[name]!r} 与 {data.label!r}")
        taken[name] = data.label
        jobs.append(SignJob(data, str(out_dir / name)))
    return jobs


def render_job(job: SignJob, font: FontSpec) -> str:
    """Render one sign to its file (through a temporary name, so no half-written PNG is left)."""
    partial = f"{job.path}.partial"
    save_sign(render_sign(job.data, font), partial)
    os.replace(partial, job.path)
    return job.path


def _render_star(args: tuple[SignJob, FontSpec]) -> str:
    return render_job(*args)


def pool_context() -> multiprocessing.context.BaseContext:
    """How worker processes are started: forkserver where there is one, else spawn."""
    # Not fork: the app process has threads (the embedded job runner, HTTP clients), and forking a
    # threaded process can deadlock the child. forkserver forks from a clean helper instead.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def render_signs(jobs: Sequence[SignJob], font: FontSpec, *, workers: int | None = None) -> Iterator[str]:
    """Render every job on `workers` processes (default: one per core); yields each path in order.

    Yielding as signs finish lets the caller show progress. Each worker holds one sign at a time,
    and only paths come back, so memory does not grow with the number of signs.
    """
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    if workers == 1:
        for job in jobs:
            yield render_job(job, font)
        return
    # Chunks amortise the hand-over to the workers; small enough that progress still moves.
    chunk = max(1, min(16, len(jobs) // (workers * 8)))
    with ProcessPoolExecutor(max_workers=workers, mp_context=pool_context()) as pool:
        yield from pool.map(_render_star, ((job, font) for job in jobs), chunksize=chunk)


def write_csv(rows: Iterable[SignRow], path: Path) -> None:
    """signs.csv: one row per sign, UTF-8 with a BOM so that Excel shows the Chinese correctly."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        for row in rows:
            writer.writerow(safe_row((row.label, row.public_code, row.name, row.grid, row.url)))
    os.replace(partial, path)


@dataclass(frozen=True)
class _Png:
    width: int
    height: int
    colors: int  # 1 grey, 3 RGB
    idat: bytes  # the zlib stream of the filtered scanlines, as PDF's FlateDecode + predictor reads it


def _read_png(path: str) -> _Png:
    """The size and compressed pixel data of an 8-bit, non-interlaced grey or RGB PNG."""
    data = Path(path).read_bytes()
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError(f"{path} is not a PNG")
    header: tuple[int, ...] | None = None
    idat: list[bytes] = []
    position = len(_PNG_SIGNATURE)
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        position += 12 + length  # length, type, data, CRC
    if header is None or not idat:
        raise ValueError(f"{path} has no image data")
    width, height, depth, color_type, _, _, interlace = header
    if depth != 8 or color_type not in (0, 2) or interlace:
        raise ValueError(f"{path}: only 8-bit, non-interlaced grey or RGB PNGs go into the PDF")
    return _Png(width, height, 3 if color_type == 2 else 1, b"".join(idat))


class _PdfWriter:
    """The smallest PDF writer that does the job: objects written as they come, xref at the end.

    Objects 1 and 2 (catalog, page tree) are written last, when the page count is known; every
    page's objects go to the file at once, so memory holds offsets, not pages.
    """

    def __init__(self, handle: BinaryIO) -> None:
        self._out = handle
        self._offsets: dict[int, int] = {}
        self._next = 3
        self.pages: list[int] = []
        self._write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")

    def _write(self, data: bytes) -> None:
        self._out.write(data)

    def _tell(self) -> int:
        return self._out.tell()

    def _object(self, number: int, body: bytes, stream: bytes | None = None) -> None:
        self._offsets[number] = self._tell()
        self._write(b"%d 0 obj\n" % number + body)
        if stream is not None:
            self._write(b"\nstream\n" + stream + b"\nendstream")
        self._write(b"\nendobj\n")

    def add_png_page(self, png: _Png, dpi: int) -> None:
        """A page the size of `png` at `dpi`, showing exactly that image."""
        image, content, page = self._next, self._next + 1, self._next + 2
        self._next += 3
        width_pt = png.width * POINTS_PER_INCH / dpi
        height_pt = png.height * POINTS_PER_INCH / dpi
        colour_space = b"/DeviceRGB" if png.colors == 3 else b"/DeviceGray"
        self._object(
            image,
            b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s /BitsPerComponent 8"
            b" /Filter /FlateDecode /DecodeParms << /Predictor 15 /Colors %d /BitsPerComponent 8 /Columns %d >>"
            b" /Length %d >>" % (png.width, png.height, colour_space, png.colors, png.width, len(png.idat)),
            png.idat,
        )
        drawing = b"q %.4f 0 0 %.4f 0 0 cm /Sign Do Q" % (width_pt, height_pt)
        self._object(content, b"<< /Length %d >>" % len(drawing), drawing)
        self._object(
            page,
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.4f %.4f] /Resources << /XObject << /Sign %d 0 R >> >>"
            b" /Contents %d 0 R >>" % (width_pt, height_pt, image, content),
        )
        self.pages.append(page)

    def finish(self) -> None:
        """Write the page tree, the catalog, the cross-reference table and the trailer."""
        kids = b" ".join(b"%d 0 R" % page for page in self.pages)
        self._object(2, b"<< /Type /Pages /Count %d /Kids [%s] >>" % (len(self.pages), kids))
        self._object(1, b"<< /Type /Catalog /Pages 2 0 R >>")
        xref = self._tell()
        size = self._next
        self._write(b"xref\n0 %d\n0000000000 65535 f \n" % size)
        for number in range(1, size):
            self._write(b"%010d 00000 n \n" % self._offsets[number])
        self._write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref))


def write_pdf(png_paths: Iterable[str], path: Path, *, dpi: int = DPI) -> int:
    """One PDF with a page per PNG, each page the PNG's size at `dpi` (A6 for a sign); the page count.

    Reads one PNG at a time, so 1,393 signs need no more memory than one.
    """
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("wb") as handle:
            writer = _PdfWriter(handle)
            for png_path in png_paths:
                writer.add_png_page(_read_png(png_path), dpi)
            if not writer.pages:
                raise ValueError("a PDF needs at least one page")
            writer.finish()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)
    return len(writer.pages)
