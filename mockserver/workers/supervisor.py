"""serve --workers N: N worker processes on the same ports, one coordinator, one banner.

The parent loads and validates the stub files first (a bad set is refused before anything
binds, as with one process), makes the one admin token all workers share when one is needed,
and reserves the ports: a port 0 becomes the number every worker binds. Each worker binds with
SO_REUSEPORT and the kernel spreads connections over them (on Linux, by a hash of each
connection's addresses). The parent coordinates the admin API (cluster.py; with
``--state redis`` the workers share their state there and each answers admin calls itself),
watches the files with --watch, forwards SIGTERM and SIGINT, stops everything when a worker
dies (its state could not be rebuilt), and exits 0 once every worker stopped after a signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, Final

from mockserver.core.config import RecordMode, Settings
from mockserver.core.errors import MockServerError, StubFileError
from mockserver.output.errorline import report
from mockserver.output.logs import announce
from mockserver.server.loop import run as run_loop
from mockserver.server.reload import watch_files
from mockserver.server.runner import MockServer
from mockserver.state.location import MEMORY
from mockserver.workers.cluster import COORDINATOR_SOCKET, START_TIMEOUT, Coordinator
from mockserver.workers.privatesockets import private_place, release_place, worker_socket
from mockserver.workers.worker import settings_as_json, stateful_parts, stateful_refusal

__all__ = ["reserve_ports", "serve_workers"]

KILL_MARGIN: Final = 5.0  # past a worker's own stop bound: it says what hung, and exits


def serve_workers(
    settings: Settings, workers: int, log_format: str, banner: Callable[[MockServer], None]
) -> int:
    """Serve with ``workers`` processes until SIGTERM or SIGINT; returns the exit status."""
    if settings.record.writes:
        report(
            "error: --record-new writes one file per process; record with --workers 1", log_format
        )
        return 2
    try:
        # Spying and the shared store are the workers' business; here the set is only
        # checked and described.
        server = MockServer(replace(settings, record=RecordMode.NONE, state=MEMORY))
        # For the banner.
        server.settings = replace(server.settings, record=settings.record, state=settings.state)
    except StubFileError as exc:
        report(f"not starting: {exc}", log_format)
        return 1
    parts = stateful_parts(server.store.snapshot.stubs)
    if parts and settings.state == MEMORY:  # with Redis the workers share their state
        report(f"not starting: {stateful_refusal(parts, workers)}", log_format)
        return 1
    try:
        return run_loop(
            _supervise(server, settings, workers, log_format, banner), settings.event_loop
        )
    except MockServerError as exc:
        report(str(exc), log_format)
        return 1


def reserve_ports(
    host: str, main_port: int, listeners: Iterable[int | None]
) -> tuple[list[socket.socket], int]:
    """Hold the main port and each declared port for the workers; returns the main port.

    Each is first bound without SO_REUSEPORT, which fails when anything listens there (a
    second mockserver with workers included), then held with SO_REUSEPORT, unlistened, so only
    processes of this user with SO_REUSEPORT can bind it too, and a port 0 keeps its number.

    Raises:
        MockServerError: a port is taken or the host cannot be bound.
    """
    held: list[socket.socket] = []
    try:
        main = _reserve(host, main_port, "the main port", held)
        for port in sorted(p for p in listeners if p is not None):
            _reserve(host, port, f"port {port}", held)
    except BaseException:
        for sock in held:
            sock.close()
        raise
    return held, main


def _reserve(host: str, port: int, what: str, held: list[socket.socket]) -> int:
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except OSError as exc:
        raise MockServerError(f"cannot listen on {host}:{port} ({what}): {exc}") from None
    wanted = port
    for family, kind, proto, _, address in dict.fromkeys(infos):
        for probe in (True, False) if wanted else (False,):
            sock = socket.socket(family, kind, proto)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if not probe:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                held.append(sock)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind((address[0], wanted, *address[2:]))
            except OSError as exc:
                sock.close()
                why = "the address is already in use" if exc.errno == errno.EADDRINUSE else exc
                raise MockServerError(f"cannot listen on {host}:{port} ({what}): {why}") from None
            if probe:
                sock.close()
        wanted = wanted or held[-1].getsockname()[1]
    return wanted


async def _supervise(
    server: MockServer,
    settings: Settings,
    count: int,
    log_format: str,
    banner: Callable[[MockServer], None],
) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    directory = private_place()  # no file on Linux: a read-only root needs no /tmp
    sockets = [worker_socket(directory, i) for i in range(count)]
    coordinator = Coordinator(sockets, settings.max_body_bytes)
    held: list[socket.socket] = []
    processes: list[asyncio.subprocess.Process] = []
    exits: list[asyncio.Task[int]] = []
    watch: asyncio.Task[None] | None = None
    stopping = loop.create_task(stop.wait())
    clean = False
    try:
        held, port = reserve_ports(settings.host, settings.port, server.store.snapshot.listeners())
        await coordinator.start(os.path.join(directory, COORDINATOR_SOCKET))
        worker_settings = replace(
            settings, admin_token=server.settings.admin_token, port=port, reuse_port=True
        )
        config = {
            "settings": settings_as_json(replace(worker_settings, watch=False)),
            "log_format": log_format,
            "dir": directory,
            "workers": count,
        }
        for index in range(count):
            processes.append(await _spawn({**config, "index": index}))
            exits.append(loop.create_task(processes[-1].wait()))
        reports = await _started(coordinator, exits, stopping)
        if reports is None:  # a signal while starting
            clean = True
            return 0
        server.state.main_url = reports[0]["main_url"]
        server.state.base_urls = reports[0]["base_urls"]
        coordinator.serving.set()
        banner(server)
        pids = ", ".join(str(r["pid"]) for r in reports)
        announce(
            "workers",
            f"  {count} worker processes (pids {pids})",
            {"workers": [r["pid"] for r in reports]},
            log_format,
        )
        if settings.watch:
            watch = loop.create_task(watch_files(settings.paths, coordinator.reload))
        await asyncio.wait([stopping, *exits], return_when=asyncio.FIRST_COMPLETED)
        died = next((i for i, e in enumerate(exits) if e.done()), None)
        if died is not None and not stop.is_set():
            raise MockServerError(
                f"worker {died} (pid {processes[died].pid}) exited with status "
                f"{exits[died].result()}; stopping the others"
            )
        clean = True
        return 0
    finally:
        for task in (watch, stopping):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if not await _stop(processes, exits, settings.stop_bound + KILL_MARGIN) and clean:
            report("a worker had to be killed", log_format)
        await coordinator.close()
        for sock in held:
            sock.close()
        release_place(directory)
        if clean:
            announce("stopped", "mockserver: stopped", {}, log_format)


async def _spawn(config: dict[str, Any]) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mockserver.workers.worker",
        stdin=asyncio.subprocess.PIPE,
        # Its own session (and so process group): Ctrl+C reaches the parent alone, which stops
        # the workers. start_new_session rather than process_group, which uvloop refuses.
        start_new_session=True,
    )
    assert process.stdin is not None
    process.stdin.write(json.dumps(config).encode() + b"\n")
    await process.stdin.drain()
    return process


async def _started(
    coordinator: Coordinator, exits: list[asyncio.Task[int]], stopping: asyncio.Task[bool]
) -> list[dict[str, Any]] | None:
    """Every worker's report once all serve; None on a signal first.

    Raises:
        MockServerError: a worker could not start (its reason), or died, or took too long.
    """
    deadline = asyncio.get_running_loop().time() + START_TIMEOUT
    pending: set[asyncio.Future[Any]] = {*coordinator.reports, *exits, stopping}
    while True:
        done = [r.result() for r in coordinator.reports if r.done()]
        failed = next((r for r in done if "error" in r), None)
        if failed is not None:
            raise MockServerError(failed["error"])
        if len(done) == len(coordinator.reports):
            return sorted(done, key=lambda r: int(r["index"]))
        if stopping.done():
            return None
        died = next((i for i, e in enumerate(exits) if e.done()), None)
        if died is not None:
            raise MockServerError(f"worker {died} exited with status {exits[died].result()}")
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise MockServerError(f"the workers did not start within {START_TIMEOUT:.0f} s")
        _, pending = await asyncio.wait(
            pending, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
        )


async def _stop(
    processes: list[asyncio.subprocess.Process], exits: list[asyncio.Task[int]], timeout: float
) -> bool:
    """SIGTERM every worker and wait; kill what is left at the deadline. True when none was."""
    for process in processes:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        if process.stdin is not None:
            process.stdin.close()
    if not exits:
        return True
    _, late = await asyncio.wait(exits, timeout=timeout)
    for process in processes:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
    if late:
        await asyncio.wait(late)
    return not late
