"""Range requests (RFC 9110 §14) on a stub's chosen representation: 206, multipart/byteranges,
If-Range, 416.

Pure decisions on bytes already chosen by negotiation and conditionals (render.choose), so a
hand-written stub and a recorded one answer ``Range: bytes=-16`` as the service would: the
tail of the whole body, not a recorded slice replayed to everyone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from mockserver.core.etags import ETag
from mockserver.core.headernames import (
    ACCEPT_RANGES,
    CONTENT_RANGE,
    CONTENT_TYPE,
    ETAG,
    LAST_MODIFIED,
    LOWER_CONTENT_ENCODING,
    LOWER_CONTENT_TYPE,
    VARY,
    lowered,
)
from mockserver.core.http import parse_http_date

__all__ = ["MAX_RANGES", "RangeAnswer", "answer_range", "parse_ranges"]

# More ranges than this in one request is not a client reading a file, it is an amplification
# attempt (many overlapping ranges of one large body): the Range header is then ignored.
MAX_RANGES: Final = 64
_UNSATISFIABLE: Final = "unsatisfiable"


def parse_ranges(header: str, length: int) -> list[tuple[int, int]] | str | None:
    """The satisfiable byte ranges (first, last inclusive) of ``header`` for a body of
    ``length`` bytes; ``"unsatisfiable"`` when none is; None when the header is to be ignored
    (not bytes, malformed, too many ranges)."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec.strip():
        return None
    parts = spec.split(",")
    if len(parts) > MAX_RANGES:
        return None
    found: list[tuple[int, int]] = []
    for part in parts:
        first_text, dash, last_text = part.strip().partition("-")
        if not dash:
            return None
        first_text, last_text = first_text.strip(), last_text.strip()
        if not _digits(first_text) or not _digits(last_text) or not (first_text or last_text):
            return None
        if not first_text:  # a suffix: the last N bytes
            suffix = int(last_text)
            if suffix == 0:
                continue  # unsatisfiable on its own
            found.append((max(length - suffix, 0), length - 1))
            continue
        first = int(first_text)
        last = int(last_text) if last_text else length - 1
        if last_text and last < first:
            return None  # invalid: the whole header is ignored (§14.1.1)
        if first >= length:
            continue
        found.append((first, min(last, length - 1)))
    found = [r for r in found if r[0] <= r[1]]
    if sum(last - first + 1 for first, last in found) > length:
        return None  # overlapping ranges: more bytes than the body (an amplification), ignored
    return found if found else _UNSATISFIABLE


def _digits(text: str) -> bool:
    return text == "" or (text.isascii() and text.isdigit())


def if_range_holds(if_range: str, etag: str | None, last_modified: datetime | None) -> bool:
    """§13.1.5: an entity tag must match strongly (a weak one never does); a date must be
    exactly the representation's Last-Modified."""
    value = if_range.strip()
    if value.startswith(('"', "W/")):
        held, current = ETag.parse(value), ETag.parse(etag) if etag is not None else None
        return held is not None and current is not None and held.matches(current, weak=False)
    when = parse_http_date(value)
    return when is not None and last_modified is not None and when == last_modified


class RangeAnswer:
    """A 206 or 416 in place of a 200."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: tuple[tuple[str, str], ...], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


def answer_range(
    header: str,
    if_range: str | None,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    etag: str | None,
    last_modified: datetime | None,
) -> RangeAnswer | None:
    """What a GET with ``Range: header`` gets instead of the full 200, or None (send it).

    A compressed representation is sent whole, as nginx does: ranges of gzip bytes are valid
    HTTP, but no client can decode a slice of them.
    """
    if any(k.lower() == LOWER_CONTENT_ENCODING for k, _ in headers):
        return None
    if if_range is not None and not if_range_holds(if_range, etag, last_modified):
        return None
    length = len(body)
    ranges = parse_ranges(header, length)
    if ranges is None:
        return None
    if isinstance(ranges, str):
        kept = tuple((k, v) for k, v in headers if k.lower() in _KEPT_ON_416)
        return RangeAnswer(416, (*kept, (CONTENT_RANGE, f"bytes */{length}")), b"")
    if len(ranges) == 1:
        first, last = ranges[0]
        return RangeAnswer(
            206,
            (*headers, (CONTENT_RANGE, f"bytes {first}-{last}/{length}")),
            body[first : last + 1],
        )
    return _multipart(ranges, headers, body, etag)


# A 416 says nothing about a representation it does not send, but these stay true of it.
_KEPT_ON_416: Final = lowered(ETAG, LAST_MODIFIED, VARY, ACCEPT_RANGES)


def _multipart(
    ranges: list[tuple[int, int]],
    headers: Sequence[tuple[str, str]],
    body: bytes,
    etag: str | None,
) -> RangeAnswer:
    """multipart/byteranges (§14.6), each part with the representation's Content-Type."""
    length = len(body)
    content_type = next((v for k, v in headers if k.lower() == LOWER_CONTENT_TYPE), None)
    # Derived, not random: the same request gets the same bytes (tests, caches).
    seed = f"{etag}|{length}|{ranges}".encode()
    boundary = "mockserver-" + hashlib.blake2b(seed, digest_size=8).hexdigest()
    chunks: list[bytes] = []
    for first, last in ranges:
        head = f"--{boundary}\r\n"
        if content_type is not None:
            head += f"{CONTENT_TYPE}: {content_type}\r\n"
        head += f"{CONTENT_RANGE}: bytes {first}-{last}/{length}\r\n\r\n"
        chunks += [head.encode("latin-1"), body[first : last + 1], b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode("latin-1"))
    out = tuple((k, v) for k, v in headers if k.lower() != LOWER_CONTENT_TYPE)
    return RangeAnswer(
        206,
        (*out, (CONTENT_TYPE, f"multipart/byteranges; boundary={boundary}")),
        b"".join(chunks),
    )
