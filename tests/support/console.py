"""Helpers for console page tests: signing a staff member in through the real form, reading tables."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from tests.support import factories

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


class _Tables(HTMLParser):
    """Collects the text of each cell of each <table id=…> (th and td alike), row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = self.tables.setdefault(dict(attrs).get("id") or f"table{len(self.tables)}", [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table:
            self._table[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table_rows(html: str, table_id: str) -> list[list[str]]:
    """The rows of the table with this id as lists of cell texts (whitespace collapsed), header included."""
    parser = _Tables()
    parser.feed(html)
    assert table_id in parser.tables, f"no table #{table_id}; tables: {sorted(parser.tables)}"
    return parser.tables[table_id]
