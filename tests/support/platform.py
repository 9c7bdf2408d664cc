"""The district platform's side of POST /platform/events: its secret, signed posts, event bodies, a case to act on."""

from __future__ import annotations

import json
import time

from core import case_loop
from core.glossary import CaseStatus
from tests.fakes.platform_server import signature
from tests.support import factories

SECRET = "platform-test-secret"
URL = "/platform/events"


def accepted_case(app) -> str:
    context = app.extensions["gongzhi"]
    with context.database.session() as s:
        case = factories.case(s, context.settings, reporter=factories.resident(s))
        case_loop.transition(s, case, CaseStatus.ACCEPTED, action="accept")
        s.commit()
        return case.number


def post(client, body, *, secret=SECRET, timestamp=None, raw=None, headers=None):
    data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signed = {"X-Gongzhi-Timestamp": stamp, "X-Gongzhi-Signature": signature(secret, stamp, data)}
    return client.post(
        URL, data=data, headers=headers if headers is not None else signed, content_type="application/json"
    )


def ev(number, seq, action, event_id=None, **fields):
    return {
        "event_id": event_id or f"{number}-{seq}",
        "case_number": number,
        "sequence": seq,
        "action": action,
        **fields,
    }
