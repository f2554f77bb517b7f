"""What a recorded answer keeps of its status line and clock: a reason phrase the service
chose (``reason: Custom``), and ``Expires`` as seconds after the answer's ``Date``
(``expires_in: 3600``), sent relative to each answer's own moment so a replay a month later is
as fresh as the service's answer was (issue 16).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, Final, Protocol

from mockserver.core.headernames import EXPIRES, LOWER_EXPIRES

__all__ = ["parse_expires_in", "parse_reason", "valid_reason", "with_expires"]

# RFC 9112 §4: reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ).
_REASON: Final = re.compile(r"[\t \x21-\x7e\x80-\xff]{1,200}\Z")
_TEN_YEARS: Final = 10 * 366 * 24 * 3600


class _Problems(Protocol):
    def add(self, at: tuple[str | int, ...], message: str) -> None: ...


def valid_reason(text: str) -> bool:
    """Whether ``text`` can be a status line's reason phrase (and so a stub's ``reason:``)."""
    return _REASON.match(text) is not None


def parse_reason(spec: Mapping[str, Any], at: tuple[str | int, ...], out: _Problems) -> str | None:
    raw = spec.get("reason")
    if raw is None:
        return None
    if not isinstance(raw, str) or not valid_reason(raw):
        out.add(
            (*at, "reason"),
            "reason is the status line's phrase: 1 to 200 printable characters, e.g. Custom",
        )
        return None
    return raw


def parse_expires_in(
    spec: Mapping[str, Any], at: tuple[str | int, ...], out: _Problems
) -> int | None:
    raw = spec.get("expires_in")
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or abs(raw) > _TEN_YEARS:
        out.add(
            (*at, "expires_in"),
            "expires_in is whole seconds after the answer's Date (negative: already expired), "
            f"at most {_TEN_YEARS:,} either way",
        )
        return None
    for name in spec.get("headers") or {}:
        if isinstance(name, str) and name.lower() == LOWER_EXPIRES:
            out.add((*at, "expires_in"), "give expires_in or an Expires header, not both")
            return None
    return raw


def with_expires(
    headers: tuple[tuple[str, str], ...], seconds: int, now: datetime | None = None
) -> tuple[tuple[str, str], ...]:
    """``headers`` with ``Expires`` ``seconds`` after now (the Date the server sends)."""
    moment = (now or datetime.now(UTC)).replace(microsecond=0) + timedelta(seconds=seconds)
    return (*headers, (EXPIRES, format_datetime(moment, usegmt=True)))
