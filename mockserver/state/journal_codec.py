"""Journal entries as Redis stream fields: compact msgpack another replica turns back into the
same JournalEntry (its near-miss reports included, for ``/__admin/requests/unmatched``).

msgpack rather than JSON: one is packed for every request, and packing costs a quarter of
``json.dumps`` here (reading back, an eighth); the body goes as its bytes.
"""

from __future__ import annotations

from typing import Any, Final

import msgpack

from mockserver.core.journal import JournalEntry
from mockserver.core.report import NearStub

__all__ = ["decode_entry", "encode_entry"]

# Header values aiohttp could not decode as UTF-8 arrive as surrogate escapes: kept as such.
_ERRORS: Final = "surrogateescape"
_FIELDS: Final = 16


def encode_entry(entry: JournalEntry) -> bytes:
    """One entry as a msgpack array (positional: it is written for every request)."""
    return msgpack.packb(  # type: ignore[no-any-return]
        (
            entry.seq,
            entry.at,
            entry.method,
            entry.path,
            entry.query_string,
            entry.headers,
            entry.body,
            entry.body_size,
            entry.body_truncated,
            entry.service,
            entry.stub_id,
            entry.status,
            entry.listener,
            [near.to_json() for near in entry.near_misses] if entry.near_misses else None,
            entry.error,
            entry.fault,
        ),
        unicode_errors=_ERRORS,
    )


def decode_entry(data: bytes) -> JournalEntry:
    """The entry ``encode_entry`` wrote.

    Raises:
        ValueError: not such an entry (a field written by something else).
    """
    row: Any = msgpack.unpackb(data, unicode_errors=_ERRORS)
    if not isinstance(row, list) or len(row) != _FIELDS:
        raise ValueError("not a journal entry")
    (seq, at, method, path, query, headers, body, size, truncated) = row[:9]
    (service, stub_id, status, listener, near, error, fault) = row[9:]
    return JournalEntry(
        seq,
        at,
        method,
        path,
        query,
        tuple((name, value) for name, value in headers),
        body,
        size,
        truncated,
        service,
        stub_id,
        status,
        listener,
        tuple(NearStub.from_json(n) for n in near) if near else (),
        error,
        fault,
    )
