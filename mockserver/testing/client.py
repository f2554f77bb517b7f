"""The admin API from Python: MockServerClient (sync) and AsyncMockServerClient (aiohttp).

Both have the same methods; each call is described once (``_Call``) and carried out by the
sync client over one kept-alive ``http.client`` connection, or by the async client over an
``aiohttp.ClientSession``. A 4xx/5xx answer raises AdminError with the server's message.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote, urlencode, urlsplit

from mockserver.core.errors import HttpProblem, MockServerError
from mockserver.core.headernames import ACCEPT, AUTHORIZATION, CONTENT_TYPE

if TYPE_CHECKING:
    import aiohttp

__all__ = ["AdminError", "AsyncMockServerClient", "MockServerClient"]

StubDict = Mapping[str, Any]


class AdminError(MockServerError):
    """The admin API answered with an error.

    Attributes:
        status: the HTTP status.
        error: the short error ("invalid stub", "no such stub", ...).
        detail: the server's explanation.
        problems: the located stub problems (file, stub, key, line, column, message), if any.
        body: the whole JSON answer.
    """

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body if isinstance(body, dict) else {"detail": str(body)}
        self.error = str(self.body.get("error", f"HTTP {status}"))
        self.detail = str(self.body.get("detail", ""))
        problems = self.body.get("problems")
        self.problems: list[dict[str, Any]] = problems if isinstance(problems, list) else []
        super().__init__(f"{status} {self.error}: {self.detail}")


def _pick(key: str) -> Callable[[Any], Any]:
    return lambda body: body[key]


@dataclass(frozen=True, slots=True)
class _Call:
    method: str
    path: str
    body: Any = None
    params: Mapping[str, Any] = field(default_factory=dict)
    unwrap: Callable[[Any], Any] = lambda body: body

    def target(self, prefix: str) -> str:
        query = {k: v for k, v in self.params.items() if v is not None}
        return prefix + "/__admin" + self.path + (f"?{urlencode(query)}" if query else "")


def _stub_path(stub_id: str) -> str:
    return "/stubs/" + quote(stub_id, safe="")


def _count_call(pattern: StubDict | None, keys: Mapping[str, Any]) -> _Call:
    return _Call("POST", "/requests/count", {**(pattern or {}), **keys}, unwrap=_pick("count"))


class _Calls:
    """The admin calls, as data; the clients below carry them out."""

    @staticmethod
    def health() -> _Call:
        return _Call("GET", "/health")

    @staticmethod
    def services() -> _Call:
        return _Call("GET", "/services", unwrap=_pick("services"))

    @staticmethod
    def stubs() -> _Call:
        return _Call("GET", "/stubs", unwrap=_pick("stubs"))

    @staticmethod
    def get_stub(stub_id: str) -> _Call:
        return _Call("GET", _stub_path(stub_id))

    @staticmethod
    def add_stubs(stubs: StubDict | Sequence[StubDict]) -> _Call:
        body = dict(stubs) if isinstance(stubs, Mapping) else [dict(s) for s in stubs]
        return _Call("POST", "/stubs", body, unwrap=_pick("stubs"))

    @staticmethod
    def put_stub(stub_id: str, stub: StubDict) -> _Call:
        return _Call("PUT", _stub_path(stub_id), dict(stub))

    @staticmethod
    def put_stubs(stubs: Sequence[StubDict]) -> _Call:
        return _Call("PUT", "/stubs", [dict(s) for s in stubs], unwrap=_pick("stubs"))

    @staticmethod
    def remove_stub(stub_id: str) -> _Call:
        return _Call("DELETE", _stub_path(stub_id))

    @staticmethod
    def reset() -> _Call:
        return _Call("POST", "/reset")

    @staticmethod
    def reload() -> _Call:
        return _Call("POST", "/reload")

    @staticmethod
    def requests(limit: int | None, offset: int) -> _Call:
        params = {"limit": limit, "offset": offset or None}
        return _Call("GET", "/requests", params=params, unwrap=_pick("requests"))

    @staticmethod
    def clear_requests() -> _Call:
        return _Call("DELETE", "/requests")

    @staticmethod
    def unmatched() -> _Call:
        return _Call("GET", "/requests/unmatched", unwrap=_pick("requests"))

    @staticmethod
    def namespaces() -> _Call:
        return _Call("GET", "/namespaces")

    @staticmethod
    def end_namespace() -> _Call:
        return _Call("DELETE", "/namespace")

    @staticmethod
    def unmatched_total() -> _Call:
        return _Call("GET", "/requests/unmatched", unwrap=_pick("total"))

    @staticmethod
    def messages() -> _Call:
        return _Call("GET", "/messages", unwrap=_pick("messages"))

    @staticmethod
    def unmatched_messages_total() -> _Call:
        return _Call("GET", "/messages", unwrap=_pick("unmatched"))

    @staticmethod
    def webhooks() -> _Call:
        return _Call("GET", "/webhooks", unwrap=_pick("webhooks"))

    @staticmethod
    def scenarios() -> _Call:
        return _Call("GET", "/scenarios", unwrap=_pick("scenarios"))

    @staticmethod
    def set_scenario(name: str, state: str) -> _Call:
        return _Call("PUT", "/scenarios/" + quote(name, safe=""), {"state": state})


def _split(base_url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, parts.hostname, port, parts.path.rstrip("/")


def _headers(token: str | None, has_body: bool) -> dict[str, str]:
    headers = {ACCEPT: "application/json"}
    if has_body:
        headers[CONTENT_TYPE] = "application/json"
    if token:
        headers[AUTHORIZATION] = f"Bearer {token}"
    return headers


def _decode(status: int, raw: bytes) -> Any:
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        text = raw.decode("utf-8", "replace")[:500]
        body = HttpProblem(status, f"HTTP {status}", text).as_dict()
    if status >= 400:
        raise AdminError(status, body)
    return body


class MockServerClient:
    """Drive a running mockserver's admin API (sync). Thread-safe; reuses one connection.

    Args:
        base_url: any of the server's ports, e.g. ``http://127.0.0.1:8080``; with
            ``/__ns/<name>`` after it, the calls are namespace ``<name>``'s.
        token: the admin token, when the server requires one.
        timeout: seconds per call.
    """

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 10.0) -> None:
        self._scheme, self._host, self._port, self._prefix = _split(base_url)
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = (
                http.client.HTTPSConnection
                if self._scheme == "https"
                else http.client.HTTPConnection
            )
            self._conn = cls(self._host, self._port, timeout=self.timeout)
        return self._conn

    def _do(self, call: _Call) -> Any:
        data = None if call.body is None else json.dumps(call.body).encode()
        headers = _headers(self.token, data is not None)
        with self._lock:
            for attempt in (1, 2):
                conn = self._connection()
                try:
                    conn.request(call.method, call.target(self._prefix), data, headers)
                    response = conn.getresponse()
                    raw = response.read()
                    break
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    # A kept-alive connection the server closed: retry once on a fresh one.
                    self.close()
                    if attempt == 2:
                        raise
                except OSError:
                    self.close()
                    raise
        return call.unwrap(_decode(response.status, raw))

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def health(self) -> dict[str, Any]:
        return self._do(_Calls.health())  # type: ignore[no-any-return]

    def services(self) -> list[dict[str, Any]]:
        return self._do(_Calls.services())  # type: ignore[no-any-return]

    def stubs(self) -> list[dict[str, Any]]:
        return self._do(_Calls.stubs())  # type: ignore[no-any-return]

    def get_stub(self, stub_id: str) -> dict[str, Any]:
        return self._do(_Calls.get_stub(stub_id))  # type: ignore[no-any-return]

    def add_stub(self, stub: StubDict) -> dict[str, Any]:
        """Add one stub (stub-file keys, plus ``service``); returns it with its id."""
        return self._do(_Calls.add_stubs(stub))[0]  # type: ignore[no-any-return]

    def add_stubs(self, stubs: Sequence[StubDict]) -> list[dict[str, Any]]:
        """Add several stubs, all or none."""
        return self._do(_Calls.add_stubs(stubs))  # type: ignore[no-any-return]

    def put_stub(self, stub_id: str, stub: StubDict) -> dict[str, Any]:
        return self._do(_Calls.put_stub(stub_id, stub))  # type: ignore[no-any-return]

    def put_stubs(self, stubs: Sequence[StubDict]) -> list[dict[str, Any]]:
        """Add or replace several stubs by their ids, all or none."""
        return self._do(_Calls.put_stubs(stubs))  # type: ignore[no-any-return]

    def remove_stub(self, stub_id: str) -> None:
        self._do(_Calls.remove_stub(stub_id))

    def reset(self) -> None:
        self._do(_Calls.reset())

    def reload(self) -> dict[str, Any]:
        return self._do(_Calls.reload())  # type: ignore[no-any-return]

    def requests(self, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        return self._do(_Calls.requests(limit, offset))  # type: ignore[no-any-return]

    def clear_requests(self) -> None:
        self._do(_Calls.clear_requests())

    def unmatched(self) -> list[dict[str, Any]]:
        return self._do(_Calls.unmatched())  # type: ignore[no-any-return]

    def unmatched_total(self) -> int:
        """Requests no stub matched since the last reset, however many the journal holds."""
        return self._do(_Calls.unmatched_total())  # type: ignore[no-any-return]

    def webhooks(self) -> list[dict[str, Any]]:
        """The stubs' last webhook calls: stub, method, url, status or error."""
        return self._do(_Calls.webhooks())  # type: ignore[no-any-return]

    def messages(self) -> list[dict[str, Any]]:
        """The messages the amqp: doubles consumed and published, oldest first."""
        return self._do(_Calls.messages())  # type: ignore[no-any-return]

    def unmatched_messages_total(self) -> int:
        """Consumed messages no consumer matched since the last reset."""
        return self._do(_Calls.unmatched_messages_total())  # type: ignore[no-any-return]

    def scenarios(self) -> list[dict[str, str]]:
        """Each scenario the stubs name, with its state: ``[{"name", "state"}]``."""
        return self._do(_Calls.scenarios())  # type: ignore[no-any-return]

    def set_scenario(self, name: str, state: str) -> None:
        self._do(_Calls.set_scenario(name, state))

    def count(self, pattern: StubDict | None = None, **keys: Any) -> int:
        """Journaled requests a pattern describes: ``count(method="GET", path="/a/{id}")``."""
        return self._do(_count_call(pattern, keys))  # type: ignore[no-any-return]

    def namespaces(self) -> dict[str, Any]:
        """The namespaces the server holds, its limit and their idle time to live."""
        return self._do(_Calls.namespaces())  # type: ignore[no-any-return]

    def end_namespace(self) -> None:
        """End the namespace this client's base URL names (``.../__ns/<name>``)."""
        self._do(_Calls.end_namespace())


class AsyncMockServerClient:
    """The same calls as MockServerClient, for asyncio code, over aiohttp.

    Use ``async with AsyncMockServerClient(url) as admin:`` or call ``await close()``.
    """

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 10.0) -> None:
        _split(base_url)
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def _do(self, call: _Call) -> Any:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        data = None if call.body is None else json.dumps(call.body).encode()
        async with self._session.request(
            call.method,
            call.target(self.base_url),
            data=data,
            headers=_headers(self.token, data is not None),
        ) as response:
            raw = await response.read()
            return call.unwrap(_decode(response.status, raw))

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def health(self) -> dict[str, Any]:
        return await self._do(_Calls.health())  # type: ignore[no-any-return]

    async def services(self) -> list[dict[str, Any]]:
        return await self._do(_Calls.services())  # type: ignore[no-any-return]

    async def stubs(self) -> list[dict[str, Any]]:
        return await self._do(_Calls.stubs())  # type: ignore[no-any-return]

    async def get_stub(self, stub_id: str) -> dict[str, Any]:
        return await self._do(_Calls.get_stub(stub_id))  # type: ignore[no-any-return]

    async def add_stub(self, stub: StubDict) -> dict[str, Any]:
        return (await self._do(_Calls.add_stubs(stub)))[0]  # type: ignore[no-any-return]

    async def add_stubs(self, stubs: Sequence[StubDict]) -> list[dict[str, Any]]:
        return await self._do(_Calls.add_stubs(stubs))  # type: ignore[no-any-return]

    async def put_stub(self, stub_id: str, stub: StubDict) -> dict[str, Any]:
        return await self._do(_Calls.put_stub(stub_id, stub))  # type: ignore[no-any-return]

    async def put_stubs(self, stubs: Sequence[StubDict]) -> list[dict[str, Any]]:
        return await self._do(_Calls.put_stubs(stubs))  # type: ignore[no-any-return]

    async def remove_stub(self, stub_id: str) -> None:
        await self._do(_Calls.remove_stub(stub_id))

    async def reset(self) -> None:
        await self._do(_Calls.reset())

    async def reload(self) -> dict[str, Any]:
        return await self._do(_Calls.reload())  # type: ignore[no-any-return]

    async def requests(self, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        return await self._do(_Calls.requests(limit, offset))  # type: ignore[no-any-return]

    async def clear_requests(self) -> None:
        await self._do(_Calls.clear_requests())

    async def unmatched(self) -> list[dict[str, Any]]:
        return await self._do(_Calls.unmatched())  # type: ignore[no-any-return]

    async def webhooks(self) -> list[dict[str, Any]]:
        return await self._do(_Calls.webhooks())  # type: ignore[no-any-return]

    async def scenarios(self) -> list[dict[str, str]]:
        return await self._do(_Calls.scenarios())  # type: ignore[no-any-return]

    async def set_scenario(self, name: str, state: str) -> None:
        await self._do(_Calls.set_scenario(name, state))

    async def unmatched_total(self) -> int:
        return await self._do(_Calls.unmatched_total())  # type: ignore[no-any-return]

    async def count(self, pattern: StubDict | None = None, **keys: Any) -> int:
        return await self._do(_count_call(pattern, keys))  # type: ignore[no-any-return]

    async def namespaces(self) -> dict[str, Any]:
        return await self._do(_Calls.namespaces())  # type: ignore[no-any-return]

    async def end_namespace(self) -> None:
        await self._do(_Calls.end_namespace())
