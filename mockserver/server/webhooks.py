"""Webhooks: the calls a stub makes after its answer was sent, and the journal of them.

Each call runs in a task of its own, after the answer is written (it never delays it), with
the upstream rules: timeouts, no redirects followed, no cookies kept, and link-local and
cloud-metadata addresses refused at connect time for every resolved address (proxy.py's
resolver; a literal host was refused when the stub loaded). Each delivery, answered or not, is
journaled in a bounded ring: ``GET /__admin/webhooks``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Final

import aiohttp

from mockserver.core.deliveries import DeliveryLog, shown_url
from mockserver.core.model import WebhookSpec
from mockserver.recording.proxy import GuardedResolver
from mockserver.state import background

__all__ = ["Webhooks"]

log = logging.getLogger("mockserver")

CONNECT_TIMEOUT_S: Final = 5.0
TOTAL_TIMEOUT_S: Final = 30.0
MAX_PENDING: Final = 1000  # calls scheduled and not yet done; past it, a call is dropped (said)


class Webhooks:
    """Sends a server's webhooks and keeps the last deliveries."""

    def __init__(self) -> None:
        self._pending: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    def dispatch(self, stub_id: str, specs: tuple[WebhookSpec, ...], log_to: DeliveryLog) -> None:
        """Schedule ``specs`` on the running loop; each runs after its delay."""
        for spec in specs:
            if spec.refused is not None:  # its template failed, or its rendered URL is refused
                log.warning("webhook of stub %s not sent: %s", stub_id, spec.refused)
                log_to.record(
                    stub_id, spec.method, spec.url, None, f"not sent: {spec.refused}", 0.0
                )
                continue
            if len(self._pending) >= MAX_PENDING:
                log_to.record(
                    stub_id, spec.method, spec.url, None, f"dropped: {MAX_PENDING} pending", 0.0
                )
                continue
            task = asyncio.get_running_loop().create_task(self._send(stub_id, spec, log_to))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _send(self, stub_id: str, spec: WebhookSpec, log_to: DeliveryLog) -> None:
        if spec.delay_ms:
            await asyncio.sleep(spec.delay_ms / 1000)
        began = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            async with self._client().request(
                spec.method,
                spec.url,
                headers=list(spec.headers),
                data=spec.body or None,
                allow_redirects=False,
            ) as response:
                await response.read()
                status = response.status
        except TimeoutError:
            error = f"no answer within {TOTAL_TIMEOUT_S:g} s"
        except aiohttp.ClientError as exc:
            error = f"{type(exc).__name__}: {exc}"
        took = (time.monotonic() - began) * 1000
        if error is not None:
            log.warning("webhook of stub %s to %s failed: %s", stub_id, shown_url(spec.url), error)
        log_to.record(stub_id, spec.method, spec.url, status, error, took)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=100, resolver=GuardedResolver()),
                timeout=aiohttp.ClientTimeout(total=TOTAL_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def settle(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for calls in flight (a stop), then cancel the rest."""
        await background.settle(self._pending, timeout)
        session, self._session = self._session, None
        if session is not None:
            await session.close()
