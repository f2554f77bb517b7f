"""The serve options that bound what a request, a connection or an upstream may take: a
Settings field each, with its converter and what it is (``--max-headers``...)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mockserver.cli import converters

__all__ = ["LIMITS"]

# Settings fields with a serve option each: (converter, what it is). SECURITY.md says why each
# default is what it is.
LIMITS: dict[str, tuple[Callable[[str], Any], str]] = {
    "max_request_line_bytes": (
        converters.positive,
        "longest request line (method, URL, version); 400",
    ),
    "max_header_bytes": (converters.positive, "longest header field, name and value; 400 past it"),
    "max_headers": (converters.positive, "most header fields in a request; 400 past it"),
    "request_timeout": (
        converters.seconds,
        "seconds from a request's first byte until its headers and body have arrived; past "
        "it 408 and the connection is closed (slowloris, slow POST)",
    ),
    "keepalive_timeout": (converters.seconds, "seconds an idle keep-alive connection is kept open"),
    "shutdown_timeout": (
        converters.seconds,
        "seconds a stop (SIGTERM) waits for requests in flight before cancelling them",
    ),
    "match_budget_ms": (
        converters.positive,
        "milliseconds one request's matching and its unmatched report may take together; past "
        "it the checks still running count as not matching (raise it to match multi-megabyte "
        "bodies)",
    ),
    "journal_body_cap": (
        converters.non_negative,
        "bytes of each request body the journal keeps; the rest is cut and flagged",
    ),
    "max_namespaces": (
        converters.positive,
        "most namespaces (/__ns/<name>/...) held at once; creating one more is refused (429)",
    ),
    "namespace_ttl": (
        converters.seconds,
        "seconds a namespace may go without a request or admin call before it expires",
    ),
    "upstream_connect_timeout": (
        converters.seconds,
        "seconds to connect to an upstream (--spy) before answering 504",
    ),
    "upstream_timeout": (
        converters.seconds,
        "seconds for a whole upstream exchange (--spy) before 504",
    ),
}
