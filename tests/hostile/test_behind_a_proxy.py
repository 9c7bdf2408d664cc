"""Behind nginx every request comes from the proxy: limits must key on the client it saw, and an
X-Forwarded-For a client writes itself must buy it nothing. With Redis down, a limited path still serves."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from core.models import Case
from core.services.checkpoints import public_code
from tests.support import factories, images
from tests.support.processes import free_port
from tests.support.scan import form_fields

NGINX = "10.0.0.2"  # the address every request arrives from behind the proxy


def report(client, code: str, forwarded_for: str | None):
    """One report through the sign page, as it reaches the app: from the proxy, with its header."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    environ = {"REMOTE_ADDR": NGINX}
    page = client.get(f"/q/{code}", headers=headers, environ_base=environ)
    data = form_fields(page) | {
        "description": "东门垃圾堆了三天",
        "photos": [(io.BytesIO(images.small_png()), "p.png")],
    }
    return client.post(
        f"/q/{code}", data=data, content_type="multipart/form-data", headers=headers, environ_base=environ
    ).status_code


def cases(app) -> int:
    with app.extensions["gongzhi"].database.session() as s:
        return s.scalar(select(func.count()).select_from(Case))


def sign_code(app, settings) -> str:
    with app.extensions["gongzhi"].database.session() as s:
        return public_code(settings, factories.gate_checkpoint(s))


def test_behind_one_trusted_proxy_each_resident_has_their_own_limit(make_app, settings):
    app = make_app(settings.replace(trusted_proxy_hops=1))
    client, code = app.test_client(), sign_code(app, settings)
    for _ in range(5):
        assert report(client, code, "203.0.113.5") == 303
    assert report(client, code, "203.0.113.5") == 429
    # A client that writes its own X-Forwarded-For is still the address nginx appended last.
    assert report(client, code, "198.51.100.7, 203.0.113.5") == 429
    assert report(client, code, "203.0.113.6") == 303  # somebody else is not locked out
    assert cases(app) == 6


def test_without_trusted_proxies_a_forged_header_does_not_escape_the_limit(make_app, settings):
    app = make_app(settings)  # TRUSTED_PROXY_HOPS=0, the default
    client, code = app.test_client(), sign_code(app, settings)
    statuses = [report(client, code, f"198.51.100.{n}") for n in range(6)]
    assert statuses == [303] * 5 + [429]


def test_with_redis_down_a_limited_path_serves_the_report(make_app, settings, caplog):
    app = make_app(settings.replace(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    client, code = app.test_client(), sign_code(app, settings)
    assert report(client, code, None) == 303  # stored and answered; the outbox relays later
    assert cases(app) == 1
    assert "not checked: Redis is unreachable" in caplog.text
