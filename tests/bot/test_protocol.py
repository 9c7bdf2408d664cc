"""WeChat's callback protocol in safe mode, Tencent's published sample, and replies nothing can break."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from bot.replies import MAX_REPLY_BYTES
from core.settings import Settings
from tests.support.wechat_crypto import SafeMode, signature
from tests.support.wechat_sender import WeChatSender, build, reply_text

# Tencent's sample for its message-encryption library (WXBizMsgCrypt): key, app id, token, and a
# compatible-mode message (plain fields and <Encrypt> side by side) with its msg_signature.
TENCENT = {
    "token": "spamtest",
    "aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "app_id": "wx2c2769f8efd9abc2",
    "timestamp": "1409735669",
    "nonce": "1320562132",
    "msg_signature": "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
    "body": (
        "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]>"
        "</FromUserName><CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[abcdteT]]>"
        "</Content><MsgId>6054768590064713728</MsgId><Encrypt><![CDATA[hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655H"
        "uD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWy"
        "WNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8"
        "tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpC"
        "umEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=]]></Encrypt></xml>"
    ),
}


@pytest.fixture
def tencent_app(settings: Settings, make_app):
    return make_app(
        settings.replace(
            wechat_token=TENCENT["token"],
            wechat_encoding_aes_key=TENCENT["aes_key"],
            wechat_app_id=TENCENT["app_id"],
            wechat_replay_window_seconds=0,  # the sample is from 2014
        )
    )


def tencent_query(**changes) -> dict[str, str]:
    query = {
        "signature": signature(TENCENT["token"], TENCENT["timestamp"], TENCENT["nonce"]),
        "timestamp": TENCENT["timestamp"],
        "nonce": TENCENT["nonce"],
        "encrypt_type": "aes",
        "msg_signature": TENCENT["msg_signature"],
        "openid": "oyORnuP8q7ou2gfYjqLzSIWZf0rs",
    }
    return query | changes


def test_tencents_published_sample_is_decrypted_and_answered_encrypted(tencent_app):
    response = tencent_app.test_client().post("/wechat", query_string=tencent_query(), data=TENCENT["body"])
    assert response.status_code == 200
    safe = SafeMode(TENCENT["token"], TENCENT["aes_key"], TENCENT["app_id"])
    plain = ET.fromstring(safe.open_reply(response.get_data(as_text=True)))
    # The sample says "abcdteT": not a command and no problem we know, so the help text comes back.
    assert plain.findtext("ToUserName") == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
    assert "随手拍" in plain.findtext("Content")


@pytest.mark.parametrize(
    "change",
    [
        {"msg_signature": "0" * 40},
        {"timestamp": "1409735670"},  # both signatures are over the timestamp
        {"signature": "f" * 40},
    ],
)
def test_tampered_safe_mode_requests_are_403(tencent_app, change):
    response = tencent_app.test_client().post("/wechat", query_string=tencent_query(**change), data=TENCENT["body"])
    assert response.status_code == 403


def test_ciphertext_that_does_not_decrypt_is_403(tencent_app):
    token = TENCENT["token"]
    for garbage in ["not base64 at all!!", "QUJDRA==", "A" * 64]:
        body = f"<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[{garbage}]]></Encrypt></xml>"
        query = tencent_query(msg_signature=signature(token, TENCENT["timestamp"], TENCENT["nonce"], garbage))
        assert tencent_app.test_client().post("/wechat", query_string=query, data=body).status_code == 403


def test_a_message_encrypted_for_another_app_is_403(client, settings, mode):
    if mode != "safe":
        pytest.skip("safe mode only")
    other = SafeMode(settings.wechat_token, settings.wechat_encoding_aes_key, "wxSomeoneElse")
    sender = WeChatSender(client, settings.wechat_token, other)
    assert sender.text("oX", "帮助").status_code == 403


def test_get_verification_in_either_mode(client, wechat):
    response = client.get("/wechat", query_string=wechat.query(echostr="e42"))
    assert response.get_data(as_text=True) == "e42"


def test_the_replay_window_can_be_turned_off(settings, make_app):
    old = settings.replace(wechat_replay_window_seconds=0)
    sender = WeChatSender.for_settings(make_app(old).test_client(), old)
    assert sender.text("oOld", "帮助", timestamp=1409735669).status_code == 200


def test_replies_stay_readable_whatever_the_resident_typed(wechat):
    sneaky = "路灯不亮]]><MsgType>hack</MsgType>"
    reply = reply_text(wechat.location("oSneaky", 31.8, 117.3, sneaky))
    assert f"已记录位置：{sneaky}。" in reply  # the whole label came back as text, the XML intact


def test_long_replies_fit_in_2048_bytes(wechat):
    wechat.location("oLong", 31.8, 117.3, "方兴大道")
    long_text = "小区东门的路灯不亮了，" * 150
    response = wechat.text("oLong", long_text)
    assert response.status_code == 200
    content = reply_text(response)
    assert len(content.encode()) <= MAX_REPLY_BYTES
    assert content.startswith("已记录问题描述")


def test_unknown_types_are_acknowledged_without_touching_anything(wechat, app):
    from sqlalchemy import func, select

    from core.models import Resident

    for body in [
        build("file", "oUnknown", Title="x", FileKey="k"),
        build("event", "oUnknown", Event="some_future_event"),
        build("event", "oUnknown", Event="VIEW", EventKey="https://example.invalid/"),
    ]:
        response = wechat.post(body)
        assert response.status_code == 200 and response.get_data(as_text=True) == "success"
    with app.extensions["gongzhi"].database.session() as s:
        assert s.scalar(select(func.count()).select_from(Resident)) == 0


def test_characters_xml_cannot_carry_are_dropped():
    from core.text import clean

    assert clean("  路灯\x07坏了\x00\ufffe ") == "路灯坏了"
    assert clean("a\tb\nc") == "a\tb\nc"


def test_in_safe_mode_the_reply_on_the_wire_is_encrypted(client, settings, mode):
    if mode != "safe":
        pytest.skip("safe mode only")
    raw = WeChatSender(client, settings.wechat_token)  # posts by hand, reads the raw answer
    safe = SafeMode(settings.wechat_token, settings.wechat_encoding_aes_key, settings.wechat_app_id)
    query = raw.query()
    body, msg_signature = safe.envelope(build("text", "oWire", Content="帮助"), query["timestamp"], query["nonce"])
    response = client.post(
        "/wechat", query_string=query | {"encrypt_type": "aes", "msg_signature": msg_signature}, data=body
    )
    wire = response.get_data(as_text=True)
    assert "<Encrypt>" in wire and "随手拍" not in wire
    assert "随手拍" in ET.fromstring(safe.open_reply(wire)).findtext("Content")


@pytest.mark.slow
def test_without_redis_a_signed_query_is_not_bound_and_the_message_still_goes_through(settings, caplog):
    import redis as redis_lib

    from bot.protocol import bind_signature_to_body
    from tests.support.processes import free_port

    unreachable = redis_lib.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    args = {"timestamp": "1", "nonce": "n", "signature": "s"}
    bind_signature_to_body(unreachable, settings, args, b"<xml/>")  # no exception: the signature still holds
    bind_signature_to_body(unreachable, settings, args, b"<xml>other</xml>")
    assert "not bound to its body" in caplog.text
