"""Strict mode over a whole test: every request no stub matched, and where it was made.

Each fixture that serves a test (``mockserver``, ``mock_requests``...) is a ``Watch``. Its
unmatched requests are counted by the server, not found in the journal (a ring of 1,000 that
a busy test wraps), taken after each fixture's setup and teardown and at the end of each phase,
and blamed on that phase and fixture. A test leaves an ``Ended`` mark on its server, so what
arrives after it (a thread or task it started) is reported as late, not as the next test's.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from mockserver.output.unmatched import unmatched_text
from mockserver.testing.handle import Backend, LocalBackend, MockServerHandle
from mockserver.testing.messages import unmatched_messages_text

__all__ = ["Ended", "Finding", "Ledger", "Watch", "leftover_threads", "live_threads"]

Json = dict[str, Any]


def live_threads() -> frozenset[int]:
    return frozenset(t.ident for t in threading.enumerate() if t.ident is not None)


def leftover_threads(before: frozenset[int]) -> tuple[threading.Thread, ...]:
    """Threads alive now that were not in ``before``: what a test started and left running."""
    return tuple(t for t in threading.enumerate() if t.ident not in before and t.is_alive())


@dataclass(eq=False)
class Ended:
    """The last test a server served: when it ended, how many unmatched requests it had seen."""

    nodeid: str
    unmatched: int
    strict: bool
    threads: tuple[threading.Thread, ...] = ()

    def running(self) -> str:
        """The threads the test left running, in words ("" when none)."""
        names = [t.name for t in self.threads]
        if not names:
            return ""
        many = len(names) > 1
        return (
            f"the thread{'s' * many} {', '.join(names)} {'were' if many else 'was'} still running"
        )


@dataclass(eq=False)
class Watch:
    """One fixture's server (or socket-free double) in one test."""

    fixture: str
    handle: MockServerHandle
    backend: Backend
    strict: bool
    real: bool  # listens on sockets: its URLs go in the environment, through other mocks
    mock: Any = None  # the socket-free fixture's requests-mock / aioresponses object
    seen: int = 0
    seen_messages: int = 0  # consumed messages no consumer matched, as counted at the last take
    threads: frozenset[int] = field(default_factory=live_threads)
    previous: Ended | None = None

    @property
    def cheap(self) -> bool:
        """Counting costs an attribute read, not an admin call: count after every fixture."""
        return isinstance(self.backend, LocalBackend)

    def journal_size(self) -> int | None:
        backend = self.backend
        return backend.store.journal.max_entries if isinstance(backend, LocalBackend) else None

    def take(self) -> tuple[int, list[Json]]:
        """The unmatched requests since the last take: how many, and those still journaled."""
        total = self.backend.unmatched_count()
        new, self.seen = total - self.seen, total
        if new <= 0:
            return 0, []
        return new, self.backend.unmatched()[-new:]

    def take_messages(self) -> tuple[int, list[Json]]:
        """The consumed messages no consumer matched since the last take (messaging doubles)."""
        total = self.backend.unmatched_message_count()
        new, self.seen_messages = total - self.seen_messages, total
        if new <= 0:
            return 0, []
        return new, [m for m in self.backend.messages() if not m["matched"]][-new:]


@dataclass(eq=False)
class Finding:
    phase: str
    fixture: str | None
    watch: Watch
    count: int
    entries: list[Json]
    messages: int = 0  # consumed messages no consumer matched, and those still journaled
    message_entries: list[Json] = field(default_factory=list)


@dataclass(eq=False)
class Ledger:
    """One test's watches and what they found, phase by phase."""

    watches: list[Watch] = field(default_factory=list)
    phase: str = "setup"
    findings: list[Finding] = field(default_factory=list)
    mocks: list[Any] = field(default_factory=list)  # the socket-free fixtures' mocks
    let_through: set[int] = field(default_factory=set)  # mocks the real server passes (ids)

    def watching(self, backend: Backend) -> Watch | None:
        return next((w for w in self.watches if w.backend is backend), None)

    def note(self, fixture: str | None = None, *, cheap_only: bool = False) -> None:
        for watch in self.watches:
            if cheap_only and not watch.cheap:
                continue
            count, entries = watch.take()
            if count:
                self.findings.append(Finding(self.phase, fixture, watch, count, entries))
            count, entries = watch.take_messages()
            if count:
                self.findings.append(Finding(self.phase, fixture, watch, 0, [], count, entries))

    def keep_before_reset(self, watch: Watch) -> None:
        """What a test's own reset() would wipe is found first (hypothesis examples)."""
        self.note()
        watch.seen = watch.seen_messages = 0

    def report(self, phase: str, *, strict_only: bool) -> str:
        found = [
            f for f in self.findings if f.phase == phase and (f.watch.strict or not strict_only)
        ]
        return "\n\n".join(self._text(f) for f in found)

    def _text(self, finding: Finding) -> str:
        watch = finding.watch
        to = f" to {watch.fixture}" if len(self.watches) > 1 else ""
        where = ""
        if finding.phase != "call":
            by = f" (fixture {finding.fixture!r})" if finding.fixture else ""
            where += f" during {finding.phase}{by}"
        if finding.messages:
            return unmatched_messages_text(finding.message_entries, finding.messages, where)
        text = unmatched_text(
            finding.entries,
            count=finding.count,
            to=to,
            where=where,
            journal_size=watch.journal_size(),
        )
        previous = watch.previous
        running = previous.running() if previous is not None else ""
        if running and previous is not None:
            who = "it" if len(previous.threads) == 1 else "one of them"
            text += (
                f"\n\n(note: when {previous.nodeid} ended, {running}: a request {who} made "
                "after that is counted here)"
            )
        return text
