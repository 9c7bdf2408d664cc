"""Delivery receipts of template messages (WeChat's TEMPLATESENDJOBFINISH event)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from core import case_loop
from core.glossary import CaseStatus, NotificationStatus
from core.models import Notification
from core.services.notifications import record_delivery
from tests.support import factories


@pytest.fixture
def sent_template(session, settings):
    """A template message sent to the reporter of an accepted case, WeChat msgid 200001."""
    resident = factories.resident(session, "oReceipt")
    case = factories.case(session, settings, reporter=resident)
    event = case_loop.transition(session, case, CaseStatus.ACCEPTED, action="accept")
    session.flush()
    note = Notification(
        event_id=event.id,
        resident_id=resident.id,
        channel="oa_template",
        status=NotificationStatus.SENT,
        content="…",
        wechat_msgid="200001",
    )
    session.add(note)
    session.commit()
    return note


def reread(session, note):
    session.expire_all()
    return session.get(Notification, note.id)


def test_success_is_recorded_and_the_notification_stays_sent(session, sent_template):
    at = datetime(2026, 11, 21, 2, 30, tzinfo=UTC)
    assert record_delivery(session, "200001", "success", at=at).id == sent_template.id
    session.commit()
    note = reread(session, sent_template)
    assert (note.delivery_status, note.delivered_at, note.status) == ("success", at, NotificationStatus.SENT)
    assert note.error is None


@pytest.mark.parametrize(
    ("status", "error"),
    [("failed:user block", "用户拒收"), ("failed: system failed", "系统原因发送失败")],
)
def test_a_failure_marks_the_notification_failed_with_the_reason(session, sent_template, status, error):
    record_delivery(session, "200001", status)
    session.commit()
    note = reread(session, sent_template)
    assert (note.delivery_status, note.status, note.error) == (status, NotificationStatus.FAILED, error)
    assert note.delivered_at is not None


def test_a_repeated_receipt_changes_nothing(session, sent_template):
    first = datetime(2026, 11, 21, 2, 30, tzinfo=UTC)
    record_delivery(session, "200001", "failed:user block", at=first)
    session.commit()
    again = record_delivery(session, "200001", "failed:user block", at=datetime(2026, 11, 21, 2, 31, tzinfo=UTC))
    session.commit()
    assert again is not None and again.id == sent_template.id
    note = reread(session, sent_template)
    assert (note.delivered_at, note.status, note.error) == (first, NotificationStatus.FAILED, "用户拒收")


def test_an_unknown_msgid_is_none_and_touches_nothing(session, sent_template):
    assert record_delivery(session, "999999", "success") is None
    session.commit()
    assert session.scalars(select(Notification.delivery_status)).all() == [None]
