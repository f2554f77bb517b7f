"""The request journal: what was served, in a ring buffer of bounded entries, plus hit counters.

Memory stays flat under any load: at most ``max_entries`` entries, each body cut at
``body_cap`` bytes (flagged). Hit counters per stub keep counting when the journal is off, so
verification by stub works even with ``--journal-size 0``.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from mockserver.core.budget import MATCH_BUDGET_S, end_match_budget, start_match_budget
from mockserver.core.headernames import LOWER_CONTENT_ENCODING
from mockserver.core.matching import request_holds
from mockserver.core.model import RequestSpec
from mockserver.core.report import NearStub
from mockserver.core.request import RequestView

__all__ = ["DEFAULT_BODY_CAP", "DEFAULT_JOURNAL_SIZE", "Journal", "JournalEntry", "Listener"]

# C0 controls but tab, line feed and carriage return, and DEL.
_CONTROLS: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

DEFAULT_JOURNAL_SIZE: Final = 1000
DEFAULT_BODY_CAP: Final = 64 * 1024


@dataclass(slots=True)  # not frozen: a frozen init costs a microsecond on every request
class JournalEntry:
    """One request as served: what arrived, which stub answered (or why none did).

    Read-only by convention; nothing changes an entry once it is journaled.
    """

    seq: int
    at: float  # epoch seconds
    method: str
    path: str
    query_string: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    body_size: int
    body_truncated: bool
    service: str | None
    stub_id: str | None
    status: int
    listener: int | None
    near_misses: tuple[NearStub, ...] = field(default=(), compare=False)
    error: str | None = None  # set when answering raised: a bug in mockserver, not the test
    fault: str | None = None  # the stub asked for this fault instead of an answer

    @property
    def matched(self) -> bool:
        return self.stub_id is not None

    def view(self) -> RequestView:
        """The request again, for counting and verification."""
        return RequestView(self.method, self.path, self.query_string, self.headers, self.body)

    def as_dict(self) -> dict[str, Any]:
        view = self.view()
        query, headers = view.shown_fields()
        try:
            body: str = self.body.decode("utf-8")
            encoding = "text"
            # Control characters are escaped six bytes each in JSON: such a body is binary in
            # all but name, and base64 keeps it at 4/3 (64 KiB of 0x01 was 393 KB of text).
            if _CONTROLS.search(body):
                raise UnicodeDecodeError("utf-8", b"", 0, 1, "control characters")
        except UnicodeDecodeError:
            body = base64.b64encode(self.body).decode("ascii")
            encoding = "base64"
        result: dict[str, Any] = {
            "seq": self.seq,
            "at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.at))
            + f".{int(self.at * 1000) % 1000:03d}Z",
            "method": self.method,
            "path": self.path,
            # Shown with secrets redacted (secretnames.py); counting and verification still
            # match what was sent.
            "query": query,
            "headers": headers,
            "body": body,
            "body_encoding": encoding,
            "body_size": self.body_size,
            "body_truncated": self.body_truncated,
            # The body above is decoded; this says how it arrived (gzip, deflate...).
            "content_encoding": view.headers.get(LOWER_CONTENT_ENCODING, [None])[0],
            "matched": self.matched,
            "stub": self.stub_id,
            "service": self.service,
            "status": self.status,
        }
        if not self.matched:
            result["nearest"] = [near.to_json() for near in self.near_misses]
        if self.error is not None:
            result["error"] = self.error
        if self.fault is not None:
            result["fault"] = self.fault
        return result


# Told of each entry as it is journaled, and of a clear (None): the dashboard's live stream.
Listener = Callable[["JournalEntry | None"], None]


class Journal:
    """A bounded, thread-safe record of served requests and per-stub hit counts."""

    def __init__(
        self, max_entries: int = DEFAULT_JOURNAL_SIZE, body_cap: int = DEFAULT_BODY_CAP
    ) -> None:
        if max_entries < 0 or body_cap < 0:
            raise ValueError("journal size and body cap cannot be negative")
        self.max_entries = max_entries
        self.body_cap = body_cap
        self._entries: deque[JournalEntry] = deque(maxlen=max_entries or 1)
        self._lock = threading.Lock()
        self._seq = 0
        self.hits: Counter[str] = Counter()
        self.unmatched_total = 0
        # Empty unless a page watches: record checks it once, so nobody watching costs
        # one truth test per request (issue 21).
        self._listeners: tuple[Listener, ...] = ()

    @classmethod
    def holding(
        cls,
        entries: list[JournalEntry],
        hits: Counter[str],
        unmatched_total: int,
        max_entries: int = DEFAULT_JOURNAL_SIZE,
        body_cap: int = DEFAULT_BODY_CAP,
    ) -> Journal:
        """A journal holding ``entries`` (oldest first; the newest ``max_entries`` kept) and
        these counts: what replicas share, read back from the state store, so the admin
        routes read it as they read this process's own."""
        journal = cls(max_entries, body_cap)
        if max_entries:
            journal._entries.extend(entries)
        journal.hits = hits
        journal.unmatched_total = unmatched_total
        return journal

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0

    def record(
        self,
        view: RequestView,
        *,
        service: str | None,
        stub_id: str | None,
        status: int,
        listener: int | None,
        near_misses: tuple[NearStub, ...] = (),
        error: str | None = None,
        fault: str | None = None,
    ) -> JournalEntry | None:
        """Journal one request; returns its entry (None with the journal off)."""
        with self._lock:
            self._seq += 1
            if stub_id is not None:
                self.hits[stub_id] += 1
            else:
                self.unmatched_total += 1
            if not self.max_entries:
                return None
            body = view.body
            entry = JournalEntry(
                self._seq,
                time.time(),
                view.method,
                view.path,
                view.query_string,
                view.header_items,
                body[: self.body_cap],
                len(body),
                len(body) > self.body_cap,
                service,
                stub_id,
                status,
                listener,
                near_misses,
                error,
                fault,
            )
            self._entries.append(entry)
        if self._listeners:
            for tell in self._listeners:
                tell(entry)
        return entry

    def entries(self, limit: int | None = None, offset: int = 0) -> list[JournalEntry]:
        """Entries oldest first; ``offset`` skips the oldest, ``limit`` caps how many."""
        with self._lock:
            items = list(self._entries)
        items = items[offset:]
        return items if limit is None else items[:limit]

    def __len__(self) -> int:
        return len(self._entries) if self.max_entries else 0

    def __iter__(self) -> Iterator[JournalEntry]:
        return iter(self.entries())

    def unmatched(self) -> list[JournalEntry]:
        return [e for e in self.entries() if not e.matched]

    def count(self, spec: RequestSpec, budget_s: float = MATCH_BUDGET_S) -> int:
        """How many journaled requests ``spec`` describes (one match budget for them all)."""
        budget = start_match_budget(budget_s)
        try:
            return sum(1 for e in self.entries() if request_holds(spec, e.view()))
        finally:
            end_match_budget(budget)

    def clear(self, *, hits: bool = True) -> None:
        with self._lock:
            self._entries.clear()
            if hits:
                self.hits.clear()
                self.unmatched_total = 0
        for tell in self._listeners:
            tell(None)

    @property
    def listening(self) -> int:
        """How many listeners are told of each entry."""
        return len(self._listeners)

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with each entry journaled from now on (None when the journal is
        cleared); returns what stops it. Listeners run on the recording thread: keep them to
        a queue put."""
        with self._lock:
            self._listeners = (*self._listeners, listener)

        def stop() -> None:
            with self._lock:
                self._listeners = tuple(f for f in self._listeners if f is not listener)

        return stop
