"""serve --workers: one admin API over several worker processes, kept by a coordinator.

Traffic never leaves the worker that accepted it; only admin calls cross processes. A worker
checks the token, then hands the call to the coordinator (in the parent process, over a Unix
socket), which puts it to every worker through each one's private Unix socket, where the admin
routes answer without a token, and combines the answers:

- writes (add, replace or remove stubs, reset, reload, clearing the journal) go to every
  worker, one write at a time, so every worker applies the same writes in the same order and
  derives the same stub ids; the answer is the first failure, else one worker's answer;
- reads are merged: the journal by time (each entry names its ``worker``), request counts and
  stub hits summed; health adds each worker's pid and how many requests it served.

The private sockets need no file (privatesockets.py), so a read-only root is no concern.

Why one coordinator rather than workers fanning out to each other: two writes arriving at two
workers at once would be applied in a different order on each (and an ``id-2`` suffix would go
to a different stub on each); one lock in one process orders them with no cross-process lock.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

import aiohttp
from aiohttp import web

from mockserver.workers.privatesockets import RELAYED, Reply, UnixClient, error_reply, unix_server

__all__ = [
    "COORDINATOR_SOCKET",
    "LISTENER_HEADER",
    "WORKER_HEADER",
    "Coordinator",
    "listener_of",
    "listener_text",
    "merge_journals",
    "merge_messages",
]

log = logging.getLogger("mockserver")

COORDINATOR_SOCKET: Final = "coordinator.sock"
LISTENER_HEADER: Final = "X-Mockserver-Listener"  # the port the public call arrived on
WORKER_HEADER: Final = "X-Mockserver-Worker"  # the worker it arrived at
# Routes of the private sockets and of the coordinator, beside the admin routes.
READY_PATH: Final = "/_cluster/ready"
JOURNAL_PATH: Final = "/_cluster/journal"
UNMATCHED_PATH: Final = "/_cluster/unmatched"
WORKER_PATH: Final = "/_cluster/worker"
START_TIMEOUT: Final = 60.0
_STUB_PATH: Final = re.compile(r"^/stubs/[^/]+\Z")
_WRITES: Final = {
    ("POST", "/stubs"),
    ("PUT", "/stubs"),
    ("POST", "/reset"),
    ("POST", "/reload"),
}
_RELOAD_ATTEMPTS: Final = 3


def listener_text(listener: int | None) -> str:
    return "main" if listener is None else str(listener)


def listener_of(text: str | None) -> int | None:
    return None if text in (None, "", "main") else int(text)


@dataclass(frozen=True, slots=True)
class Call:
    """One admin call as the coordinator received it from a worker."""

    method: str
    path: str  # decoded, below /__admin
    target: str  # path and query as sent, percent-encoded
    body: bytes
    headers: dict[str, str]
    worker: int  # where it arrived

    @property
    def query(self) -> str:
        return self.target.partition("?")[2]


class Coordinator:
    """The parent's side: workers report here when they serve, and hand over admin calls."""

    def __init__(self, worker_sockets: Sequence[str], max_body: int) -> None:
        self.workers = [UnixClient(path) for path in worker_sockets]
        self.max_body = max_body
        self.reports: list[asyncio.Future[dict[str, Any]]] = []
        # Set once every worker serves: before, a write could miss a worker still starting.
        self.serving = asyncio.Event()
        self._writes = asyncio.Lock()
        self._runner: web.ServerRunner | None = None

    async def start(self, path: str) -> None:
        loop = asyncio.get_running_loop()
        self.reports = [loop.create_future() for _ in self.workers]
        runner = web.ServerRunner(
            unix_server(self._handle, self.max_body), handle_signals=False, shutdown_timeout=5.0
        )
        await runner.setup()
        self._runner = runner
        await web.UnixSite(runner, path).start()

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        for worker in self.workers:
            await worker.close()
        for report in self.reports:
            report.cancel()

    async def reload(self) -> None:
        """Reload every worker's stub files (serve --watch); each logs how it went."""
        call = Call("POST", "/reload", "/reload", b"", {}, 0)
        try:
            await self.admin(call)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.error("reload: a worker did not answer: %s", exc)

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.path == READY_PATH:
            report = await request.json()
            future = self.reports[int(report["index"])]
            if not future.done():
                future.set_result(report)
            return web.json_response({"status": "noted"})
        try:
            await asyncio.wait_for(self.serving.wait(), START_TIMEOUT)
        except TimeoutError:
            return error_reply(
                503, "workers not serving", "the workers did not all start"
            ).response()
        headers = {k: v for k, v in request.headers.items() if k in (*RELAYED, LISTENER_HEADER)}
        worker = int(request.headers.get(WORKER_HEADER, "0"))
        body = await request.read()
        call = Call(request.method, request.path, request.raw_path, body, headers, worker)
        try:
            reply = await self.admin(call)
        except (aiohttp.ClientError, TimeoutError) as exc:
            reply = error_reply(503, "worker unavailable", f"a worker did not answer: {exc!r}")
        return reply.response()

    async def admin(self, call: Call) -> Reply:
        """Answer one admin call from every worker, or from the one it arrived at."""
        method, path = call.method, call.path
        if method == "GET" and path in ("/requests", "/requests/unmatched"):
            return await self._journal(call)
        if method == "GET" and path == "/health":
            return await self._health(call)
        if method == "GET" and path == "/webhooks":
            replies = await self._every(call)
            failed = _first_failure(replies)
            every = (d for r in replies for d in r.json()["webhooks"])
            return failed or Reply.of(200, {"webhooks": sorted(every, key=lambda d: d["at"])})
        if method == "POST" and path in ("/requests/count", "/messages/count"):
            replies = await self._every(call)
            failed = _first_failure(replies)
            return failed or Reply.of(200, {"count": sum(r.json()["count"] for r in replies)})
        if method == "GET" and path == "/messages":  # each worker consumes its share
            replies = await self._every(call)
            return _first_failure(replies) or Reply.of(200, merge_messages(replies))
        if method == "GET" and (path == "/stubs" or _STUB_PATH.match(path)):
            return _sum_hits(await self._every(call))
        if (method, path) in _WRITES or (
            method in ("PUT", "DELETE") and (path == "/requests" or _STUB_PATH.match(path))
        ):
            refused = _refuse_sequences(call, len(self.workers))
            if refused is not None:
                return refused
            async with self._writes:
                return await self._write(call)
        return await self.workers[call.worker].call(method, call.target, call.body, call.headers)

    async def _every(self, call: Call) -> list[Reply]:
        """The call's answer from every worker; the first error once all have answered."""
        results = await asyncio.gather(
            *(w.call(call.method, call.target, call.body, call.headers) for w in self.workers),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return [r for r in results if isinstance(r, Reply)]

    async def _write(self, call: Call) -> Reply:
        for _ in range(_RELOAD_ATTEMPTS):
            replies = await self._every(call)
            # Reloads agree unless a file changed between two workers' reads: read again.
            if call.path != "/reload" or len({(r.status, r.body) for r in replies}) == 1:
                break
        failures = [r for r in replies if r.failed]
        if failures and len(failures) < len(replies):
            log.error(
                "workers disagree on %s %s: %s",
                call.method,
                call.path,
                "; ".join(f"worker {i}: {r.status}" for i, r in enumerate(replies)),
            )
        return failures[0] if failures else _sum_hits(replies)

    async def _journal(self, call: Call) -> Reply:
        unmatched = call.path == "/requests/unmatched"
        target = UNMATCHED_PATH if unmatched else JOURNAL_PATH
        if call.query:
            target += "?" + call.query
        replies = await self._every(replace(call, target=target))
        failed = _first_failure(replies)
        if failed is not None:
            return failed
        return Reply.of(200, merge_journals([r.json() for r in replies], unmatched=unmatched))

    async def _health(self, call: Call) -> Reply:
        here = self.workers[call.worker]
        base, *details = await asyncio.gather(
            here.call("GET", "/health"), *(w.call("GET", WORKER_PATH) for w in self.workers)
        )
        health = base.json()
        each = [d.json() for d in details]
        health["journal"] = {
            "size": sum(d["journal"]["size"] for d in each),
            "max": sum(d["journal"]["max"] for d in each),
        }
        health["workers"] = [{k: d[k] for k in ("index", "pid", "served")} for d in each]
        return Reply.of(base.status, health)


def merge_journals(parts: list[dict[str, Any]], *, unmatched: bool) -> dict[str, Any]:
    """The workers' journal pages as one: entries by time (then worker), the page cut after.

    Each part is a worker's answer to JOURNAL_PATH or UNMATCHED_PATH: its oldest entries with
    their exact time ``t``, and its ``total``, ``offset``, ``limit`` and ``journal_size``.
    """
    streams = [[(row["t"], i, row["entry"]) for row in p["entries"]] for i, p in enumerate(parts)]
    merged = [entry for _, _, entry in heapq.merge(*streams, key=lambda row: row[:2])]
    if unmatched:
        return {"requests": merged, "total": sum(p["total"] for p in parts)}
    offset, limit = parts[0]["offset"], parts[0]["limit"]
    return {
        "requests": merged[offset:] if limit is None else merged[offset : offset + limit],
        "total": sum(p["total"] for p in parts),
        "offset": offset,
        "journal_size": sum(p["journal_size"] for p in parts),
    }


def merge_messages(replies: list[Reply]) -> dict[str, Any]:
    """The workers' message journals as one, by time (the broker spreads a queue over them)."""
    parts = [r.json() for r in replies]
    every = (m for p in parts for m in p["messages"])
    return {
        "messages": sorted(every, key=lambda m: m["at"]),
        "total": sum(p["total"] for p in parts),
        "unmatched": sum(p["unmatched"] for p in parts),
    }


def _first_failure(replies: list[Reply]) -> Reply | None:
    return next((r for r in replies if r.failed), None)


def _stubs_in(body: Any) -> list[dict[str, Any]]:
    """The stubs an admin answer describes: a list under "stubs", or the answer itself."""
    if isinstance(body, dict):
        stubs = body.get("stubs")
        if isinstance(stubs, list):
            return [s for s in stubs if isinstance(s, dict) and "id" in s and "hits" in s]
        if "id" in body and "hits" in body:
            return [body]
    return []


def _sum_hits(replies: list[Reply]) -> Reply:
    """The first answer, with each stub's hits summed over every worker's answer."""
    failed = _first_failure(replies)
    if failed is not None:
        return failed
    first = replies[0].json()
    stubs = _stubs_in(first)
    if not stubs:
        return replies[0]
    totals: dict[str, int] = {}
    for reply in replies:
        for stub in _stubs_in(reply.json()):
            totals[stub["id"]] = totals.get(stub["id"], 0) + int(stub["hits"])
    for stub in stubs:
        stub["hits"] = totals[stub["id"]]
    return Reply.of(replies[0].status, first)


def _refuse_sequences(call: Call, workers: int) -> Reply | None:
    """422 for a stub with ``responses:``: each worker would play the sequence on its own."""
    if call.method not in ("POST", "PUT") or not call.path.startswith("/stubs"):
        return None
    try:
        raw = json.loads(call.body)
    except ValueError:
        return None  # the workers say what is wrong with it
    items = raw if isinstance(raw, list) else [raw]
    for key, what in (("responses", "a 'responses:' sequence"), ("scenario", "a scenario")):
        if any(isinstance(item, dict) and key in item for item in items):
            return error_reply(
                422,
                "invalid stub",
                f"{what} would advance in each of the {workers} worker processes on its own, "
                "so clients would see it restart; serve it with --workers 1",
            )
    return None
