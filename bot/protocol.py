"""WeChat's callback protocol through wechatpy: signature, replay window, safe-mode crypto, parsing."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from typing import Any
from xml.parsers.expat import ExpatError

from redis.exceptions import RedisError
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.messages import BaseMessage
from wechatpy.utils import check_signature

from core.settings import Settings

log = logging.getLogger(__name__)

MAX_OPENID = 64
MAX_BODY = 1024 * 1024
REPLAY_KEY = "gongzhi:wechat:signed:{}"


class Refused(Exception):
    """A callback we will not process; `status` is the HTTP answer (403, 400, 413)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def check_request(settings: Settings, args: Mapping[str, str]) -> None:
    """Refuse a request whose signature is wrong or whose timestamp is outside the replay window."""
    signature, timestamp, nonce = args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", "")
    try:
        check_signature(settings.wechat_token, signature, timestamp, nonce)
    except InvalidSignatureException:
        raise Refused(403, "invalid signature") from None
    window = settings.wechat_replay_window_seconds
    if window:
        try:
            age = abs(time.time() - int(timestamp))
        except ValueError:
            raise Refused(403, "invalid timestamp") from None
        if age > window:
            raise Refused(403, "timestamp outside the replay window")


def check_mode(settings: Settings, args: Mapping[str, str]) -> None:
    """With an EncodingAESKey set, only encrypted deliveries are taken (safe and compatible mode both
    send `encrypt_type=aes`): in plain mode the signature covers no part of the body."""
    if settings.wechat_encoding_aes_key and not is_safe_mode(args):
        raise Refused(403, "plain delivery refused: WECHAT_ENCODING_AES_KEY is set")


def bind_signature_to_body(redis: Any, settings: Settings, args: Mapping[str, str], body: bytes) -> None:
    """In plain mode, tie a signed (timestamp, nonce, signature) to the first body sent under it.

    The signature covers only the token, timestamp and nonce, so whoever saw one callback URL
    could otherwise post any body under it until the window closes. The same body again is a
    retry and goes on (the dialogue answers it once); a different body is refused. Without Redis
    the check is skipped and logged: the signature and the time window still hold.
    """
    window = settings.wechat_replay_window_seconds or 300
    signed = "|".join((args.get("timestamp", ""), args.get("nonce", ""), args.get("signature", "")))
    key = REPLAY_KEY.format(hashlib.sha256(signed.encode()).hexdigest())
    digest = hashlib.sha256(body).hexdigest()
    try:
        if redis.set(key, digest, nx=True, ex=window + 60):
            return
        first = redis.get(key)
    except RedisError:
        log.warning("wechat callback: Redis unreachable, signed request not bound to its body")
        return
    if first is not None and (first.decode() if isinstance(first, bytes) else first) != digest:
        raise Refused(403, "signature already used for another body")


def _crypto(settings: Settings) -> WeChatCrypto:
    if not settings.wechat_encoding_aes_key:
        raise Refused(403, "safe mode used but WECHAT_ENCODING_AES_KEY is not set")
    return WeChatCrypto(settings.wechat_token, settings.wechat_encoding_aes_key, settings.wechat_app_id)


def is_safe_mode(args: Mapping[str, str]) -> bool:
    return args.get("encrypt_type", "raw") == "aes"


def _decrypt(settings: Settings, args: Mapping[str, str], body: bytes) -> bytes:
    crypto = _crypto(settings)
    try:
        return crypto.decrypt_message(
            body, args.get("msg_signature", ""), args.get("timestamp", ""), args.get("nonce", "")
        ).encode()
    except (InvalidSignatureException, InvalidAppIdException):
        raise Refused(403, "message signature or app id invalid") from None
    except (ExpatError, KeyError, TypeError) as exc:
        raise Refused(400, f"malformed envelope: {type(exc).__name__}") from None
    except Exception:  # bad base64, padding or cipher text: it was not encrypted with our key
        raise Refused(403, "cipher text does not decrypt") from None


def read_message(settings: Settings, args: Mapping[str, str], body: bytes) -> BaseMessage:
    """The message in a checked callback body, decrypted in safe mode."""
    if not body.strip():
        raise Refused(400, "empty body")
    if len(body) > MAX_BODY:
        raise Refused(413, "body too large")
    if is_safe_mode(args):
        body = _decrypt(settings, args, body)
    if b"<!doctype" in body[:4096].lower():
        # WeChat never sends a DTD; one without entities parses, but nothing good comes of accepting it.
        raise Refused(400, "document type declarations are not accepted")
    try:
        message = parse_message(body)
    except (ExpatError, ValueError, KeyError, TypeError, AttributeError) as exc:
        # Malformed XML, entity declarations (xmltodict refuses them), missing fields, bad base64.
        raise Refused(400, f"malformed message: {type(exc).__name__}") from None
    if message is None:
        raise Refused(400, "empty message")
    if not _single_strings(getattr(message, "_data", None)):
        # A repeated element (two <Content>) parses as a list, which no handler expects.
        raise Refused(400, "malformed message: a field is not a single value")
    sender = getattr(message, "source", None)
    if not isinstance(sender, str) or not 0 < len(sender) <= MAX_OPENID:
        # An openid is 28 characters; anything without one, or far longer, did not come from WeChat.
        raise Refused(400, "missing or impossible sender")
    return message


# The elements WeChat itself nests (menu scans, picture and location pickers, publishing results);
# their children are single strings too, and only `item` repeats.
CONTAINERS = frozenset(
    {"ScanCodeInfo", "SendPicsInfo", "PicList", "SendLocationInfo", "CopyrightCheckResult", "ResultList", "item"}
)


def _single_strings(fields: object, depth: int = 0) -> bool:
    """Whether every field is one string (or empty), nested only in WeChat's own CONTAINERS."""
    if not isinstance(fields, dict) or depth > 3:
        return False
    for name, value in fields.items():
        if value is None or isinstance(value, str):
            continue
        if name not in CONTAINERS:
            return False
        parts = value if name == "item" and isinstance(value, list) else [value]
        if not all(_single_strings(part, depth + 1) for part in parts):
            return False
    return True


def render_reply(settings: Settings, args: Mapping[str, str], reply_xml: str) -> str:
    """The reply as WeChat expects it: encrypted in safe mode, plain otherwise."""
    if is_safe_mode(args):
        return _crypto(settings).encrypt_message(reply_xml, args.get("nonce", ""), args.get("timestamp"))
    return reply_xml
