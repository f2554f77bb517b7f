"""The journal of webhook calls: what each stub's calls got, kept per store (so each namespace
has its own, emptied by its reset) in a bounded ring: ``GET /__admin/webhooks``."""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from mockserver.core.secretnames import redacted_query_string

__all__ = ["DELIVERIES_KEPT", "Delivery", "DeliveryLog"]

DELIVERIES_KEPT: Final = 1000


@dataclass(frozen=True, slots=True)
class Delivery:
    seq: int
    at: float
    stub: str
    method: str
    url: str  # secret-named query values redacted
    status: int | None
    error: str | None
    duration_ms: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.at))
            + f".{int(self.at * 1000) % 1000:03d}Z",
            "stub": self.stub,
            "method": self.method,
            "url": self.url,
            "status": self.status,
            "error": self.error,
            "duration_ms": round(self.duration_ms, 1),
        }


class DeliveryLog:
    """The last webhook calls of one store, oldest first; thread-safe."""

    def __init__(self, keep: int = DELIVERIES_KEPT) -> None:
        self._entries: deque[Delivery] = deque(maxlen=keep)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    def record(
        self,
        stub: str,
        method: str,
        url: str,
        status: int | None,
        error: str | None,
        duration_ms: float,
    ) -> None:
        with self._lock:
            self._entries.append(
                Delivery(
                    next(self._seq),
                    time.time(),
                    stub,
                    method,
                    shown_url(url),
                    status,
                    error,
                    duration_ms,
                )
            )

    def entries(self) -> list[Delivery]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def shown_url(url: str) -> str:
    """``url`` with secret-named query values redacted."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=redacted_query_string(parts.query)))
