"""The outbound WeChat client: wechatpy aimed at one API base, with a shared, lock-refreshed token."""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from typing import Any

import requests
from redis import Redis
from redis.exceptions import LockError, LockNotOwnedError, WatchError
from redis.lock import Lock
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError
from urllib3.util.retry import Retry
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage

from core.settings import REAL_WECHAT_API_BASE, Settings
from wxclient.redact import redact, register_secrets

logger = logging.getLogger(__name__)

# The codes by which WeChat says "that access token is no good" (invalid credential,
# invalid token, expired token); wechatpy refreshes and retries on exactly these.
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
# Gateway answers that mean the request was not processed and may be tried again (GETs only).
RETRY_STATUSES = frozenset({502, 503, 504})
# Backoff between retries: 0, 0.4, 0.8 … seconds, never more than BACKOFF_MAX_SECONDS.
BACKOFF_FACTOR = 0.2
BACKOFF_MAX_SECONDS = 2.0
# wechatpy treats a token as stale this many seconds before WeChat would; keep the same margin.
TOKEN_MARGIN_SECONDS = 60
STORAGE_PREFIX = "gongzhi:wechat"
# How often a caller waiting for the token lock looks again; a token fetch takes about 0.1–1 s.
LOCK_POLL_SECONDS = 0.05

# Set while a call is being re-sent with a freshly fetched token, so a second token error
# ends the call instead of refreshing again (wechatpy itself would recurse without bound).
_RESENT_WITH_FRESH_TOKEN: ContextVar[bool] = ContextVar("gongzhi_wechat_resent", default=False)


class WeChatTokenLockTimeout(WeChatClientException):
    """Another thread or process held the token-refresh lock for longer than we may wait."""

    def __init__(self, lock_name: str, waited_seconds: float) -> None:
        super().__init__(
            errcode=None,
            errmsg=f"could not get the WeChat token lock {lock_name!r} within {waited_seconds:.1f}s",
        )
        self.lock_name = lock_name


class WeChatTransportError(WeChatClientException):
    """WeChat gave no usable answer: connection failure, timeout, or an HTTP error status.

    `may_have_reached_server` is False only when the request certainly never arrived (the
    connection could not be made). When it is True a POST (a message) may have been delivered,
    so sending it again may reach the resident twice.
    """

    def __init__(
        self,
        errmsg: str,
        *,
        method: str,
        url: str,
        may_have_reached_server: bool,
        request: Any = None,
        response: Any = None,
    ) -> None:
        super().__init__(errcode=None, errmsg=redact(errmsg), request=request, response=response)
        self.method = method.upper()
        self.url = redact(url)
        self.may_have_reached_server = may_have_reached_server


class _TransactionLock(Lock):
    """redis-py's Lock, but released with WATCH/MULTI/EXEC instead of a Lua script.

    The embedded run (and the test suite without a Redis server) uses fakeredis, which has no
    Lua unless lupa is installed; a transaction does the same compare-and-delete everywhere.
    """

    def do_release(self, expected_token: bytes) -> None:  # type: ignore[override]  # redis-py's stub says str; tokens are bytes
        with self.redis.pipeline() as pipe:
            try:
                pipe.watch(self.name)
                stored = pipe.get(self.name)
                if stored is not None and not isinstance(stored, bytes):
                    stored = self.redis.get_encoder().encode(stored)
                if stored != expected_token:
                    raise LockNotOwnedError("Cannot release a lock that's no longer owned", lock_name=self.name)
                pipe.multi()
                pipe.delete(self.name)
                pipe.execute()
            except WatchError as exc:
                # Someone took the key between our read and our delete: it is theirs now.
                raise LockNotOwnedError("The lock changed hands while releasing", lock_name=self.name) from exc


class _TimeoutHTTPAdapter(HTTPAdapter):
    """An adapter that supplies a timeout to any request sent without one.

    wechatpy's token fetch calls the session with no timeout at all; putting the default here
    means no request through this session can hang, whichever wechatpy path sent it.
    """

    def __init__(self, timeout: float, **kwargs: Any) -> None:
        self._default_timeout = timeout
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._default_timeout
        return super().send(request, **kwargs)


def build_retry(max_retries: int) -> Retry:
    """The retry policy for every WeChat call.

    Connection failures are retried for every method: the request never left, so even a POST
    (which sends a message to a resident) cannot be doubled. Read errors and 502/503/504 are
    retried only for GET and HEAD, because a POST that got that far may already have been acted on.
    """
    return Retry(
        total=max_retries,
        connect=max_retries,
        read=max_retries,
        status=max_retries,
        other=0,
        redirect=0,
        allowed_methods=frozenset({"GET", "HEAD"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=BACKOFF_FACTOR,
        backoff_max=BACKOFF_MAX_SECONDS,
        # A gateway's Retry-After could ask for minutes; our budget is bounded by our own backoff.
        respect_retry_after_header=False,
        # Hand the last 5xx back to wechatpy, which turns it into a WeChatClientException.
        raise_on_status=False,
    )


def build_http_session(timeout: float, max_retries: int) -> requests.Session:
    """A requests Session with a default timeout and the bounded retry policy on http and https."""
    session = requests.Session()
    adapter = _TimeoutHTTPAdapter(timeout, max_retries=build_retry(max_retries))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _never_connected(exc: BaseException) -> bool:
    """Whether a requests error means the connection was never made (so nothing was sent)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        # requests wraps urllib3's MaxRetryError; its reason tells connect failures apart
        # (NewConnectionError and NameResolutionError are ConnectTimeoutError subclasses).
        reason = getattr(exc.args[0], "reason", exc.args[0]) if exc.args else None
        return isinstance(reason, ConnectTimeoutError)
    return False


class GongzhiWeChatClient(WeChatClient):
    """wechatpy's official-account client, made safe to run from many threads and processes.

    - Every URL under https://api.weixin.qq.com/ (also the token call and sub-APIs that hard-code
      that host) is sent to `api_base` instead, so a proxy or the test fake sees every call.
    - The access token lives in Redis, shared by all processes; it is refreshed under a Redis
      lock, and re-checked after the lock is taken, so a crowd of callers makes one token request.
    - Every request has a timeout and a bounded, backed-off retry that never re-sends a POST
      which may have reached WeChat.
    - A token error (40001/40014/42001) refreshes once through the lock and re-sends once.
    - Failures to get any answer raise WeChatTransportError, a WeChatClientException.
    """

    _http: requests.Session

    def __init__(
        self,
        appid: str,
        secret: str,
        *,
        redis: Redis,
        api_base: str = REAL_WECHAT_API_BASE,
        timeout: float = 5.0,
        max_retries: int = 2,
        storage_prefix: str = STORAGE_PREFIX,
        lock_timeout: float | None = None,
        lock_wait: float | None = None,
        auto_retry: bool = True,
    ) -> None:
        """Build a client; `lock_timeout`/`lock_wait` default to what one token fetch may take."""
        super().__init__(
            appid,
            secret,
            session=RedisStorage(redis, prefix=storage_prefix),
            timeout=timeout,
            auto_retry=auto_retry,
        )
        register_secrets([secret])
        self._redis = redis
        self.api_base = api_base if api_base.endswith("/") else f"{api_base}/"
        self._http.close()
        self._http = build_http_session(timeout, max_retries)
        # The longest one token fetch can take: every try timing out, plus the backoff sleeps.
        fetch_budget = (max_retries + 1) * timeout + max_retries * BACKOFF_MAX_SECONDS
        # The lock outlives a holder that dies mid-fetch by only a little; waiters wait a bit
        # longer than that, so a dead holder delays them but never strands them.
        self._lock_timeout = lock_timeout if lock_timeout is not None else fetch_budget + 5
        self._lock_wait = lock_wait if lock_wait is not None else self._lock_timeout + 1
        self.token_lock_name = f"{storage_prefix}:{appid}:token-lock"

    # --- where calls go -------------------------------------------------------------------

    def rewrite_url(self, url: str) -> str:
        """Map a URL on the real WeChat API host onto `api_base`; leave any other URL alone."""
        if url.startswith(REAL_WECHAT_API_BASE):
            return self.api_base + url[len(REAL_WECHAT_API_BASE) :]
        return url

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        # Resolve the endpoint against its (possibly hard-coded) base first, so the rewrite
        # sees a full URL whichever sub-API built it.
        if not url_or_endpoint.startswith(("http://", "https://")):
            api_base_url = kwargs.pop("api_base_url", self.API_BASE_URL)
            url_or_endpoint = f"{api_base_url}{url_or_endpoint}"
        url = self.rewrite_url(url_or_endpoint)
        try:
            return super()._request(method, url, **kwargs)
        except requests.RequestException as exc:
            # `from None`: requests' own exception names the whole URL, query string and all, and a
            # chained exception is printed with every traceback (logs, rq's failed registry).
            raise self._transport_error(method, url, exc) from None
        except WeChatClientException as exc:
            converted = self._status_error(method, url, exc)
            if converted is exc:
                raise
            raise converted from None

    def _transport_error(self, method: str, url: str, exc: requests.RequestException) -> WeChatTransportError:
        return WeChatTransportError(
            f"{type(exc).__name__} on {method.upper()} {url}: {exc}",
            method=method,
            url=url,
            may_have_reached_server=not _never_connected(exc),
            request=exc.request,
            response=exc.response,
        )

    def _status_error(self, method: str, url: str, exc: WeChatClientException) -> WeChatClientException:
        """wechatpy reports an HTTP error status as errcode=None with no message; say what it was."""
        if exc.errcode is not None or exc.response is None or isinstance(exc, WeChatTransportError):
            return exc
        return WeChatTransportError(
            f"HTTP {exc.response.status_code} on {method.upper()} {url}",
            method=method,
            url=url,
            may_have_reached_server=True,
            request=exc.request,
            response=exc.response,
        )

    def _fetch_access_token(self, url: str, params: dict[str, str]) -> dict[str, Any]:
        # wechatpy hard-codes the real host here and sends no timeout: rewrite the URL, and the
        # session's adapter supplies the timeout.
        url = self.rewrite_url(url)
        try:
            return super()._fetch_access_token(url, params)
        except requests.RequestException as exc:
            raise self._transport_error("GET", url, exc) from None
        except WeChatClientException as exc:
            converted = self._status_error("GET", url, exc)
            if converted is exc:
                raise
            raise converted from None

    # --- the shared token -----------------------------------------------------------------

    def _usable_token(self) -> str | None:
        """The token in Redis if it has more than TOKEN_MARGIN_SECONDS to live, else None."""
        token = self.session.get(self.access_token_key)
        expires_at = self.session.get(self.access_token_expires_at_key)
        # Unlike wechatpy, a token without a known expiry is not trusted: we cannot tell its age.
        if not token or not expires_at or expires_at - time.time() <= TOKEN_MARGIN_SECONDS:
            return None
        return str(token)

    def _refresh_token_locked(self, stale_token: str | None) -> str:
        """Return a fresh token, fetching one only if nobody else has since `stale_token`.

        `stale_token` is the token the caller found wanting (None if it found none). After the
        lock is taken the token is read again: if another thread or process replaced it while
        we waited, that one is used and WeChat is not asked again.
        """
        lock = self._redis.lock(
            self.token_lock_name,
            timeout=self._lock_timeout,
            blocking_timeout=self._lock_wait,
            sleep=LOCK_POLL_SECONDS,
            lock_class=_TransactionLock,
        )
        if not lock.acquire():
            raise WeChatTokenLockTimeout(self.token_lock_name, self._lock_wait)
        try:
            token = self._usable_token()
            if token is not None and token != stale_token:
                return token
            # The unlocked fetch of wechatpy, which stores the token and its expiry in Redis.
            result = WeChatClient.fetch_access_token(self)
            return str(result["access_token"])
        finally:
            try:
                lock.release()
            except LockError:
                # The fetch outlasted the lock's timeout and someone else may hold it now;
                # the token is stored either way, so only note it.
                logger.warning("WeChat token lock %s expired before release", self.token_lock_name)

    @property
    def access_token(self) -> str:
        """The shared access token, refreshed under the lock when missing or about to expire."""
        token = self._usable_token()
        if token is not None:
            return token
        return self._refresh_token_locked(stale_token=None)

    def fetch_access_token(self) -> dict[str, Any]:
        """Get a new token from WeChat through the lock (unless another caller just did).

        Overrides wechatpy's unlocked fetch, so any code path that forces a refresh is serialised.
        """
        stale = self.session.get(self.access_token_key)
        token = self._refresh_token_locked(stale_token=stale)
        expires_at = self.session.get(self.access_token_expires_at_key) or time.time()
        return {"access_token": token, "expires_in": max(0, int(expires_at - time.time()))}

    def _token_errcode(self, res: Any) -> int | None:
        """The errcode of a response if it is one of the token errors, else None."""
        result = res if isinstance(res, dict) else self._decode_result(res)
        if not isinstance(result, dict) or "errcode" not in result:
            return None
        try:
            errcode = int(result["errcode"])
        except (TypeError, ValueError):
            return None
        return errcode if errcode in TOKEN_ERRCODES else None

    def _handle_result(
        self,
        res: Any,
        method: str | None = None,
        url: str | None = None,
        result_processor: Any = None,
        **kwargs: Any,
    ) -> Any:
        errcode = self._token_errcode(res)
        params = kwargs.get("params")
        if errcode is None or not self.auto_retry or not isinstance(params, dict):
            return super()._handle_result(res, method, url, result_processor, **kwargs)
        if _RESENT_WITH_FRESH_TOKEN.get():
            # A token fetched a moment ago was refused too: stop rather than refresh again.
            result = self._decode_result(res)
            raise WeChatClientException(
                errcode,
                result.get("errmsg", errcode),
                client=self,
                request=getattr(res, "request", None),
                response=res,
            )
        logger.info("WeChat refused the access token (errcode %s); refreshing once and re-sending", errcode)
        params["access_token"] = self._refresh_token_locked(stale_token=params.get("access_token"))
        marker = _RESENT_WITH_FRESH_TOKEN.set(True)
        try:
            return self._request(method or "GET", url or "", result_processor=result_processor, **kwargs)
        finally:
            _RESENT_WITH_FRESH_TOKEN.reset(marker)

    def close(self) -> None:
        """Close the HTTP connections this client holds."""
        self._http.close()


def make_wechat_client(settings: Settings, redis: Redis) -> GongzhiWeChatClient:
    """The official account's client, as every part of the service should build it."""
    return GongzhiWeChatClient(
        settings.wechat_app_id,
        settings.wechat_app_secret,
        redis=redis,
        api_base=settings.wechat_api_base,
        timeout=settings.wechat_timeout_seconds,
        max_retries=settings.wechat_max_retries,
    )
