"""Draft reports read back from their stored JSON, including drafts saved under older field names."""

from __future__ import annotations

from dataclasses import asdict

from core.glossary import CoordSystem
from core.models import ReportDraft
from core.services.drafts import report_of
from core.services.intake import ReportInput


def test_a_saved_draft_reads_back_as_it_was():
    report = ReportInput(description="路灯不亮", lat=31.8, lng=117.3, coord_system=CoordSystem.GCJ02)
    report.checkpoint_label = "CP0001"
    assert report_of(ReportDraft(report=asdict(report))) == report


def test_a_draft_saved_before_the_checkpoint_label_was_named_so_still_loads():
    # Drafts live in the database across a deploy: one begun before 0009 names the label checkpoint_code.
    stored = {"description": "井盖松了", "checkpoint_code": "CP0007", "location_label": "小区东门"}
    report = report_of(ReportDraft(report=stored))
    assert (report.checkpoint_label, report.description, report.location_label) == ("CP0007", "井盖松了", "小区东门")
    assert stored == {"description": "井盖松了", "checkpoint_code": "CP0007", "location_label": "小区东门"}
