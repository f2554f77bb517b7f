"""HTTP header names for the core, which may not import aiohttp's ``hdrs``.

Two forms, one source. ``CONTENT_TYPE`` is the name as we send it: the identifier of
``aiohttp.hdrs.CONTENT_TYPE`` and its casing, so core and shell read alike, but for ``ETag``,
which we send as RFC 9110 spells it (aiohttp's is ``Etag``; tests compare raw answers).
``LOWER_CONTENT_TYPE`` is the form the core compares with, after
``name.lower()``; it is derived from the sent form, so the two cannot drift. Sets of names are
built with ``lowered(...)`` from the sent forms. Flat module constants rather than a namespace
class: ``from ... import CONTENT_TYPE`` makes each a global of the module that reads it, one
lookup on a per-request path, not two.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ACCEPT",
    "ACCEPT_ENCODING",
    "ACCEPT_RANGES",
    "ALLOW",
    "AUTHORIZATION",
    "CACHE_CONTROL",
    "CONNECTION",
    "CONTENT_ENCODING",
    "CONTENT_LENGTH",
    "CONTENT_LOCATION",
    "CONTENT_RANGE",
    "CONTENT_TYPE",
    "COOKIE",
    "DATE",
    "ETAG",
    "EXPIRES",
    "IF_MATCH",
    "IF_MODIFIED_SINCE",
    "IF_NONE_MATCH",
    "IF_RANGE",
    "IF_UNMODIFIED_SINCE",
    "KEEP_ALIVE",
    "LAST_MODIFIED",
    "LOCATION",
    "LOWER_ACCEPT_ENCODING",
    "LOWER_CONNECTION",
    "LOWER_CONTENT_ENCODING",
    "LOWER_CONTENT_LENGTH",
    "LOWER_CONTENT_TYPE",
    "LOWER_COOKIE",
    "LOWER_DATE",
    "LOWER_ETAG",
    "LOWER_EXPIRES",
    "LOWER_IF_MATCH",
    "LOWER_IF_NONE_MATCH",
    "LOWER_LAST_MODIFIED",
    "LOWER_SERVER",
    "LOWER_SET_COOKIE",
    "LOWER_VARY",
    "PROXY_AUTHENTICATE",
    "PROXY_AUTHORIZATION",
    "PROXY_CONNECTION",
    "RANGE",
    "RETRY_AFTER",
    "SERVER",
    "SET_COOKIE",
    "TE",
    "TRAILER",
    "TRANSFER_ENCODING",
    "UPGRADE",
    "VARY",
    "X_API_KEY",
    "lowered",
]

ACCEPT: Final = "Accept"
ACCEPT_ENCODING: Final = "Accept-Encoding"
ACCEPT_RANGES: Final = "Accept-Ranges"
ALLOW: Final = "Allow"
AUTHORIZATION: Final = "Authorization"
CACHE_CONTROL: Final = "Cache-Control"
CONNECTION: Final = "Connection"
CONTENT_ENCODING: Final = "Content-Encoding"
CONTENT_LENGTH: Final = "Content-Length"
CONTENT_LOCATION: Final = "Content-Location"
CONTENT_RANGE: Final = "Content-Range"
CONTENT_TYPE: Final = "Content-Type"
COOKIE: Final = "Cookie"
DATE: Final = "Date"
ETAG: Final = "ETag"
EXPIRES: Final = "Expires"
IF_MATCH: Final = "If-Match"
IF_MODIFIED_SINCE: Final = "If-Modified-Since"
IF_NONE_MATCH: Final = "If-None-Match"
IF_RANGE: Final = "If-Range"
IF_UNMODIFIED_SINCE: Final = "If-Unmodified-Since"
KEEP_ALIVE: Final = "Keep-Alive"
LAST_MODIFIED: Final = "Last-Modified"
LOCATION: Final = "Location"
PROXY_AUTHENTICATE: Final = "Proxy-Authenticate"
PROXY_AUTHORIZATION: Final = "Proxy-Authorization"
PROXY_CONNECTION: Final = "Proxy-Connection"
RANGE: Final = "Range"
RETRY_AFTER: Final = "Retry-After"
SERVER: Final = "Server"
SET_COOKIE: Final = "Set-Cookie"
TE: Final = "TE"
TRAILER: Final = "Trailer"
TRANSFER_ENCODING: Final = "Transfer-Encoding"
UPGRADE: Final = "Upgrade"
VARY: Final = "Vary"
# Not a registered field, but where most APIs take a key: a secret (secretnames.py).
X_API_KEY: Final = "X-Api-Key"

LOWER_ACCEPT_ENCODING: Final = ACCEPT_ENCODING.lower()
LOWER_CONNECTION: Final = CONNECTION.lower()
LOWER_CONTENT_ENCODING: Final = CONTENT_ENCODING.lower()
LOWER_CONTENT_LENGTH: Final = CONTENT_LENGTH.lower()
LOWER_CONTENT_TYPE: Final = CONTENT_TYPE.lower()
LOWER_COOKIE: Final = COOKIE.lower()
LOWER_DATE: Final = DATE.lower()
LOWER_ETAG: Final = ETAG.lower()
LOWER_EXPIRES: Final = EXPIRES.lower()
LOWER_IF_MATCH: Final = IF_MATCH.lower()
LOWER_IF_NONE_MATCH: Final = IF_NONE_MATCH.lower()
LOWER_LAST_MODIFIED: Final = LAST_MODIFIED.lower()
LOWER_SERVER: Final = SERVER.lower()
LOWER_SET_COOKIE: Final = SET_COOKIE.lower()
LOWER_VARY: Final = VARY.lower()


def lowered(*names: str) -> frozenset[str]:
    """The lower-cased set of ``names``, for membership tests after ``name.lower()``."""
    return frozenset(name.lower() for name in names)
