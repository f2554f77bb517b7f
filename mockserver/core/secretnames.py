"""Which request values are secrets: shown as ``<redacted>`` wherever mockserver shows a
request (near-miss reports, the log, the journal's pages) and never written by a recording.

One list, so the recorder and every report agree (issue 13: a stub-answered request under
``--spy`` kept what a forwarded one had redacted, and a 404 echoed a client's Authorization).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final, TypeVar
from urllib.parse import unquote_plus

from mockserver.core.headernames import (
    AUTHORIZATION,
    COOKIE,
    LOWER_SET_COOKIE,
    PROXY_AUTHORIZATION,
    SET_COOKIE,
    X_API_KEY,
    lowered,
)

__all__ = [
    "PLACEHOLDER",
    "SECRET_HEADERS",
    "SECRET_QUERY",
    "names_secret_parameter",
    "redacted_cookies",
    "redacted_field",
    "redacted_mapping",
    "redacted_pairs",
    "redacted_query_string",
]

PLACEHOLDER: Final = "<redacted>"
SECRET_HEADERS: Final = lowered(AUTHORIZATION, PROXY_AUTHORIZATION, COOKIE, SET_COOKIE, X_API_KEY)
SECRET_QUERY: Final = frozenset(
    {
        "token",
        "api_key",
        "apikey",
        "access_token",
        "refresh_token",
        "client_secret",
        "password",
        "secret",
        "signature",
        "sig",
    }
)

V = TypeVar("V")


def redacted_field(field: str) -> bool:
    """Whether a near-miss field (``headers.authorization``, ``query.token``,
    ``cookies.session``) holds a secret: every cookie does, since session cookies have any
    name."""
    kind, _, name = field.partition(".")
    name = name.lower()
    return (
        (kind == "headers" and name in SECRET_HEADERS)
        or (kind == "query" and name in SECRET_QUERY)
        or kind == "cookies"
    )


def redacted_pairs(
    pairs: Iterable[tuple[str, str]], secret: frozenset[str]
) -> tuple[tuple[str, str], ...]:
    return tuple((k, PLACEHOLDER if k.lower() in secret else v) for k, v in pairs)


def redacted_mapping(values: Mapping[str, V], secret: frozenset[str]) -> dict[str, V | str]:
    return {k: PLACEHOLDER if k.lower() in secret else v for k, v in values.items()}


# A secret-named query parameter written into a text, such as a stub's url (``token=...``).
_SECRET_PARAMETER: Final = re.compile(
    r"(?<!\w)(?:" + "|".join(sorted(SECRET_QUERY)) + r")=", re.IGNORECASE
)


def names_secret_parameter(text: str) -> bool:
    """``text`` (a URL or a matcher over one) gives a secret-named query parameter a value."""
    return _SECRET_PARAMETER.search(text) is not None


def redacted_query_string(query: str) -> str:
    """``query`` with the values of secret-named parameters replaced, the rest as sent."""
    if not query:
        return query
    parts = []
    for part in query.split("&"):
        name, sep, _ = part.partition("=")
        # A server decodes the name: ?%74oken=... is a token too.
        said = unquote_plus(name) if "%" in name or "+" in name else name
        parts.append(f"{name}={PLACEHOLDER}" if sep and said.lower() in SECRET_QUERY else part)
    return "&".join(parts)


def redacted_cookies(header: str, value: str, placeholder: str = PLACEHOLDER) -> str:
    """A ``Cookie`` or ``Set-Cookie`` value with each cookie's value replaced and its name and
    attributes kept (``session=<redacted>; HttpOnly; Path=/``): a cookie jar, a ``Set-Cookie``
    assertion and ``cookies['session']`` still work on a recording, and a name is no secret."""
    if header.lower() == LOWER_SET_COOKIE:
        first, sep, attributes = value.partition(";")
        name, eq, _ = first.partition("=")
        if not eq:
            return placeholder
        return f"{name.strip()}={placeholder}{sep}{attributes}"
    parts = []
    for pair in value.split(";"):
        name, eq, _ = pair.strip().partition("=")
        parts.append(f"{name}={placeholder}" if eq else placeholder)
    return "; ".join(parts)
