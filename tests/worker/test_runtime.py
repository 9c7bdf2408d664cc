"""The worker's runtime: prepared before rq forks its work horses, never guessed; every route's job resolvable."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from rq.utils import import_attribute

from core.settings import PROJECT_ROOT, Settings
from tests.support.processes import settings_env
from worker import runtime
from worker.routes import ROUTES
from worker.runtime import Runtime

resolve = import_attribute  # how rq finds a job's function by its stored dotted path

# A fresh interpreter, as `python -m worker` starts: after prepare_for_forks, which modules does the
# first query of a work horse still import? (A horse starts from the worker's memory as it is here.)
FIRST_QUERY = """
import json, sys
from sqlalchemy import select
from core.models import Case
from core.settings import Settings
from worker.routes import preload_jobs
from worker.runtime import Runtime

rt = Runtime.from_settings(Settings.from_env())
preload_jobs()
rt.prepare_for_forks()
pooled = rt.database._engine is not None
before = set(sys.modules)
with rt.database.session() as session:
    session.execute(select(Case).limit(1)).all()
print(json.dumps({"pooled": pooled, "imported": sorted(set(sys.modules) - before)}))
"""


def test_a_work_horse_imports_nothing_for_its_first_query(settings: Settings, clean_database) -> None:
    done = subprocess.run(
        [sys.executable, "-c", FIRST_QUERY],
        env=settings_env(settings),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.splitlines()[-1])
    assert answer["imported"] == []  # without the preparation: psycopg's modules, a third of a second per job
    assert answer["pooled"] is False  # the worker's own connection is closed before any fork


def test_an_unreachable_database_at_start_up_is_not_fatal(settings: Settings) -> None:
    rt = Runtime.from_settings(settings.replace(database_url="postgresql://nobody@127.0.0.1:1/none"))
    rt.prepare_for_forks()  # logs a warning; each horse will try on its own
    assert rt.database._engine is None


def test_a_job_without_an_installed_runtime_says_so(monkeypatch) -> None:
    monkeypatch.setattr(runtime, "_current", None)
    with pytest.raises(RuntimeError, match="no job runtime installed"):
        runtime.current()


def test_every_route_names_a_job_and_jobs_rq_kept_under_their_old_names_still_resolve() -> None:
    for route in ROUTES.values():
        assert callable(resolve(route.job))
    # rq stores a job's dotted path: jobs queued or kept failed before the tell_* → notify_* rename.
    renamed = {
        "worker.jobs.deadlines.tell_assigned": "worker.jobs.deadlines.notify_assigned",
        "worker.jobs.deadlines.tell_deadline_warning": "worker.jobs.deadlines.notify_deadline_warning",
        "worker.jobs.deadlines.tell_overdue": "worker.jobs.deadlines.notify_overdue",
        "worker.jobs.grants.tell_report_late": "worker.jobs.grants.notify_report_late",
    }
    for old, new in renamed.items():
        assert resolve(old) is resolve(new)
