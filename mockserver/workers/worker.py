"""One worker of ``serve --workers N``: a MockServer on the shared ports, and a private socket.

The parent (workers.py) starts it as ``python -m mockserver.workers.worker`` and writes its
configuration as one JSON line on stdin, then keeps stdin open: when it closes, however the
parent ended, the worker stops, so no worker outlives its parent. The worker binds with
SO_REUSEPORT, reports to the coordinator when it serves, hands every public admin call to the
coordinator (cluster.py), and answers the coordinator's calls on its private Unix socket.
With ``--state redis`` it answers public admin calls itself: what they read and write (stubs,
journal, scenarios, sequences, resources) is in Redis, the same for every worker.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import signal
import sys
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import hdrs, web

from mockserver.core.config import RecordMode, Settings
from mockserver.core.errors import MockServerError, StubFileError
from mockserver.core.model import StubSet
from mockserver.server.admin import dispatch_admin
from mockserver.server.admin_call import AdminCall, AdminRefusal
from mockserver.server.aiohttp_log import quiet_client_errors
from mockserver.server.limits import raise_open_file_limit
from mockserver.server.loop import run as run_loop
from mockserver.server.runner import MockServer
from mockserver.server.state import ServerState
from mockserver.server.stopping import stop_or_exit
from mockserver.workers.cluster import (
    COORDINATOR_SOCKET,
    JOURNAL_PATH,
    LISTENER_HEADER,
    READY_PATH,
    UNMATCHED_PATH,
    WORKER_HEADER,
    WORKER_PATH,
    listener_of,
    listener_text,
)
from mockserver.workers.privatesockets import UnixClient, error_reply, unix_server, worker_socket

__all__ = ["main", "settings_as_json", "settings_from_json", "stateful_parts"]


def settings_as_json(settings: Settings) -> dict[str, Any]:
    return dataclasses.asdict(settings)


def settings_from_json(raw: dict[str, Any]) -> Settings:
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    values["record"] = RecordMode(values.get("record", RecordMode.NONE))
    return Settings(**values)


def stateful_parts(stubs: StubSet) -> list[str]:
    """What in ``stubs`` keeps state in the process: resources, ``responses:`` sequences and
    scenarios."""
    found = [
        f"stateful resources in {', '.join(spec.sources)}"
        for spec in stubs.services.values()
        if spec.resources
    ]
    sequences = [repr(stub.id) for stub in stubs.stubs if stub.responses]
    if sequences:
        found.append(f"'responses:' sequences in {', '.join(sequences)}")
    scenarios = sorted({stub.scenario.name for stub in stubs.stubs if stub.scenario is not None})
    if scenarios:
        found.append(f"scenarios {', '.join(scenarios)}")
    return found


def stateful_refusal(parts: list[str], workers: int) -> str:
    return (
        f"with --workers {workers} each process keeps its own state, so these would answer "
        f"differently from one request to the next: {'; '.join(parts)}. "
        "Serve them with --workers 1"
    )


class CoordinatorLink:
    """This worker's line to the coordinator: readiness, and every public admin call."""

    def __init__(self, directory: str, index: int) -> None:
        self.index = index
        self.client = UnixClient(os.path.join(directory, COORDINATOR_SOCKET))

    async def report(self, what: dict[str, Any]) -> None:
        body = json.dumps({"index": self.index, **what}).encode()
        await self.client.call("POST", READY_PATH, body, {hdrs.CONTENT_TYPE: "application/json"})

    async def forward(
        self, request: web.BaseRequest, sub: str, listener: int | None
    ) -> web.StreamResponse:
        """Pass a public admin call (token checked) on; the coordinator's answer is ours."""
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return AdminRefusal(
                413, "request body too large", "the admin body is over the limit"
            ).response()
        headers = {LISTENER_HEADER: listener_text(listener), WORKER_HEADER: str(self.index)}
        if hdrs.CONTENT_TYPE in request.headers:
            headers[hdrs.CONTENT_TYPE] = request.headers[hdrs.CONTENT_TYPE]
        target = quote(sub, safe="/", errors="surrogateescape")
        if request.rel_url.raw_query_string:
            target += "?" + request.rel_url.raw_query_string
        method = "GET" if request.method == "HEAD" else request.method
        try:
            reply = await self.client.call(method, target, body, headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            reply = error_reply(503, "coordinator unavailable", f"no answer: {exc!r}")
        return reply.response()

    async def close(self) -> None:
        await self.client.close()


def private_handler(state: ServerState, index: int) -> Any:
    """The private socket: the admin routes without a token, and the journal with exact times."""
    pid = os.getpid()

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        path = request.path
        if path in (JOURNAL_PATH, UNMATCHED_PATH):
            return _journal(request, state, index, unmatched=path == UNMATCHED_PATH)
        if path == WORKER_PATH:
            journal = state.store.journal
            served = sum(journal.hits.values()) + journal.unmatched_total
            return web.json_response(
                {
                    "index": index,
                    "pid": pid,
                    "served": served,
                    "journal": {"size": len(journal), "max": journal.max_entries},
                }
            )
        listener = listener_of(request.headers.get(LISTENER_HEADER))
        return await dispatch_admin(request, state, path, listener)

    return handle


def _journal(
    request: web.BaseRequest, state: ServerState, index: int, *, unmatched: bool
) -> web.Response:
    """Entries oldest first with their exact time, as many as the page asked needs."""
    journal = state.store.journal
    offset, limit = 0, None
    if unmatched:
        entries = journal.unmatched()
    else:
        call = AdminCall(request, state, {}, None)
        try:
            offset = call.int_query("offset", 0) or 0
            limit = call.int_query("limit", None)
        except AdminRefusal as exc:
            return exc.response()
        # The merged page [offset, offset + limit) holds at most that many of ours.
        entries = journal.entries(None if limit is None else offset + limit)
    rows = [{"t": e.at, "entry": {**e.as_dict(), "worker": index}} for e in entries]
    return web.json_response(
        {
            "entries": rows,
            "total": journal.unmatched_total if unmatched else len(journal),
            "offset": offset,
            "limit": limit,
            "journal_size": journal.max_entries,
        }
    )


def _refuse_stateful_reloads(state: ServerState, workers: int) -> None:
    """A reload that brings resources or sequences fails like a bad set: the old one stays."""
    open_listeners = state.after_reload

    async def after_reload() -> None:
        parts = stateful_parts(state.store.snapshot.stubs)
        if parts:
            raise MockServerError(stateful_refusal(parts, workers))
        await open_listeners()

    state.after_reload = after_reload


class _Lifeline(asyncio.Protocol):
    """Stdin from the parent: when it closes, the parent is gone or wants us gone."""

    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop

    def connection_lost(self, exc: Exception | None) -> None:
        self.stop.set()


async def _run(config: dict[str, Any], settings: Settings) -> int:
    index, directory = int(config["index"]), str(config["dir"])
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    lifeline, _ = await loop.connect_read_pipe(lambda: _Lifeline(stop), sys.stdin)
    raise_open_file_limit()  # one file per connection, as serve does
    link = CoordinatorLink(directory, index)
    server: MockServer | None = None
    private: web.ServerRunner | None = None
    # The parent loaded the same files and said what shadows what; once is enough.
    logging.getLogger("mockserver.load").setLevel(logging.ERROR)
    try:
        try:
            server = MockServer(settings)
            shared = server.state.shared is not None
            if not shared:  # with --state redis, the state every worker reads is in Redis
                server.state.admin_forward = link.forward
            handler = private_handler(server.state, index)
            private = web.ServerRunner(
                unix_server(handler, settings.max_body_bytes), handle_signals=False
            )
            await private.setup()
            # The private socket first: the coordinator may call as soon as we report.
            await web.UnixSite(private, worker_socket(directory, index)).start()
            await server.start_async()
            if not shared:
                _refuse_stateful_reloads(server.state, int(config["workers"]))
        except MockServerError as exc:
            reason = f"not starting: {exc}" if isinstance(exc, StubFileError) else str(exc)
            await link.report({"error": reason})
            return 1
        state = server.state
        await link.report(
            {"pid": os.getpid(), "main_url": state.main_url, "base_urls": state.base_urls}
        )
        await stop.wait()
        return 0
    finally:
        if server is not None:
            await stop_or_exit(server.stop_async(), settings.stop_bound)
        if private is not None:
            await private.cleanup()
        await link.close()
        lifeline.close()


def main() -> int:
    """Read the configuration line from stdin and serve until told to stop."""
    config = json.loads(sys.stdin.buffer.readline())
    settings = settings_from_json(config["settings"])
    from mockserver.output.logs import configure_logging

    configure_logging(settings.log_level, str(config["log_format"]))
    quiet_client_errors()  # a process of serve's, as cli/main.py's is
    return run_loop(_run(config, settings), settings.event_loop)


if __name__ == "__main__":
    sys.exit(main())
