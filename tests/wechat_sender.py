"""Posts messages to /wechat signed the way WeChat signs them (written from the spec, not wechatpy)."""

from __future__ import annotations

import hashlib
import itertools
import time
from pathlib import Path
from xml.sax.saxutils import escape

DATA = Path(__file__).parent / "data" / "wechat"
ACCOUNT = "gh_3a1b2c4d5e6f"
_msg_ids = itertools.count(24531198765500000)


def sign(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


def sample(name: str) -> str:
    """One of the callback bodies from the WeChat documentation (tests/data/wechat)."""
    return (DATA / f"{name}.xml").read_text(encoding="utf-8")


def build(msg_type: str, sender: str, *, msg_id: int | None = None, create_time: int | None = None, **fields) -> str:
    """A callback body of `msg_type` from `sender`; events carry no MsgId."""
    parts = [
        f"<ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>",
        f"<FromUserName><![CDATA[{sender}]]></FromUserName>",
        f"<CreateTime>{create_time or int(time.time())}</CreateTime>",
        f"<MsgType><![CDATA[{msg_type}]]></MsgType>",
    ]
    for name, value in fields.items():
        parts.append(f"<{name}>{escape(str(value))}</{name}>")
    if msg_type != "event":
        parts.append(f"<MsgId>{msg_id or next(_msg_ids)}</MsgId>")
    return "<xml>" + "".join(parts) + "</xml>"


class WeChatSender:
    """Sends signed callbacks to a Flask test client (or anything with .get/.post of that shape)."""

    def __init__(self, client, token: str) -> None:
        self.client = client
        self.token = token

    def query(self, *, timestamp: int | None = None, token: str | None = None, **extra) -> dict[str, str]:
        ts, nonce = str(timestamp or int(time.time())), "n0nce42"
        return {"signature": sign(token or self.token, ts, nonce), "timestamp": ts, "nonce": nonce, **extra}

    def post(self, body: str | bytes, **query_options):
        data = body.encode() if isinstance(body, str) else body
        return self.client.post("/wechat", query_string=self.query(**query_options), data=data, content_type="text/xml")

    def text(self, sender: str, content: str, **kw):
        return self.post(build("text", sender, Content=content, **kw))

    def image(self, sender: str, media_id: str, **kw):
        return self.post(build("image", sender, PicUrl="http://mmbiz.qpic.cn/x/0", MediaId=media_id, **kw))

    def location(self, sender: str, lat: float, lng: float, label: str = "", **kw):
        return self.post(build("location", sender, Location_X=lat, Location_Y=lng, Scale=16, Label=label, **kw))


def reply_text(response) -> str | None:
    """The Content of a text reply, or None for WeChat's plain `success`."""
    import xml.etree.ElementTree as ET

    body = response.get_data(as_text=True)
    if body == "success":
        return None
    return ET.fromstring(body).findtext("Content")
