"""Benchmark 3: the photo pipeline in real worker processes against the same work done directly with Pillow.

Run `.venv/bin/python bench/photos.py [--photos N] [--workers W]` with PostgreSQL and Redis on
loopback (as for the tests). It makes N phone-like JPEGs (4000 × 3000, EXIF rotation and GPS),
serves them from the fake WeChat API, and in one run measures:

- the pipeline: W `python -m worker` processes, already started and idle, fetch each photo through
  the media API, verify, scale to 2048 px, rotate, strip, a 320 px thumbnail, store both and mark
  the row ready — timed from the moment the outbox rows are committed until the last photo is ready;
- the baseline: the same photos, already in memory, opened, scaled, rotated (exif_transpose) and
  saved as the same two JPEGs with Pillow alone, on W processes.

It prints photos/s for both and their ratio (target ≥ 0.8), and appends a line to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))  # run as a script from anywhere: the packages live one level up

import redis  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.harness import REDIS_URL, machine, now, scratch_database  # noqa: E402
from bench.results import record  # noqa: E402
from core import outbox  # noqa: E402
from core.db import Database  # noqa: E402
from core.glossary import CaseSource, PhotoStatus  # noqa: E402
from core.models import Case, Photo  # noqa: E402
from core.numbering import next_case_number  # noqa: E402
from core.settings import Settings  # noqa: E402
from media.imaging import JPEG_QUALITY, MAX_SIDE, THUMB_SIDE  # noqa: E402
from tests.fakes.wechat_api import FakeWeChatAPI  # noqa: E402
from tests.support.images import photo_with_exif  # noqa: E402
from tests.support.processes import WorkerProcess, wait_until  # noqa: E402

INTRO = """
N phone photos (4000 × 3000 JPEG, EXIF rotation and GPS) through W real worker processes (media API
fetch, verify, 2048 px, rotate, strip, 320 px thumbnail, store, mark ready) against the same
images scaled, rotated and saved by Pillow alone, in the same order, on W processes. Target: ratio ≥ 0.8.

| date | machine | photos | workers | pipeline | photos/s | Pillow alone | photos/s | ratio |
|---|---|---|---|---|---|---|---|---|
"""


def pillow_alone(data: bytes) -> int:
    """What the pipeline does to one photo, in the same order, with nothing but Pillow: the baseline."""
    image = Image.open(io.BytesIO(data))
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    image = ImageOps.exif_transpose(image).convert("RGB")
    thumb = image.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    size = 0
    for picture in (image, thumb):
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
        size += len(out.getvalue())
    return size


def run_baseline(photos: list[bytes], workers: int) -> float:
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(pillow_alone, photos[:workers]))  # warm the processes up, as the workers are
        start = time.perf_counter()
        list(pool.map(pillow_alone, photos))
        return time.perf_counter() - start


def run_pipeline(photos: list[bytes], workers: int, media_dir: str) -> float:
    with scratch_database() as url, FakeWeChatAPI() as fake:
        settings = Settings(
            database_url=url,
            redis_url=REDIS_URL,
            media_dir=media_dir,
            wechat_api_base=fake.base_url,
            relay_poll_seconds=0.2,
            secret_key="bench",
        )
        redis.Redis.from_url(REDIS_URL).flushdb()
        for n, data in enumerate(photos):
            fake.add_media(f"bench-{n}", data, "image/jpeg")
        logs = Path(media_dir) / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        started = [WorkerProcess(settings, logs / f"worker-{n}.log", name="bench") for n in range(workers)]
        try:
            time.sleep(6)  # let each worker start and go idle, so start-up is not timed
            return time_photos(Database(url), settings, len(photos), logs)
        finally:
            for worker in started:
                worker.stop()


def time_photos(database: Database, settings: Settings, count: int, logs: Path) -> float:
    """Seconds from committing `count` photo rows until the idle workers have made every one ready."""
    with database.session() as s:
        case = Case(number=next_case_number(s, settings.tz), source=CaseSource.WECHAT, description="bench")
        s.add(case)
        s.flush()
        rows = [Photo(case_id=case.id, wechat_media_id=f"bench-{n}") for n in range(count)]
        s.add_all(rows)
        s.flush()
        for photo in rows:
            outbox.add(s, outbox.PHOTO_FETCH, {"photo_id": photo.id})
        s.commit()
    start = time.perf_counter()  # the workers' pollers relay the committed rows from here

    def ready() -> bool:
        with database.session() as s:
            left = s.scalar(select(func.count()).select_from(Photo).where(Photo.status == PhotoStatus.PENDING))
            return left == 0

    wait_until(ready, timeout=600, interval=0.05, what="every photo to be processed")
    elapsed = time.perf_counter() - start
    with database.session() as s:
        failed = s.scalar(select(func.count()).select_from(Photo).where(Photo.status != PhotoStatus.READY))
    database.dispose()
    if failed:
        raise SystemExit(f"{failed} photos failed; see {logs}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=60)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    print(f"making {args.photos} photos of 4000 × 3000 …", flush=True)
    photos = [photo_with_exif(4000, 3000, orientation=(6, 1, 3, 8)[n % 4]) for n in range(args.photos)]
    with tempfile.TemporaryDirectory() as media_dir:
        pipeline = run_pipeline(photos, args.workers, media_dir)
    baseline = run_baseline(photos, args.workers)
    ratio = (args.photos / pipeline) / (args.photos / baseline)
    line = (
        f"| {now()} | {machine()} | {args.photos} | {args.workers} | {pipeline:.2f} s | "
        f"{args.photos / pipeline:.2f} | {baseline:.2f} s | {args.photos / baseline:.2f} | {ratio:.2f} |\n"
    )
    print(
        f"pipeline: {pipeline:.2f} s ({args.photos / pipeline:.2f}/s); Pillow alone: {baseline:.2f} s "
        f"({args.photos / baseline:.2f}/s); ratio {ratio:.2f} (target ≥ 0.8)"
    )
    record("## Photo pipeline (`bench/photos.py`)", INTRO, line)


if __name__ == "__main__":
    main()
