"""The sign page's form as a resident sends it: its hidden fields, with the privacy notice's box ticked."""

from __future__ import annotations

import re


def form_fields(page, *, agree: bool = True) -> dict[str, str]:
    """The form's CSRF token and submission id from `page` (a response), plus the ticked privacy box's value."""
    html = page.get_data(as_text=True)
    fields = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html)[1],
        "submission": re.search(r'name="submission" value="([^"]+)"', html)[1],
    }
    if agree:
        fields["privacy_version"] = re.search(r'name="privacy_version" value="([^"]+)"', html)[1]
    return fields
