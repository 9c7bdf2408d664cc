"""Hostile callbacks to /wechat: forged and replayed signatures, hostile XML, broken safe-mode envelopes,
and well-signed messages with hostile content. Each gets 403/400/413 or a handled reply; nothing half-stored."""

from __future__ import annotations

import base64
import secrets
import time

import pytest

from tests.support.hostile import PRIVATE, RESIDENT_A, RESIDENT_B
from tests.support.wechat_crypto import TEST_AES_KEY, SafeMode
from tests.support.wechat_sender import WeChatSender, build, reply_text, sign

ME = "oHostile_sender_01"


def _raw(client, body: bytes | str, query: dict[str, str], content_type: str = "text/xml"):
    data = body.encode() if isinstance(body, str) else body
    return client.post("/wechat", query_string=query, data=data, content_type=content_type)


def _query(token: str, *, timestamp: int | None = None, nonce: str | None = None, **extra) -> dict[str, str]:
    ts = str(timestamp if timestamp is not None else int(time.time()))
    nonce = nonce or secrets.token_hex(6)
    return {"signature": sign(token, ts, nonce), "timestamp": ts, "nonce": nonce, **extra}


TEXT = build("text", ME, Content="路灯坏了")

# name → (build the query from the token, expected status)
FORGED = {
    "no signature at all": (lambda t: {}, 403),
    "signature missing": (lambda t: {k: v for k, v in _query(t).items() if k != "signature"}, 403),
    "timestamp missing": (lambda t: {k: v for k, v in _query(t).items() if k != "timestamp"}, 403),
    "nonce missing": (lambda t: {k: v for k, v in _query(t).items() if k != "nonce"}, 403),
    "wrong signature": (lambda t: {**_query(t), "signature": "0" * 40}, 403),
    "signature of another token": (lambda t: _query("someone-elses-token"), 403),
    "signature with the token reversed": (lambda t: _query(t[::-1]), 403),
    "signature not hex": (lambda t: {**_query(t), "signature": "z" * 40}, 403),
    "signature too long": (lambda t: {**_query(t), "signature": "a" * 4000}, 403),
    "replayed: an hour old": (lambda t: _query(t, timestamp=int(time.time()) - 3600), 403),
    "replayed: a day old": (lambda t: _query(t, timestamp=int(time.time()) - 86400), 403),
    "from the future": (lambda t: _query(t, timestamp=int(time.time()) + 3600), 403),
    "timestamp not a number": (lambda t: {**_query(t), "timestamp": "yesterday"}, 403),
    "timestamp negative": (lambda t: _query(t, timestamp=-5), 403),
    "timestamp huge": (lambda t: _query(t, timestamp=10**30), 403),
    "signature for other parameters": (lambda t: {**_query(t, nonce="other"), "nonce": "n0nce42"}, 403),
    "encrypt_type=aes without an AES key": (lambda t: _query(t, encrypt_type="aes"), 403),
}


@pytest.mark.parametrize("name", FORGED)
def test_forged_and_replayed_signatures_are_403(client, settings, world, unchanged, name):
    make_query, status = FORGED[name]
    response = unchanged(lambda: _raw(client, TEXT, make_query(settings.wechat_token)))
    assert response.status_code == status


def test_a_verification_echo_with_a_wrong_signature_is_refused(client, settings, world, unchanged):
    query = {**_query("wrong-token"), "echostr": "<script>alert(1)</script>"}
    response = unchanged(lambda: client.get("/wechat", query_string=query))
    assert response.status_code == 403 and b"<script>" not in response.get_data()


XXE = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><ToUserName>a</ToUserName><FromUserName>oX</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&e;</Content><MsgId>1</MsgId></xml>'
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    + "]><xml><ToUserName>a</ToUserName><FromUserName>oX</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&lol9;</Content><MsgId>2</MsgId></xml>"
)
BODIES: dict[str, tuple[bytes | str, tuple[int, ...]]] = {
    "XXE reading /etc/passwd": (XXE, (400,)),
    "XXE over http": (XXE.replace("file:///etc/passwd", "http://127.0.0.1:1/x"), (400,)),
    "billion laughs": (LAUGHS, (400,)),
    "quadratic blowup": (
        '<!DOCTYPE x [<!ENTITY a "' + "A" * 50000 + '">]><xml><Content>' + "&a;" * 200 + "</Content></xml>",
        (400,),
    ),
    "internal DTD": ("<!DOCTYPE xml [<!ELEMENT xml ANY>]>" + TEXT, (400,)),
    "processing instruction": ('<?xml-stylesheet href="http://evil/x.xsl"?>' + TEXT, (200, 400)),
    "truncated": (TEXT[: len(TEXT) // 2], (400,)),
    "truncated at the end": (TEXT[:-3], (400,)),
    "empty": ("", (400,)),
    "only whitespace": ("   \n  ", (400,)),
    "json instead of xml": ('{"MsgType": "text", "Content": "hi"}', (400,)),
    "html": ("<html><body>hi</body></html>", (400,)),
    "plain text": ("hello", (400,)),
    "binary garbage": (bytes(range(256)) * 4, (400,)),
    "utf-16 body": (TEXT.encode("utf-16"), (400,)),
    "NUL byte in content": (build("text", ME, Content="a\x00b").replace("&#0;", "\x00"), (400,)),
    "vertical tab in content": (build("text", ME, Content="x").replace(">x<", ">a\x0bb<"), (400,)),
    "no sender": (TEXT.replace(f"<FromUserName><![CDATA[{ME}]]></FromUserName>", ""), (400,)),
    "no message type": (TEXT.replace("<MsgType><![CDATA[text]]></MsgType>", ""), (400,)),
    "sender too long": (build("text", "o" * 5000, Content="x"), (400,)),
    "nested garbage": ("<xml>" + "<a>" * 5000 + "</a>" * 5000 + "</xml>", (400,)),
    "repeated element": (TEXT.replace("</xml>", "<Content><![CDATA[再来一次]]></Content></xml>"), (400,)),
    "repeated sender": (TEXT.replace("</xml>", "<FromUserName><![CDATA[oOther]]></FromUserName></xml>"), (400,)),
    "repeated message type": (TEXT.replace("</xml>", "<MsgType><![CDATA[image]]></MsgType></xml>"), (400,)),
    "a field with children": (TEXT.replace(">路灯坏了<", "><b>路灯</b><i>坏了</i><"), (400,)),
    "oversized body": (build("text", ME, Content="长" * 400_000), (413,)),
}


@pytest.mark.parametrize("name", BODIES)
def test_hostile_xml_is_refused_and_stores_nothing(client, settings, world, unchanged, name):
    body, statuses = BODIES[name]
    # A body that is still a real message once the harmless extra is ignored may start a draft.
    may = ("residents", "report_drafts") if 200 in statuses else ()
    response = unchanged(lambda: _raw(client, body, _query(settings.wechat_token)), may_change=may)
    assert response.status_code in statuses, response.get_data()[:200]
    assert b"root:" not in response.get_data()  # nothing of /etc/passwd leaks into a reply


def _safe_app(make_app, settings):
    app = make_app(settings.replace(wechat_encoding_aes_key=TEST_AES_KEY))
    return app, app.test_client()


def _envelope(encrypt: str, to: str = "gh_3a1b2c4d5e6f") -> str:
    return f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"


def _safe_query(token: str, encrypt: str, *, msg_signature: str | None = None) -> dict[str, str]:
    from tests.support.wechat_crypto import signature

    query = _query(token)
    query.update(
        encrypt_type="aes",
        msg_signature=msg_signature or signature(token, query["timestamp"], query["nonce"], encrypt),
    )
    return query


WRONG_KEY = base64.b64encode(b"k" * 32).decode().rstrip("=")
# A cipher text that is not ours is refused as forged (403) or malformed (400); either is clear.
DECRYPT_REFUSED = (400, 403)
SAFE: dict[str, tuple[object, tuple[int, ...]]] = {
    "encrypted with a wrong AES key": (
        lambda s: SafeMode(s.wechat_token, WRONG_KEY, s.wechat_app_id).encrypt(TEXT),
        (400, 403),
    ),
    "encrypted for another app id": (
        lambda s: SafeMode(s.wechat_token, TEST_AES_KEY, "wxOTHERAPP").encrypt(TEXT),
        DECRYPT_REFUSED,
    ),
    "not base64": (lambda s: "!!!not base64!!!", DECRYPT_REFUSED),
    "base64 of garbage": (lambda s: base64.b64encode(b"x" * 64).decode(), DECRYPT_REFUSED),
    "empty cipher text": (lambda s: "", DECRYPT_REFUSED),
    "wrong block size": (lambda s: base64.b64encode(b"x" * 33).decode(), DECRYPT_REFUSED),
    "hostile xml inside": (
        lambda s: SafeMode(s.wechat_token, TEST_AES_KEY, s.wechat_app_id).encrypt(XXE),
        DECRYPT_REFUSED,
    ),
    "truncated xml inside": (
        lambda s: SafeMode(s.wechat_token, TEST_AES_KEY, s.wechat_app_id).encrypt(TEXT[:40]),
        DECRYPT_REFUSED,
    ),
}


@pytest.mark.parametrize("name", SAFE)
def test_broken_safe_mode_envelopes_are_refused(make_app, settings, world, name):
    from tests.support.hostile import snapshot

    app, client = _safe_app(make_app, settings)
    make, statuses = SAFE[name]
    encrypt = make(settings)  # type: ignore[operator]
    before = snapshot(app, settings)
    response = _raw(client, _envelope(encrypt), _safe_query(settings.wechat_token, encrypt))
    assert response.status_code in statuses
    assert snapshot(app, settings) == before


@pytest.mark.parametrize(
    "name",
    ["msg_signature wrong", "msg_signature missing", "plain body in safe mode", "no Encrypt element"],
)
def test_safe_mode_signatures_and_envelopes(make_app, settings, world, name):
    from tests.support.hostile import snapshot

    app, client = _safe_app(make_app, settings)
    encrypt = SafeMode(settings.wechat_token, TEST_AES_KEY, settings.wechat_app_id).encrypt(TEXT)
    query = _safe_query(settings.wechat_token, encrypt)
    body = _envelope(encrypt)
    expected = (403,)
    if name == "msg_signature wrong":
        query["msg_signature"] = "f" * 40
    elif name == "msg_signature missing":
        del query["msg_signature"]
    elif name == "plain body in safe mode":
        body, expected = TEXT, (400, 403)
    else:
        body, expected = "<xml><ToUserName>gh</ToUserName></xml>", (400, 403)
    before = snapshot(app, settings)
    assert _raw(client, body, query).status_code in expected
    assert snapshot(app, settings) == before


# Well-signed messages whose content is hostile: WeChat needs a 200, so each gets a handled reply,
# and no case may come of it.
CONTENT = {
    "sql in text": "'; DROP TABLE cases; --",
    "sql union": "1 UNION SELECT password_hash FROM staff_users",
    "script": "<script>alert(document.cookie)</script>",
    "cdata breakout": "]]><ToUserName>x</ToUserName><![CDATA[",
    "xml special characters": "<&>\"'",
    "huge text": "坏" * 20000,
    "emoji and rtl marks": "💥\u202e\u200f路灯" * 50,
    "query another resident's case": "查询 {other}",
    "query a made-up number": "查询 GZ20990101-999999",
    "query sql number": "查询 GZ' OR '1'='1",
    "evaluate someone else's case": "评价 {other} 5",
    "evaluate with a huge rating": "评价 99999999999999999999",
    "not fixed without a case": "没修好",
    "binding with a wrong code": "绑定 000000",
    "binding with letters": "绑定 abcdef",
    "submit with nothing": "提交",
    "cancel with nothing": "取消",
    "only whitespace": "     ",
    "format string": "%s%s%s%n{0}{__class__}",
    "path traversal": "../../../../etc/passwd",
}


@pytest.mark.parametrize("name", CONTENT)
def test_hostile_text_gets_a_handled_reply_and_makes_no_case(client, settings, world, unchanged, name):
    content = CONTENT[name].replace("{other}", world.other_number)
    sender = WeChatSender(client, settings.wechat_token)
    response = unchanged(
        lambda: sender.text(RESIDENT_B, content),
        may_change=("residents", "report_drafts", "staff"),
    )
    assert response.status_code == 200
    reply = reply_text(response) if response.get_data() != b"success" else ""
    # Another resident's case is answered as if it did not exist: no status, no description.
    assert world.other_number not in reply or "未找到" in reply or "不存在" in reply
    assert PRIVATE not in reply
    assert "password" not in reply and "Traceback" not in reply


EVENTS = {
    "scan a forged scene": dict(Event="SCAN", EventKey="cp:forged-code-123", Ticket="t"),
    "scan a sql scene": dict(Event="SCAN", EventKey="cp:1' OR '1'='1", Ticket="t"),
    "scan an unknown prefix": dict(Event="SCAN", EventKey="zz:whatever", Ticket="t"),
    "subscribe with a forged scene": dict(Event="subscribe", EventKey="qrscene_cp:forged", Ticket="t"),
    "scancode with a foreign url": dict(
        Event="scancode_waitmsg",
        EventKey="REPORT",
        ScanCodeInfo={"ScanType": "qrcode", "ScanResult": "https://evil.example/q/abc"},
    ),
    "location at the north pole": dict(Event="LOCATION", Latitude=90, Longitude=0, Precision=10),
    "location out of range": dict(Event="LOCATION", Latitude=999, Longitude=999, Precision=10),
    "location not a number": dict(Event="LOCATION", Latitude="north", Longitude="east", Precision=10),
    "unknown event": dict(Event="TOTALLY_NEW_EVENT"),
    "click an unknown key": dict(Event="CLICK", EventKey="<script>"),
    "template job for an unknown message": dict(Event="TEMPLATESENDJOBFINISH", MsgID=1, Status="success"),
}


@pytest.mark.parametrize("name", EVENTS)
def test_hostile_events_get_a_handled_reply_and_store_nothing_wrong(client, settings, world, unchanged, name):
    sender = WeChatSender(client, settings.wechat_token)
    response = unchanged(
        lambda: sender.post(build("event", RESIDENT_B, **EVENTS[name])),
        may_change=("residents", "report_drafts"),
    )
    assert response.status_code == 200  # WeChat's callbacks are always answered
    from sqlalchemy import select

    from core.models import Resident

    with client.application.extensions["gongzhi"].database.session() as s:
        person = s.scalar(select(Resident).where(Resident.openid == RESIDENT_B))
        assert person.last_lat is None or -90 <= person.last_lat <= 90  # no impossible position kept


LOCATIONS = {
    "latitude 999": (999, 117.3),
    "longitude -999": (31.8, -999),
    "NaN": ("nan", "nan"),
    "infinity": ("inf", "-inf"),
    "words": ("north", "east"),
}


@pytest.mark.parametrize("name", LOCATIONS)
def test_an_impossible_location_message_is_not_kept_for_a_report(client, settings, world, unchanged, name):
    lat, lng = LOCATIONS[name]
    sender = WeChatSender(client, settings.wechat_token)
    body = build("location", RESIDENT_A, Location_X=lat, Location_Y=lng, Scale=16, Label="x")
    response = unchanged(lambda: sender.post(body), may_change=("residents", "report_drafts"))
    assert response.status_code == 200  # WeChat's callbacks are always answered
    # Whatever the reply, a report submitted now must not carry that position.
    sender.text(RESIDENT_A, "路灯坏了")
    sender.text(RESIDENT_A, "提交")
    from sqlalchemy import select

    from core.models import Case

    with client.application.extensions["gongzhi"].database.session() as s:
        for case in s.scalars(select(Case)):
            assert case.lat is None or (-90 <= case.lat <= 90 and -180 <= case.lng <= 180)


def test_a_signed_query_is_bound_to_its_first_body(client, settings, world, unchanged):
    """Plain mode signs only token, timestamp and nonce: whoever saw one callback URL must not be
    able to post another body under it while its timestamp is fresh."""
    query = _query(settings.wechat_token)
    first = _raw(client, TEXT, query)
    assert first.status_code == 200 and reply_text(first)
    again = unchanged(lambda: _raw(client, TEXT, query))  # WeChat's retry of the same push
    assert again.status_code == 200 and reply_text(again) == reply_text(first)
    for body in (build("text", RESIDENT_A, Content="提交"), build("text", ME, Content="取消"), TEXT + " "):
        forged = unchanged(lambda body=body: _raw(client, body, query))
        assert forged.status_code == 403, body


def test_plain_deliveries_are_refused_once_an_aes_key_is_set(make_app, settings, world):
    """With an EncodingAESKey the caller may not pick plain mode, where the body is not signed."""
    from tests.support.hostile import snapshot

    app, client = _safe_app(make_app, settings)
    before = snapshot(app, settings)
    for query in (_query(settings.wechat_token), _query(settings.wechat_token, encrypt_type="raw")):
        assert _raw(client, TEXT, query).status_code == 403
    assert snapshot(app, settings) == before
    # The server check WeChat makes when the URL is saved carries no encrypt_type, and still works.
    echo = client.get("/wechat", query_string={**_query(settings.wechat_token), "echostr": "hello"})
    assert echo.status_code == 200 and echo.get_data() == b"hello"
