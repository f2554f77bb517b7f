"""Secret-named query parameters in texts shown to people: the request log, the dashboard."""

from __future__ import annotations

import pytest

from mockserver.core.secretnames import redacted_query_string


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("", ""),
        ("page=2", "page=2"),
        ("page=2&token=abc", "page=2&token=<redacted>"),
        ("API_KEY=abc", "API_KEY=<redacted>"),
        # A server decodes the name before it reads the value: so must the redaction.
        ("%74oken=abc&x=1", "%74oken=<redacted>&x=1"),
        ("api%5Fkey=abc", "api%5Fkey=<redacted>"),
        ("token", "token"),  # a name with no value gives nothing away
        ("q=token%3Dabc", "q=token%3Dabc"),  # a value that mentions a name is a value
    ],
)
def test_secret_values_are_redacted_whatever_the_name_s_encoding(sent: str, shown: str) -> None:
    assert redacted_query_string(sent) == shown
