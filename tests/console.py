"""Helpers for console page tests: signing a staff member in through the real sign-in form."""

from __future__ import annotations

import re

from tests import factories

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str = "/console/login") -> str:
    """The CSRF token of this client's session, read from the hidden field of the page at `path`."""
    page = client.get(path)
    found = _TOKEN.search(page.get_data(as_text=True))
    assert found, f"no csrf_token field on {path} ({page.status_code})"
    return found[1]


def console_login(client, username: str, password: str = factories.PASSWORD):
    """Sign `username` in at /console/login; asserts it worked (303) and returns the response."""
    response = client.post(
        "/console/login",
        data={"csrf_token": csrf_token(client), "username": username, "password": password},
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return response
