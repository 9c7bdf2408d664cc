"""Logs carry a resident id, never an openid or unionid: a bot conversation and mini-program sign-ins, at DEBUG."""

from __future__ import annotations

import logging

import pytest

from core.models import Resident
from core.services.catalogue import load_catalogue
from tests.support.wechat_sender import build

# Shaped like WeChat's (28 characters), and each distinct, so any leak is found wherever it lands.
OFFICIAL_OPENID = "oWxOfficialOpenid000000001ab"
MINI_OPENID = "oWxMiniProgramOpenid0000001a"
OTHER_MINI_OPENID = "oWxMiniProgramOpenid0000002b"
UNIONID = "oWxUnionid000000000000000001"
IDENTITIES = (OFFICIAL_OPENID, MINI_OPENID, OTHER_MINI_OPENID, UNIONID)


@pytest.fixture
def settings(settings, fake_wechat):
    """The fake WeChat API knows the mini-program, so residents can sign in."""
    fake_wechat.apps[settings.wechat_mini_app_id] = settings.wechat_mini_app_secret
    return settings.replace(wechat_api_base=fake_wechat.base_url, wechat_timeout_seconds=2.0)


def _leaks(records: list[logging.LogRecord]) -> list[str]:
    """Every record that holds an identity anywhere: its template, its arguments, its message, its traceback."""
    found = []
    for record in records:
        raw = " ".join([str(record.msg), repr(record.args), record.getMessage(), record.exc_text or ""])
        if record.exc_info and record.exc_info[1] is not None:
            raw += repr(record.exc_info[1])
        if any(identity in raw for identity in IDENTITIES):
            found.append(f"{record.name}: {record.msg}")
    return found


def test_a_bot_conversation_and_mini_program_sign_ins_log_no_openid(app, client, wechat, fake_wechat, caplog):
    caplog.set_level(logging.DEBUG)
    database = app.extensions["gongzhi"].database
    with database.session() as s:
        load_catalogue(s, app.extensions["gongzhi"].settings.catalogue_file)
        # Two rows WeChat's unionid would tie together but that are already tied elsewhere: the
        # sign-in refuses to link them and says so in the log.
        s.add(Resident(unionid=UNIONID, openid=OFFICIAL_OPENID))
        s.add(Resident(mini_openid=OTHER_MINI_OPENID, openid="oSomeoneElsesOfficialOpenid9"))
        s.commit()

    # The official account: follow, report with a place, a photo and words, submit, ask for the list.
    def send(body: str):
        # WeChat puts the sender's openid in the callback's query string too.
        response = wechat.post(body, openid=OFFICIAL_OPENID)
        assert response.status_code == 200
        return response

    send(build("event", OFFICIAL_OPENID, Event="subscribe"))
    send(build("text", OFFICIAL_OPENID, Content="你好"))
    send(build("location", OFFICIAL_OPENID, Location_X=31.8, Location_Y=117.3, Scale=16, Label="方兴大道"))
    send(build("image", OFFICIAL_OPENID, PicUrl="http://mmbiz.qpic.cn/x/0", MediaId="m-1"))
    send(build("text", OFFICIAL_OPENID, Content="路灯不亮"))
    send(build("text", OFFICIAL_OPENID, Content="提交"))
    send(build("text", OFFICIAL_OPENID, Content="我的案件"))
    send(build("event", OFFICIAL_OPENID, Event="LOCATION", Latitude=31.8, Longitude=117.3, Precision=30))
    send(build("event", OFFICIAL_OPENID, Event="unsubscribe"))

    # The mini-program: a sign-in, a sign-in whose unionid belongs to another row, and a bad code.
    fake_wechat.add_login_code("code-1", MINI_OPENID, "session-key-1")
    fake_wechat.add_login_code("code-2", OTHER_MINI_OPENID, "session-key-2", unionid=UNIONID)
    for code in ("code-1", "code-2"):
        assert client.post("/api/v1/session", json={"code": code}).status_code == 200
    assert client.post("/api/v1/session", json={"code": "code-1"}).status_code >= 400  # used once already

    assert caplog.records, "the conversation logged nothing at all: the check would prove nothing"
    assert any("resident" in record.getMessage() for record in caplog.records)  # the refused link, by id
    assert _leaks(caplog.records) == []
