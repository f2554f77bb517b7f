"""The ``--state`` value: ``memory`` or a Redis URL, checked at start and shown redacted."""

from __future__ import annotations

from typing import Final
from urllib.parse import SplitResult, urlsplit

__all__ = ["MEMORY", "REDIS_SCHEMES", "parse_state", "redacted"]

MEMORY: Final = "memory"
REDIS_SCHEMES: Final = ("redis", "rediss", "unix")


def parse_state(text: str) -> str:
    """``memory`` or a Redis URL, as given (lower-cased ``memory``).

    Raises:
        ValueError: neither; the message says what the value must be (never the value: it
            may hold a password).
    """
    value = text.strip()
    if value.lower() == MEMORY:
        return MEMORY
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in REDIS_SCHEMES or not (parts.hostname or parts.path):
        raise ValueError("'memory' or a Redis URL such as redis://HOST:6379/0")
    return value


def redacted(url: str) -> str:
    """``url`` with its password (and a user name's secret part) shown as ``***``: for logs,
    errors and ``/__admin/health``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if "@" not in parts.netloc and "password" not in parts.query.lower():
        return url
    host = parts.netloc.rpartition("@")[2]
    if "@" not in parts.netloc:
        shown = host
    elif parts.password is not None:
        shown = f"{parts.username or ''}:***@{host}"
    else:  # a lone user part may be a secret too (some clients read it as the password)
        shown = f"***@{host}"
    return SplitResult(parts.scheme, shown, parts.path, _redacted_query(parts.query), "").geturl()


def _redacted_query(query: str) -> str:
    # redis-py also reads ?password=... from the query.
    if "password" not in query.lower():
        return query
    pairs = [p.split("=", 1) for p in query.split("&")]
    return "&".join(
        f"{k}=***" if k.lower() == "password" and len(kv) > 1 else "=".join(kv)
        for kv in pairs
        for k in [kv[0]]
    )
