"""A request body read for a body matcher: once per request, in slices within the budget.

xpath, form and multipart read the body into a structure (an XML tree, fields, parts) that
every stub looking at the same request shares (``RequestView.reading``); a body that cannot be
read so is an ``Unreadable`` with the reason its non-match reports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from mockserver.core.budget import BudgetExceeded, clock
from mockserver.core.headernames import LOWER_CONTENT_TYPE
from mockserver.core.patterns import Value

__all__ = ["Unreadable", "check_budget", "media_type", "read_body", "slices"]

# Bodies are parsed in slices of this many bytes, with a look at the request's budget between
# two: parsing a 10 MB body stops at the budget like a long JSON walk does.
SLICE: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A body that could not be read as the matcher needs, and why."""

    reason: str


def read_body(value: Value, kind: str, read: Callable[[bytes, str | None], Any]) -> Any:
    """The value read by ``read(bytes, content type)``: a request body once per request."""
    request = value.request
    if request is None:
        text = value.text
        return read(b"" if text is None else text.encode(), None)
    return request.reading(kind, lambda r: read(r.body, _content_type(r.headers)))


def _content_type(headers: Mapping[str, list[str]]) -> str | None:
    values = headers.get(LOWER_CONTENT_TYPE)
    return values[0] if values else None


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def check_budget(cost_s: float = 0.0) -> None:
    """Raise BudgetExceeded when the request's budget is spent, or cannot cover ``cost_s``
    more seconds of work that cannot be interrupted once begun."""
    if clock().left() <= cost_s:
        raise BudgetExceeded


def slices(data: bytes) -> Iterable[bytes]:
    for start in range(0, len(data), SLICE):
        check_budget()
        yield data[start : start + SLICE]
