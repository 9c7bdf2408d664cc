"""bench/RESULTS.md: one section per benchmark, each a table; a run adds its row at the end of its own table."""

from __future__ import annotations

import os
from pathlib import Path

# BENCH_RESULTS sends a trial run's lines elsewhere, so only real runs reach the committed file.
RESULTS = Path(os.environ.get("BENCH_RESULTS") or Path(__file__).resolve().parent / "RESULTS.md")
TITLE = "# Benchmarks\n"


def record(section: str, intro: str, row: str, path: Path = RESULTS) -> None:
    """Add `row` (one Markdown table line) to the table of `section` ("## …"), making the section
    from `intro` (its text and table header) the first time."""
    text = path.read_text(encoding="utf-8") if path.exists() else TITLE
    if section not in text:
        text = text.rstrip("\n") + f"\n\n{section}\n\n{intro.strip()}\n"
    start = text.index(section)
    following = text.find("\n## ", start + len(section))
    end = len(text) if following == -1 else following + 1
    body = text[start:end].rstrip("\n") + "\n" + row.rstrip("\n") + "\n"
    path.write_text(text[:start] + body + ("\n" + text[end:] if following != -1 else ""), encoding="utf-8")
