"""Security headers on every answer: a strict Content-Security-Policy on pages, no framing, no sniffing, no referrer.

Scripts come only from this site's /static/ (no inline script, no event-handler attributes); styles may
be inline (the templates use <style> blocks and style= attributes, which a nonce cannot cover). Photos
may come from PUBLIC_BASE_URL's origin, where media links point. Referrer-Policy is no-referrer because
tracking and media tokens travel in URLs. HSTS is sent when PUBLIC_BASE_URL is https.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response

HSTS = "max-age=31536000; includeSubDomains"


def content_security_policy(public_base_url: str, store_origin: str | None = None) -> str:
    """The policy of every HTML page; photos may also come from the public address's origin, and
    `data:` images are the TOTP enrolment QR code, drawn on the server (web/staff/console/account.py).
    With MEDIA_REDIRECT, /media answers with a redirect to the store, whose origin images need too."""
    parts = urlsplit(public_base_url)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    images = " ".join(filter(None, ["'self'", "data:", origin, store_origin]))
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src {images}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def init_app(app: Flask, public_base_url: str, store_origin: str | None = None) -> None:
    policy = content_security_policy(public_base_url, store_origin)
    https = public_base_url.startswith("https://")

    @app.after_request
    def _secure(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        if response.mimetype == "text/html":
            headers.setdefault("Content-Security-Policy", policy)
            headers.setdefault("X-Frame-Options", "DENY")
        if https:
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response
