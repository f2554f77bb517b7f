"""The journal of messages: what the messaging doubles consumed and published, kept per store
(emptied by its reset) in a bounded ring, as the request journal is: ``GET /__admin/messages``.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

__all__ = ["MESSAGES_KEPT", "MessageEntry", "MessageLog"]

MESSAGES_KEPT: Final = 10_000
BODY_SHOWN: Final = 64 * 1024  # characters of a body an entry keeps

Direction = Literal["consumed", "published"]


@dataclass(frozen=True, slots=True)
class MessageEntry:
    seq: int
    at: float
    direction: Direction
    exchange: str
    routing_key: str
    body: str
    properties: Mapping[str, Any]
    headers: Mapping[str, Any]
    consumer: str | None = None  # the consumer that matched (consumed), or None
    matched: bool = True
    queue: str | None = None
    stub: str | None = None  # the HTTP stub whose answer published it
    error: str | None = None  # a publish the broker did not confirm, a reply not sent
    # An unmatched message: each consumer of its queue and the first differences.
    near_misses: Sequence[Mapping[str, Any]] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "seq": self.seq,
            "at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.at))
            + f".{int(self.at * 1000) % 1000:03d}Z",
            "direction": self.direction,
            "exchange": self.exchange,
            "routing_key": self.routing_key,
            "consumer": self.consumer,
            "body": self.body,
            "properties": dict(self.properties),
            "headers": dict(self.headers),
            "matched": self.matched,
        }
        for key in ("queue", "stub", "error"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.near_misses:
            out["near_misses"] = [dict(m) for m in self.near_misses]
        return out


class MessageLog:
    """The last messages of one store, oldest first; thread-safe (the plugin reads it from
    the test's thread while the server's loop writes)."""

    def __init__(self, keep: int = MESSAGES_KEPT) -> None:
        self._entries: deque[MessageEntry] = deque(maxlen=keep)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self.unmatched_total = 0  # since the last clear, however many the ring still holds

    def record(self, direction: Direction, body: bytes, **fields: Any) -> MessageEntry:
        text = body[:BODY_SHOWN].decode("utf-8", errors="replace")
        with self._lock:
            entry = MessageEntry(next(self._seq), time.time(), direction, body=text, **fields)
            self._entries.append(entry)
            if not entry.matched:
                self.unmatched_total += 1
        return entry

    def entries(self) -> list[MessageEntry]:
        with self._lock:
            return list(self._entries)

    def count(
        self, exchange: str | None, routing_key: str | None, direction: Direction | None = None
    ) -> int:
        return sum(
            1
            for e in self.entries()
            if (exchange is None or e.exchange == exchange)
            and (routing_key is None or e.routing_key == routing_key)
            and (direction is None or e.direction == direction)
        )

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.unmatched_total = 0

    def __len__(self) -> int:
        return len(self._entries)
