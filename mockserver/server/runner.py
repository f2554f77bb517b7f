"""MockServer: start and stop every listener of a stub set, in this loop or a thread of its own.

The thread mode (``start()``/``stop()`` or ``with MockServer(...)``) is what the pytest plugin
uses: the server runs on its own event loop, so it serves sync tests and async tests alike and
never depends on which loop a test framework provides. The price is that the store must be safe
to read from that loop while another thread swaps snapshots, which it is (one attribute swap).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import secrets
import threading
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING, Self

from aiohttp import web

from mockserver.core.config import RecordMode, Settings, is_loopback
from mockserver.core.errors import MockServerError, Problem
from mockserver.core.journal import Journal
from mockserver.core.model import StubSet
from mockserver.core.store import StubStore
from mockserver.formats.loader import load_paths
from mockserver.messaging.doubles import amqp_specs, reload_messaging, start_messaging
from mockserver.recording.forwarding import Forwarding, spy_forwarding
from mockserver.server.handler import make_server
from mockserver.server.limits import startup_warnings
from mockserver.server.reload import reload_files, watch_files
from mockserver.server.state import ServerState
from mockserver.state.location import MEMORY
from mockserver.state.unavailable import StoreUnavailable

if TYPE_CHECKING:
    from mockserver.state.runtime_stubs import SharedStubs

__all__ = ["MockServer"]

log = logging.getLogger("mockserver")


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "localhost"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class MockServer:
    """A running mockserver: every service's listener, the store and the admin API.

    Args:
        settings: host, ports and limits; ``settings.paths`` is loaded unless ``stubs`` is given.
        stubs: an already loaded stub set.

    Raises:
        StubFileError: (on construction) the stub files have problems; nothing is served.
    """

    __test__ = False  # not a pytest test class, despite being used in tests

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        stubs: StubSet | None = None,
        forwarding: Forwarding | None = None,
    ) -> None:
        settings = settings or Settings()
        self.admin_token_generated = False
        if not (settings.admin_token or settings.admin_open or is_loopback(settings.host)):
            # Never open the admin API on a network by accident (DESIGN.md "Admin API").
            settings = replace(settings, admin_token=secrets.token_urlsafe(24))
            self.admin_token_generated = True
        self.settings = settings
        journal = Journal(settings.journal_size, settings.journal_body_cap)
        loaded = stubs if stubs is not None else load_paths(settings.paths)
        self.store = StubStore(loaded, journal, settings.seed)
        if forwarding is None and settings.record is not RecordMode.NONE:
            forwarding = spy_forwarding(loaded, settings)
        if settings.openapi:
            _check_against(settings.openapi, self.store, forwarding)
        self.state = ServerState(settings, self.store)
        self.state.forwarding = forwarding
        if settings.state != MEMORY:
            self._share(settings)
        self._runners: list[web.BaseRunner] = []
        self._ports: dict[int | None, int] = {}
        self._watch_task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failure: list[BaseException] = []

    # -- addresses ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL of the main port, e.g. ``http://127.0.0.1:8080``."""
        if not self.state.main_url:
            raise MockServerError("the server is not running")
        return self.state.main_url

    def url_for(self, service: str | None = None, path: str = "") -> str:
        """Base URL of ``service`` (or of the main port), with ``path`` appended."""
        if path and not path.startswith("/"):
            raise ValueError(f"path must start with '/', got {path!r}")
        if service is None:
            return self.url + path
        if service not in self.state.base_urls:
            known = ", ".join(sorted(self.state.base_urls)) or "none"
            raise KeyError(f"no service {service!r}; services: {known}")
        return self.state.base_urls[service] + path

    @property
    def urls(self) -> dict[str, str]:
        """Every service's base URL."""
        return dict(self.state.base_urls)

    def url_of(self, service: str | None, listener: int | None) -> str:
        """The base URL of the listener serving ``listener`` (a declared port; None: main)."""
        port = self._ports.get(listener)
        return self.url if port is None else f"http://{_url_host(self.settings.host)}:{port}"

    def open_listeners(self) -> None:
        """Open the listeners that stubs added since the start declare (from another thread)."""
        loop = self._loop
        if loop is None:
            raise MockServerError("the server is not running in a thread of its own")
        asyncio.run_coroutine_threadsafe(self._open_listeners(), loop).result()

    def _share(self, settings: Settings) -> None:
        """``--state redis://...``: the store replicas share, and this replica's part in it."""
        from mockserver.state import background
        from mockserver.state.namespaces import RedisNamespaces
        from mockserver.state.redis import RedisState  # redis-py only when asked for
        from mockserver.state.runtime_stubs import SharedStubs
        from mockserver.state.steps import Steps

        shared = self.state.shared = RedisState(settings.state, wait=settings.state_wait)
        self.state.steps = Steps(shared, self.state.store_of)
        stubs = self.state.shared_stubs = SharedStubs(shared, settings.paths)
        stubs.attach(None, self.store)
        from mockserver.state.journal_stream import JournalStream

        # Journaled here as with memory, and queued for Redis (journal_stream.py); before the
        # namespaces, whose journals it makes too.
        self._journal_stream = JournalStream(
            shared, settings.journal_size, settings.journal_body_cap
        )
        self.store.journal = self._journal_stream.journal()
        spaces = RedisNamespaces(self.store, settings, shared, stubs)
        self.state.namespaces = self.state.shared_namespaces = spaces
        reloads: set[asyncio.Task[None]] = set()

        def reload(event: dict[str, object]) -> None:  # another replica reloaded its files
            if event.get("origin") != shared.replica:
                background.start(self._reload_here(stubs), "mockserver-reload", reloads)

        shared.on("reload", reload)

    async def _reload_here(self, stubs: SharedStubs) -> None:
        await self.reload_async()
        with contextlib.suppress(StoreUnavailable):  # read again on recovery
            await stubs.refresh_all()

    # -- in the current event loop ----------------------------------------------------------

    async def start_async(self) -> None:
        """Bind every listener: the main port, and each port a service declares."""
        if self._runners:
            return
        self.state.after_reload = self._after_reload
        self.state.closing.clear()  # started again after a stop
        for warning in startup_warnings():
            log.warning("%s", warning)
        try:
            state = self.state
            if state.shared and state.shared_stubs and state.shared_namespaces:
                # Before any listener: nothing is served without the replicas' stubs.
                await state.shared.start()
                await state.shared_stubs.start()
                await state.shared_namespaces.start()
                self._journal_stream.start()
            self.state.messaging = await start_messaging(
                self.store.snapshot.stubs, self.store.messages, self.store.rng
            )
            await self._open_listeners()
        except BaseException:
            await self.stop_async()
            raise
        if self.settings.freeze_gc:
            # The stubs live as long as the server: take them out of the cyclic collector's
            # sight, or every full collection walks 10,000 stubs' objects while requests wait.
            gc.freeze()
        if self.settings.watch:
            self._watch_task = asyncio.get_running_loop().create_task(
                watch_files(self.settings.paths, self.reload_async), name="mockserver-watch"
            )

    async def reload_async(self) -> tuple[Problem, ...]:
        """Re-read the stub files; returns their problems (then the old set keeps serving)."""
        return await reload_files(
            self.store,
            self.settings.paths,
            self.state.reload_lock,
            self._after_reload,
            freeze_gc=self.settings.freeze_gc,
        )

    async def _after_reload(self) -> None:
        """A new stub set is served: its ports opened, its amqp: doubles brought up to it."""
        await self._open_listeners()
        if self.state.messaging is not None or amqp_specs(self.store.snapshot.stubs):
            try:
                self.state.messaging = await reload_messaging(
                    self.state.messaging,
                    self.store.snapshot.stubs,
                    self.store.messages,
                    self.store.rng,
                )
            except MockServerError as exc:  # an amqp: without a url: the doubles keep theirs
                log.error("%s", exc)

    async def _open_listeners(self) -> None:
        """Open a listener for every port the current stubs need and is not open yet."""
        settings = self.settings
        for listener in sorted(self.store.snapshot.listeners(), key=lambda p: (p is not None, p)):
            if listener in self._ports:
                continue
            wanted = settings.port if listener is None else listener
            if listener is not None and settings.ephemeral_service_ports:
                wanted = 0
            runner = web.ServerRunner(
                make_server(self.state, listener),
                handle_signals=False,
                shutdown_timeout=settings.shutdown_timeout,
            )
            await runner.setup()
            self._runners.append(runner)
            site = web.TCPSite(
                runner, settings.host, wanted, backlog=1024, reuse_port=settings.reuse_port
            )
            try:
                await site.start()
            except OSError as exc:
                what = "the main port" if listener is None else f"port {listener}"
                why = (
                    "the address is already in use"
                    if exc.errno == errno.EADDRINUSE
                    else (exc.strerror or str(exc))
                )
                raise MockServerError(
                    f"cannot listen on {settings.host}:{wanted} ({what}): {why}"
                ) from None
            # aiohttp exposes no public accessor for the bound port; asyncio's and uvloop's
            # servers both have .sockets.
            sockets = getattr(site._server, "sockets", None) or ()
            if not sockets:
                raise MockServerError(f"listening on {settings.host}:{wanted} gave no socket")
            self._ports[listener] = int(sockets[0].getsockname()[1])
        host = _url_host(settings.host)
        self.state.main_url = f"http://{host}:{self._ports[None]}"
        self.state.base_urls = {
            name: f"http://{host}:{self._ports[listener]}"
            for name, listener in self.store.snapshot.listener_of.items()
            if listener in self._ports
        }

    async def stop_async(self) -> None:
        """Stop every listener. Safe to call twice."""
        task, self._watch_task = self._watch_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        runners, self._runners = self._runners, []
        self._ports = {}
        self.state.closing.set()
        # Together: each waits up to shutdown_timeout for its requests in flight, and one
        # after another that would be a deadline per listener.
        await asyncio.gather(*(runner.cleanup() for runner in runners))
        await self.state.webhooks.settle(self.settings.shutdown_timeout)
        messaging, self.state.messaging = self.state.messaging, None
        if messaging is not None:
            await messaging.close(self.settings.shutdown_timeout)
        if self.state.shared_namespaces is not None:
            await self.state.shared_namespaces.close()
        if self.state.shared_stubs is not None:
            await self.state.shared_stubs.close()
        if self.state.shared is not None:
            await self._journal_stream.close()  # what waits for Redis, sent while it is open
            await self.state.shared.close()
        forwarding = self.state.forwarding
        if forwarding is not None:
            await forwarding.close()
            if forwarding.recorder is not None:
                # Listeners are closed: nothing more arrives. Most of it is on disk already;
                # the writer finishes the rest within RECORDING_DEADLINE.
                try:
                    written = await asyncio.to_thread(forwarding.recorder.close)
                except OSError as exc:
                    raise MockServerError(f"could not write the recording: {exc}") from exc
                for path, recorded, skipped in forwarding.recorder.summary():
                    if path in written:
                        log.info(
                            "recorded %d exchanges into %s (%d skipped)", recorded, path, skipped
                        )
                for block in forwarding.recorder.report():
                    for line in block.splitlines():  # a line each: log lines escape newlines
                        log.info("%s", line)
            for service, count in forwarding.broken.items():
                log.warning(
                    "%s: %d answer%s broke %s (each logged above)",
                    service,
                    count,
                    "s" * (count != 1),
                    forwarding.document,
                )

    async def __aenter__(self) -> Self:
        await self.start_async()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop_async()

    # -- in a thread of its own -------------------------------------------------------------

    def start(self) -> Self:
        """Start in a background thread with its own event loop; returns once bound."""
        if self._thread is not None:
            return self
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as exc:
                failure.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            try:
                loop.run_until_complete(self.stop_async())
            except BaseException as exc:  # stop() raises it in the caller's thread
                failure.append(exc)
            finally:
                loop.close()

        thread = threading.Thread(target=run, name="mockserver", daemon=True)
        thread.start()
        started.wait()
        if failure:
            thread.join()
            raise failure[0]
        self._thread, self._loop, self._failure = thread, loop, failure
        return self

    def stop(self) -> None:
        """Stop the background server and join its thread. Safe to call twice."""
        thread, loop = self._thread, self._loop
        self._thread = self._loop = None
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        if self._failure:  # e.g. the recording could not be written
            raise self._failure.pop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _check_against(document: str, store: StubStore, forwarding: Forwarding | None) -> None:
    """``--openapi``: requests that stubs match are checked against the document, and what
    real services answer (record, spy) too. Loaded only when given: the validators are heavy.

    Raises:
        StubFileError: the document cannot be read or served, located.
    """
    from mockserver.formats.openapi.load import load_openapi
    from mockserver.formats.openapi.responses import answer_check
    from mockserver.formats.openapi.validate import route

    doc = load_openapi(document)
    store.request_check = route(doc.routes())
    if forwarding is not None:
        forwarding.answer_check = answer_check(doc)
        forwarding.document = document
