"""Journal entries as Redis stream fields: compact JSON another replica turns back into the
same JournalEntry (its near-miss reports included, for ``/__admin/requests/unmatched``)."""

from __future__ import annotations

import json
from typing import Any

from mockserver.core.journal import JournalEntry
from mockserver.core.report import NearStub

__all__ = ["decode_entry", "encode_entry"]


def encode_entry(entry: JournalEntry) -> str:
    """One entry as a JSON array (positional: it is written for every request).

    The body goes as Latin-1 text, which JSON's ASCII escapes carry byte for byte: cheaper
    than base64 for the text bodies most requests have.
    """
    return json.dumps(
        [
            entry.seq,
            entry.at,
            entry.method,
            entry.path,
            entry.query_string,
            entry.headers,
            entry.body.decode("latin-1"),
            entry.body_size,
            entry.body_truncated,
            entry.service,
            entry.stub_id,
            entry.status,
            entry.listener,
            [near.to_json() for near in entry.near_misses] if entry.near_misses else None,
            entry.error,
            entry.fault,
        ],
        separators=(",", ":"),
    )


def decode_entry(text: str | bytes) -> JournalEntry:
    """The entry ``encode_entry`` wrote.

    Raises:
        ValueError: not such an entry (a key written by something else).
    """
    row: Any = json.loads(text)
    if not isinstance(row, list) or len(row) != 16:
        raise ValueError("not a journal entry")
    (seq, at, method, path, query, headers, body, size, truncated) = row[:9]
    (service, stub_id, status, listener, near, error, fault) = row[9:]
    return JournalEntry(
        int(seq),
        float(at),
        str(method),
        str(path),
        str(query),
        tuple((str(name), str(value)) for name, value in headers),
        str(body).encode("latin-1"),
        int(size),
        bool(truncated),
        service,
        stub_id,
        int(status),
        listener,
        tuple(NearStub.from_json(n) for n in near) if near else (),
        error,
        fault,
    )
