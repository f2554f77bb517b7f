"""Re-reading the stub files: on request (POST /__admin/reload) or when they change (--watch).

The whole new set is loaded and validated off the event loop, then swapped in as one snapshot.
A set with problems is never served: the previous one stays, and the problems go to the caller,
to the log (once per distinct failure) and to /__admin/health. If a file changes while it is
being read (an editor saving in pieces), the load is repeated so a half-written file is not
mistaken for the new set.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from mockserver.core.errors import MockServerError, Problem, StubFileError
from mockserver.core.model import StubSet
from mockserver.core.store import StubStore
from mockserver.formats.loader import load_paths

__all__ = ["reload_files", "watch_files"]

log = logging.getLogger("mockserver")

Signature = tuple[tuple[str, int, int], ...]
_ATTEMPTS = 3


def _signature(paths: Sequence[str]) -> Signature:
    """Every file under ``paths`` with its mtime and size: changes between two reads show here."""
    seen: list[tuple[str, int, int]] = []
    for given in paths:
        root = Path(given)
        files = [root] if root.is_file() else (p for p in root.rglob("*") if p.is_file())
        for file in files:
            try:
                st = file.stat()
            except OSError:
                continue
            seen.append((str(file), st.st_mtime_ns, st.st_size))
    return tuple(sorted(seen))


async def reload_files(
    store: StubStore,
    paths: Sequence[str],
    lock: asyncio.Lock,
    after_swap: Callable[[], Awaitable[None]] | None = None,
    *,
    freeze_gc: bool = False,
) -> tuple[Problem, ...]:
    """Load ``paths`` and swap them in when valid. Returns the problems (empty on success).
    ``freeze_gc``: freeze the new set as serve freezes the first (Settings.freeze_gc)."""
    loop = asyncio.get_running_loop()
    async with lock:
        problems: tuple[Problem, ...] = ()
        for _ in range(_ATTEMPTS):
            before = await loop.run_in_executor(None, _signature, paths)
            try:
                stubs = await loop.run_in_executor(None, load_paths, list(paths))
            except StubFileError as exc:
                problems = exc.problems
                stubs = None
            after = await loop.run_in_executor(None, _signature, paths)
            if before == after:
                break
        if stubs is None:
            if store.reload_failed(problems):
                log.error(
                    "reload failed; still serving the previous stubs:\n%s",
                    "\n".join(f"  {p}" for p in problems),
                )
            return problems
        previous, status = store.loaded, store.last_reload
        store.reload(stubs)
        if freeze_gc:
            gc.freeze()  # the new set is long-lived too (see MockServer.start_async)
        if after_swap is not None:
            try:
                await after_swap()
            except (MockServerError, OSError) as exc:
                # A port the new set declares cannot be opened: serve the previous set again,
                # as for any other bad set, rather than stubs nobody can reach.
                store.reload(previous)
                store.last_reload = status  # so the same failure is logged once
                problems = (Problem(_declaring(stubs, previous), str(exc)),)
                if store.reload_failed(problems):
                    log.error("reload failed; still serving the previous stubs: %s", exc)
                return problems
        log.info("reloaded: %d services, %d stubs", len(stubs.services), len(stubs.stubs))
    return ()


def _declaring(stubs: StubSet, previous: StubSet) -> str:
    """The files that declare ports the previous set did not use."""
    old_ports = {spec.port for spec in previous.services.values()}
    files = sorted(
        source
        for spec in stubs.services.values()
        if spec.port not in old_ports
        for source in spec.sources
    )
    return ", ".join(files) or "<listen>"


async def watch_files(
    paths: Sequence[str], on_change: Callable[[], Awaitable[object]], debounce_ms: int = 300
) -> None:
    """Call ``on_change`` when files under ``paths`` change (debounced), until cancelled."""
    from watchfiles import awatch  # only --watch needs it loaded

    # watchfiles logs every change at INFO; our own "reloaded" line says it better.
    logging.getLogger("watchfiles").setLevel(logging.WARNING)

    watched = [p for p in paths if os.path.exists(p)]
    if not watched:
        log.warning("--watch: none of %s exists; not watching", ", ".join(paths))
        return
    async for _changes in awatch(*watched, debounce=debounce_ms, step=50):
        await on_change()
