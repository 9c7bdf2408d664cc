"""Periodic work runs once per interval however many worker machines run a cron."""

from __future__ import annotations

import re

import pytest

from tests.support.processes import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.real_services]

ENQUEUED = re.compile(r"enqueued worker\.jobs\.deadlines\.sweep_deadlines on default for slot (\d+)")
TAKEN = re.compile(r"worker\.jobs\.deadlines\.sweep_deadlines slot (\d+) already taken")


def test_two_workers_crons_enqueue_each_sweep_once_per_interval(settings, start_worker):
    settings = settings.replace(deadline_sweep_seconds=1)
    workers = [start_worker(settings, name="machine-a"), start_worker(settings, name="machine-b")]

    def slots() -> tuple[list[int], list[int]]:
        enqueued = [int(s) for w in workers for s in ENQUEUED.findall(w.log())]
        taken = [int(s) for w in workers for s in TAKEN.findall(w.log())]
        return enqueued, taken

    # Both crons are at it (each has enqueued or found a slot taken), over several intervals.
    def both_busy_for_five_slots() -> bool:
        enqueued, _ = slots()
        active = [w for w in workers if ENQUEUED.search(w.log()) or TAKEN.search(w.log())]
        return len(set(enqueued)) >= 5 and len(active) == 2

    wait_until(both_busy_for_five_slots, timeout=120, what="two crons to run through five intervals")
    enqueued, taken = slots()
    assert len(enqueued) == len(set(enqueued)), f"a slot enqueued twice: {sorted(enqueued)}"
    # The other cron did try, and stood back, in slots the first had claimed.
    assert taken and set(taken) <= set(enqueued) | {max(enqueued) + 1}
