"""Benchmark: 1,393 checkpoint signs (方兴社区's count) to PNG and to one PDF, on every core.

Run `.venv/bin/python bench/signs.py [--count N]`. It renders signs straight from SignData (no
database), times the PNGs and the PDF, and measures in the same run a baseline: a bare
`qrcode.make(url).save(...)` PNG of each same URL, on the same number of processes. It prints the
figures and appends a dated line to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))  # run as a script from anywhere: the packages live one level up

import qrcode  # noqa: E402

from bench.results import RESULTS, record  # noqa: E402
from core.codes import make_code  # noqa: E402
from core.services.checkpoint_admin import serial_label  # noqa: E402
from core.services.demo import GRID_ORDINALS, SPOTS, STREETS  # noqa: E402
from core.settings import Settings  # noqa: E402
from qr.batch import plan_jobs, pool_context, render_signs, write_pdf  # noqa: E402
from qr.fonts import find_sign_font  # noqa: E402
from qr.signs import TITLE, SignData  # noqa: E402

SECTION = "## Signs (`bench/signs.py`)"
INTRO = """`bench/signs.py`: N checkpoint signs (A6, 300 dpi) rendered to PNG on every core, then one PDF
from those PNGs; the baseline is a bare `qrcode.make(url).save(…)` PNG of the same URLs on the same
number of processes. One line per run, newest last.

| date | machine | signs | PNG total | per sign | bare qrcode | ratio | PDF | PDF size | peak RSS main / worker |
|---|---|---|---|---|---|---|---|---|---|
"""
FANGXING_CHECKPOINTS = 1393


def make_signs(count: int) -> list[SignData]:
    """`count` signs like the demo's: names cycling over streets, communities, grids and spots."""
    settings = Settings()
    base = settings.public_base_url.rstrip("/")
    grids = [
        f"{community}{ordinal}"
        for _street, communities in STREETS
        for community in communities
        for ordinal in GRID_ORDINALS
    ]
    signs = []
    for serial in range(1, count + 1):
        grid = grids[(serial - 1) // 3 % len(grids)]
        url = f"{base}/q/{make_code(settings.secret_key, serial, 1)}"
        spot = SPOTS[(serial - 1) % len(SPOTS)]
        signs.append(SignData(TITLE, f"{grid}·{spot}", serial_label(serial), grid, f"{grid}网格员", url))
    return signs


def _bare_qrcode(job: tuple[str, str]) -> str:
    url, path = job
    qrcode.make(url).save(path)
    return path


def bare_qrcodes(signs: list[SignData], out_dir: Path, workers: int) -> None:
    """The baseline: the plainest QR PNG of each URL, on `workers` processes like the signs."""
    jobs = [(sign.qr_content, str(out_dir / f"{sign.label}.png")) for sign in signs]
    chunk = max(1, min(16, len(jobs) // (workers * 8)))  # as qr.batch chunks
    with ProcessPoolExecutor(max_workers=workers, mp_context=pool_context()) as pool:
        for _ in pool.map(_bare_qrcode, jobs, chunksize=chunk):
            pass


def _peak_rss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=FANGXING_CHECKPOINTS)
    parser.add_argument("--no-record", action="store_true", help="do not append to bench/RESULTS.md")
    args = parser.parse_args()
    workers = os.cpu_count() or 1
    font = find_sign_font(Settings.from_env().sign_font)
    signs = make_signs(args.count)
    print(f"{args.count} signs on {workers} processes, font {font.path} (face {font.index})")

    with tempfile.TemporaryDirectory(prefix="gongzhi-bench-") as scratch:
        png_dir, bare_dir = Path(scratch, "signs"), Path(scratch, "bare")
        png_dir.mkdir()
        bare_dir.mkdir()

        started = time.perf_counter()
        bare_qrcodes(signs, bare_dir, workers)
        bare_seconds = time.perf_counter() - started

        jobs = plan_jobs(signs, png_dir)
        started = time.perf_counter()
        paths = list(render_signs(jobs, font, workers=workers))
        png_seconds = time.perf_counter() - started

        started = time.perf_counter()
        pages = write_pdf(paths, png_dir / "signs.pdf")
        pdf_seconds = time.perf_counter() - started
        pdf_mb = (png_dir / "signs.pdf").stat().st_size / 1e6
        png_mb = sum(Path(path).stat().st_size for path in paths) / 1e6
    assert pages == args.count

    per_sign_ms = png_seconds / args.count * 1000
    ratio = png_seconds / bare_seconds
    main_rss, worker_rss = _peak_rss_mb(resource.RUSAGE_SELF), _peak_rss_mb(resource.RUSAGE_CHILDREN)
    print(f"signs → PNG:    {png_seconds:7.2f} s   {per_sign_ms:6.2f} ms/sign   {png_mb:6.1f} MB of PNG")
    print(f"bare qrcode:    {bare_seconds:7.2f} s   {bare_seconds / args.count * 1000:6.2f} ms/sign")
    print(f"ratio:          {ratio:7.2f} × the bare qrcode PNG")
    print(f"PNGs → PDF:     {pdf_seconds:7.2f} s   {pages} pages, {pdf_mb:.1f} MB")
    print(f"total:          {png_seconds + pdf_seconds:7.2f} s   (PNG + PDF)")
    print(f"peak RSS:       {main_rss:.0f} MB main, {worker_rss:.0f} MB largest worker")

    if not args.no_record:
        machine = f"{platform.machine()}, {workers} cores, Python {platform.python_version()}"
        line = (
            f"| {datetime.now().strftime('%Y-%m-%d %H:%M')} | {machine} | {args.count} | {png_seconds:.2f} s"
            f" | {per_sign_ms:.2f} ms | {bare_seconds:.2f} s | {ratio:.2f}× | {pdf_seconds:.2f} s"
            f" | {pdf_mb:.0f} MB | {main_rss:.0f} / {worker_rss:.0f} MB |\n"
        )
        record(SECTION, INTRO, line)
        print(f"recorded in {RESULTS}")


if __name__ == "__main__":
    main()
