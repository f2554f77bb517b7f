"""Server settings: one frozen value with the safe defaults, built from options or environment."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = ["ENV_PREFIX", "RecordMode", "Settings", "is_loopback"]

ENV_PREFIX: Final = "MOCKSERVER_"
STOP_MARGIN: Final = 10.0  # seconds past the waits for requests, webhooks and messages


class RecordMode(StrEnum):
    """What reaches a service's ``upstream:`` and what of it is written as stubs (vcrpy's
    ``record_mode``; its ``none``, ``new_episodes`` and ``all``, and spy mode, which forwards
    without writing). The values are ``--mockserver-record``'s."""

    NONE = "none"  # the stubs answer everything
    SPY = "spy"  # a request no stub matches is forwarded (serve --spy)
    NEW_EPISODES = "new"  # ... and written (serve --spy --record-new, --mockserver-record=new)
    ALL = "all"  # every request is forwarded, and recorded anew (--mockserver-record=all)

    @classmethod
    def of_options(cls, spy: bool, record_new: bool) -> RecordMode:
        """The mode ``serve --spy`` and ``--record-new`` ask for (--record-new alone records
        nothing: nothing is forwarded)."""
        if not spy:
            return cls.NONE
        return cls.NEW_EPISODES if record_new else cls.SPY

    @property
    def spies(self) -> bool:
        """Requests no stub matches are forwarded (what spy mode's banner says)."""
        return self is RecordMode.SPY or self is RecordMode.NEW_EPISODES

    @property
    def writes(self) -> bool:
        """What was forwarded is written as stubs beside the service's files."""
        return self is RecordMode.NEW_EPISODES or self is RecordMode.ALL


@dataclass(frozen=True, slots=True)
class Settings:
    """How a mockserver process serves.

    Attributes:
        paths: stub files and directories to load.
        host: address to bind; loopback unless told otherwise, so a mock is never on a network
            by accident.
        port: the main port, shared by every service that declares no port of its own.
        max_body_bytes: largest request body accepted (after decompression); past it, 413.
        unmatched_status: status of the answer to a request no stub matched.
        unmatched_report: what the answer to an unmatched request shows: ``full`` (what
            arrived and the nearest stubs, secrets redacted), ``brief`` (only that no stub
            matched, and where the report is), or ``auto``: full, but brief to callers without
            the admin token when one is set (the journal keeps the full report either way).
        near_misses: how many nearest stubs an unmatched report names.
        ephemeral_service_ports: serve services that declare a port on an ephemeral port
            instead, so parallel test runs never collide (the pytest plugin sets it).
        log_level: debug logs every request; info logs unmatched ones and the start.
        journal_size: requests kept in the journal (a ring buffer); 0 turns it off.
        journal_body_cap: bytes of each request body the journal keeps (the rest is flagged).
        watch: reload the stub files when they change.
        admin_token: when set, admin calls but GET /__admin/health need
            ``Authorization: Bearer <token>``. None or empty on a non-loopback host makes the
            server generate one, unless ``admin_open``.
        admin_open: serve the admin API with no token on a non-loopback host (the named
            opt-out: an empty token does not open it).
        record: what is forwarded to a service's ``upstream:`` and what is written
            (RecordMode): nothing (the default), misses (spy), misses written as stubs beside
            the service's files, or everything, recorded anew.
        record_session: names the recording session (pytest-xdist's run id, the same in
            every worker): with RecordMode.ALL, stubs of this session in a file are kept, older
            ones replaced. Empty: a session of its own.
        redact: more to redact when recording: header names, ``query:name``, ``$.json.path``.
        reuse_port: bind with SO_REUSEPORT, so several processes serve the same ports and the
            kernel spreads connections over them (``serve --workers``).
        max_request_line_bytes: longest request line (method, target, version); past it, 400.
        max_header_bytes: longest header field (name and value); past it, 400.
        max_headers: most header fields in one request; past it, 400.
        request_timeout: seconds from a request's first byte until its headers and body have
            all arrived; past it, 408 and the connection is closed (slowloris, slow POST).
        keepalive_timeout: seconds an idle keep-alive connection is kept open.
        shutdown_timeout: seconds a stop waits for requests in flight before cancelling them.
        upstream_connect_timeout: seconds to connect to an upstream (spy mode) before 504.
        upstream_timeout: seconds for a whole upstream exchange (spy mode) before 504.
        event_loop: ``auto`` (uvloop when installed, else asyncio's), ``asyncio`` or
            ``uvloop``. uvloop answers more requests a second; asyncio's loop has the shorter
            latency tail (benchmarks/RESULTS.md).
        seed: seeds the draws of delay ranges and fault rates, so a run repeats; None draws
            afresh each start.
        openapi: an OpenAPI document that requests to any stub are checked against
            (``serve --openapi``); a request that breaks it gets 400 with the violations.
        max_namespaces: most namespaces (``/__ns/<name>/``, namespaces.py) held at once.
        namespace_ttl: seconds a namespace may go unused before it expires.
        admin_stub_bytes: what stubs added through the admin API may hold together (their
            definitions, and each distinct body once); past it an admin write is a 413.
        match_budget_ms: milliseconds one request's matching and explanation may take
            together (and one admin count over the journal); past it, the checks still
            running count as not matching ("match budget exceeded").
        state: where state shared by replicas lives: ``memory`` (this process, the default)
            or a Redis URL (``redis://HOST:PORT/DB``, ``rediss://``, ``unix://``;
            mockserver/state/).
        state_wait: with a Redis ``state``, start even when Redis cannot be reached yet and
            connect when it comes (otherwise: exit 2).
        freeze_gc: once the stubs are loaded, move every object to the collector's permanent
            generation (``gc.freeze``), so full collections stop walking them. Only ``serve``
            sets it, in its own process: in a process a user owns (pytest) it would hide their
            objects from the collector too.
    """

    paths: tuple[str, ...] = ("stubs",)
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 10 * 1024 * 1024
    unmatched_status: int = 404
    unmatched_report: str = "auto"
    near_misses: int = 3
    ephemeral_service_ports: bool = False
    log_level: str = "info"
    journal_size: int = 1000
    journal_body_cap: int = 64 * 1024
    watch: bool = False
    admin_token: str | None = None
    admin_open: bool = False
    admin_api: str = "mockserver"  # or "wiremock": WireMock's admin routes too (wiremock_admin.py)
    record: RecordMode = RecordMode.NONE
    record_session: str = ""
    redact: tuple[str, ...] = ()
    reuse_port: bool = False
    # Safe defaults against slow and oversized clients (SECURITY.md says why each).
    max_request_line_bytes: int = 8190
    max_header_bytes: int = 8190
    max_headers: int = 128
    request_timeout: float = 30.0
    keepalive_timeout: float = 75.0
    shutdown_timeout: float = 5.0
    upstream_connect_timeout: float = 5.0
    upstream_timeout: float = 60.0
    event_loop: str = "auto"
    seed: int | None = None
    openapi: str | None = None
    # 64 suites' journals at most (64 x journal_size entries); an idle half hour outlasts a
    # test that makes no call, not a forgotten CI job.
    max_namespaces: int = 64
    namespace_ttl: float = 1800.0
    match_budget_ms: int = 250
    admin_stub_bytes: int = 256 * 1024 * 1024
    freeze_gc: bool = False
    state: str = "memory"
    state_wait: bool = False

    @property
    def stop_bound(self) -> float:
        """Seconds a stop may take before the process gives up on it (server/stopping.py):
        requests in flight, webhooks and messages each wait up to ``shutdown_timeout``, and
        STOP_MARGIN covers the rest (the state store's tasks, the recording)."""
        return 3 * self.shutdown_timeout + STOP_MARGIN


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine."""
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
