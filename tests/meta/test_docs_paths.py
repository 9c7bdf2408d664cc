"""Every file or folder of the project that the README and docs/ name exists, so a newcomer's first lookups work."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.settings import PROJECT_ROOT

DOCS = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
TOP = {p.name for p in PROJECT_ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")} - {"instance"}
# `code` spans and link targets; a path is one that starts in a top-level folder of the project,
# or a file at the top (`wsgi.py`, `gunicorn.conf.py`).
SPAN = re.compile(r"`([^`\s]+)`|\]\(([^)\s#]+)")
# A layout listing in a fenced block: `core/     the domain …`, `wsgi.py   the composition root`.
LAYOUT = re.compile(r"^([\w-]+/|[\w.-]+\.py) +\S", re.M)
FILE_AT_TOP = re.compile(r"^[\w.-]+\.(py|md|toml|ini|txt|sh|cfg|lua|yaml|yml|example)$")


def named_paths(doc: Path) -> set[str]:
    """The project paths `doc` names, relative to the project (a bare file name stays bare)."""
    text = doc.read_text(encoding="utf-8")
    found = set(LAYOUT.findall(text))
    for match in SPAN.finditer(text):
        raw = (match[1] or match[2]).strip("'\"").rstrip(".,;:")
        if "://" in raw or raw.startswith(("/", "-")) or any(c in raw for c in "<>{}$…=|"):
            continue
        candidate = re.sub(r":\d+(-\d+)?$", "", raw)
        if candidate.split("/", 1)[0] in TOP and "/" in candidate:
            found.add(candidate)
        elif match[2]:  # a link: relative to the document
            target = (doc.parent / candidate).resolve()
            if target.is_relative_to(PROJECT_ROOT):
                found.add(str(target.relative_to(PROJECT_ROOT)))
        elif FILE_AT_TOP.match(candidate):
            found.add(candidate)
    return found


def exists(path: str) -> bool:
    """A path, a glob, a bare file name anywhere in the project, or `module/path.name` naming a definition."""
    if "*" in path:
        return any(PROJECT_ROOT.glob(path))
    if (PROJECT_ROOT / path).exists():
        return True
    if "/" not in path:
        return any(p for p in PROJECT_ROOT.rglob(path) if ".venv" not in p.parts)
    module, _, name = path.rpartition(".")
    source = PROJECT_ROOT / f"{module}.py"
    if module and source.is_file():
        return (
            re.search(rf"^\s*(def|class) {re.escape(name)}\b|^{re.escape(name)}\b.*=", source.read_text(), re.M)
            is not None
        )
    return False


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_every_path_a_doc_names_exists(doc):
    missing = sorted(p for p in named_paths(doc) if not exists(p))
    assert not missing, f"{doc.name} names paths that do not exist: {missing}"


def test_the_check_finds_paths_at_all():
    # A pattern that matched nothing would pass every doc; the README names dozens of files.
    assert {"wsgi.py", "gunicorn.conf.py", "core/services/cases.py"} <= named_paths(PROJECT_ROOT / "README.md")


def test_the_readme_layout_lists_every_package():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    listed = set(LAYOUT.findall(readme.split("## Architecture", 1)[1]))
    packages = {f"{p.parent.name}/" for p in PROJECT_ROOT.glob("*/*.py")} - {"tests/", "bench/", "migrations/"}
    assert packages <= listed, f"README's Architecture block leaves out {sorted(packages - listed)}"
