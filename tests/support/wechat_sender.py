"""Posts messages to /wechat signed the way WeChat signs them (written from the spec, not wechatpy)."""

from __future__ import annotations

import hashlib
import itertools
import secrets
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape

from bot.commands import AGREE, HELP, REPORT, WITHDRAW

DATA = Path(__file__).parent.parent / "data" / "wechat"
ACCOUNT = "gh_3a1b2c4d5e6f"
_msg_ids = itertools.count(24531198765500000)

# What the bot takes a report from only once the sender agreed to the privacy notice (bot/reports.py).
REPORTING_TYPES = {"image", "location", "voice", "video", "shortvideo", "link"}
REPORTING_EVENTS = {"subscribe", "scan", "scancode_waitmsg", "location"}
NO_CONSENT_TEXTS = HELP | REPORT | AGREE | WITHDRAW


def needs_consent(body: str) -> tuple[str | None, bool, bool]:
    """(the sender, whether the bot would take it into a report, whether it answers the notice itself)."""
    if "<!DOCTYPE" in body.upper():
        return None, False, False
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None, False, False
    sender, kind = root.findtext("FromUserName"), root.findtext("MsgType")
    if kind == "event":
        return sender, (root.findtext("Event") or "").lower() in REPORTING_EVENTS, False
    if kind == "text":
        content = (root.findtext("Content") or "").strip()
        return sender, content not in NO_CONSENT_TEXTS, content in AGREE | WITHDRAW
    return sender, kind in REPORTING_TYPES, False


def sign(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


def sample(name: str) -> str:
    """One of the callback bodies from the WeChat documentation (tests/data/wechat)."""
    return (DATA / f"{name}.xml").read_text(encoding="utf-8")


def _element(name: str, value) -> str:
    if isinstance(value, dict):
        return f"<{name}>" + "".join(_element(k, v) for k, v in value.items()) + f"</{name}>"
    return f"<{name}>{escape(str(value))}</{name}>"


def build(msg_type: str, sender: str, *, msg_id: int | None = None, create_time: int | None = None, **fields) -> str:
    """A callback body of `msg_type` from `sender`; events carry no MsgId; dict values nest."""
    parts = [
        f"<ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>",
        f"<FromUserName><![CDATA[{sender}]]></FromUserName>",
        f"<CreateTime>{create_time or int(time.time())}</CreateTime>",
        f"<MsgType><![CDATA[{msg_type}]]></MsgType>",
    ]
    parts.extend(_element(name, value) for name, value in fields.items())
    if msg_type != "event":
        parts.append(f"<MsgId>{msg_id or next(_msg_ids)}</MsgId>")
    return "<xml>" + "".join(parts) + "</xml>"


class WeChatSender:
    """Sends signed callbacks to a Flask test client, in plain mode or, given `safe`, in safe mode.

    Like a resident who read the privacy notice, each sender first replies 「同意」 before the first
    message the bot would take into a report; `agree = False` sends exactly what the test says.
    """

    def __init__(self, client, token: str, safe=None, *, agree: bool = True) -> None:
        self.client = client
        self.token = token
        self.safe = safe  # a tests.support.wechat_crypto.SafeMode
        self.agree = agree
        self._agreed: set[str] = set()

    @classmethod
    def for_settings(cls, client, settings) -> WeChatSender:
        """A sender in safe mode when the settings have an EncodingAESKey."""
        from tests.support.wechat_crypto import SafeMode

        safe = None
        if settings.wechat_encoding_aes_key:
            safe = SafeMode(settings.wechat_token, settings.wechat_encoding_aes_key, settings.wechat_app_id)
        return cls(client, settings.wechat_token, safe)

    def query(self, *, timestamp: int | None = None, token: str | None = None, **extra) -> dict[str, str]:
        # A fresh nonce for every push, as WeChat sends: a signed query is bound to its first body.
        ts, nonce = str(timestamp or int(time.time())), secrets.token_hex(6)
        return {"signature": sign(token or self.token, ts, nonce), "timestamp": ts, "nonce": nonce, **extra}

    def post(self, body: str | bytes, **query_options):
        if self.agree and not query_options and isinstance(body, str):
            sender, reporting, answering = needs_consent(body)
            if sender and sender not in self._agreed and (reporting or answering):
                self._agreed.add(sender)  # a test's own 「同意」 (or 「撤回同意」) counts too: it is not sent twice
                if reporting and self.post(build("text", sender, Content="同意")).status_code != 200:
                    # The service is down (a fault test): the message itself gets that answer; agree next time.
                    self._agreed.discard(sender)
        query = self.query(**query_options)
        if self.safe is not None and isinstance(body, str):
            body, msg_signature = self.safe.envelope(body, query["timestamp"], query["nonce"])
            query.update(encrypt_type="aes", msg_signature=msg_signature)
        data = body.encode() if isinstance(body, str) else body
        response = self.client.post("/wechat", query_string=query, data=data, content_type="text/xml")
        if self.safe is not None and response.status_code == 200 and response.get_data() != b"success":
            # Read the reply as WeChat would: verify and decrypt it, then hand the plain XML on.
            response.set_data(self.safe.open_reply(response.get_data(as_text=True)).encode())
        return response

    def text(self, sender: str, content: str, **kw):
        return self.post(build("text", sender, Content=content, **kw))

    def image(self, sender: str, media_id: str, **kw):
        return self.post(build("image", sender, PicUrl="http://mmbiz.qpic.cn/x/0", MediaId=media_id, **kw))

    def location(self, sender: str, lat: float, lng: float, label: str = "", **kw):
        return self.post(build("location", sender, Location_X=lat, Location_Y=lng, Scale=16, Label=label, **kw))

    def event(self, sender: str, event: str, **fields):
        return self.post(build("event", sender, Event=event, **fields))


def reply_text(response) -> str | None:
    """The Content of a text reply, or None for WeChat's plain `success`."""
    import xml.etree.ElementTree as ET

    body = response.get_data(as_text=True)
    if body == "success":
        return None
    return ET.fromstring(body).findtext("Content")
