"""The same stubs with no sockets: behind requests-mock and aioresponses.

Each service gets a base URL on the reserved ``.invalid`` domain (RFC 6761: it never
resolves, so a request that escapes the mock cannot reach a real host), and every request
to those hosts is answered by ``respond`` — the same matching, rendering, conditional and
negotiation decisions as the real server. requests-mock and aioresponses are imported only
when their fixture is used.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from functools import cache
from http.client import responses as HTTP_REASONS
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Final
from urllib.parse import unquote, urlencode, urlsplit

from .bodies import BodyError, decode_request_body
from .config import Settings
from .errors import MockServerError
from .faults import MALFORMED
from .handle import LocalBackend
from .journal import Journal
from .model import RequestView, StubSet
from .respond import Answer, fault_to_perform, respond
from .store import StubStore

__all__ = [
    "OFFLINE_DOMAIN",
    "OfflineDouble",
    "OfflineUnavailable",
    "aioresponses_mock",
    "requests_mock_mocker",
]

OFFLINE_DOMAIN: Final = "mockserver.invalid"
_HOST_PATTERN: Final = re.compile(
    r"^https?://([a-z0-9-]+\.)?" + re.escape(OFFLINE_DOMAIN) + r"(:\d+)?(/.*)?$", re.IGNORECASE
)


def _label(service: str) -> str:
    return re.sub(r"[^a-z0-9-]", "-", service.lower()).strip("-") or "service"


class OfflineDouble:
    """A store answering requests addressed to ``<service>.mockserver.invalid``."""

    def __init__(self, stubs: StubSet, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.store = StubStore(
            stubs,
            Journal(self.settings.journal_size, self.settings.journal_body_cap),
            self.settings.seed,
        )
        self.main_url = f"http://{OFFLINE_DOMAIN}"
        self._listener_by_host: dict[str, int | None] = {OFFLINE_DOMAIN: None}
        self.urls: dict[str, str] = {}
        for name, service in stubs.services.items():
            host = f"{_label(name)}.{OFFLINE_DOMAIN}"
            self._listener_by_host[host] = service.port
            self.urls[name] = f"http://{host}"

    def backend(self) -> LocalBackend:
        return LocalBackend(self.store, self.urls, self.main_url, self.settings.paths)

    def owns(self, url: str) -> bool:
        return bool(_HOST_PATTERN.match(url))

    def answer(
        self, method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes
    ) -> Answer:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        listener = self._listener_by_host.get(host)
        if host not in self._listener_by_host:
            listener = None  # an unknown <name>.mockserver.invalid: the main port's stubs
        header_items = tuple(headers)
        decoded = _decode_body(header_items, body, self.settings.max_body_bytes)
        if isinstance(decoded, Answer):
            return decoded
        view = RequestView(method, unquote(parts.path) or "/", parts.query, header_items, decoded)
        return respond(
            self.store,
            listener,
            view,
            header_items,
            unmatched_status=self.settings.unmatched_status,
            near_misses=self.settings.near_misses,
        )


def _error(status: int, error: str, detail: str) -> Answer:
    body = json.dumps({"error": error, "detail": detail}).encode()
    return Answer(status, (("Content-Type", "application/json"),), body)


def _decode_body(headers: tuple[tuple[str, str], ...], body: bytes, cap: int) -> bytes | Answer:
    """A coded request body decoded as the server decodes it, within the same cap."""
    coding = next((v for k, v in headers if k.lower() == "content-encoding"), None)
    try:
        return decode_request_body(body, coding, cap)
    except BodyError as exc:
        return _error(exc.status, exc.error, exc.detail)


def _header_dict(answer: Answer) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in answer.headers:
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def requests_mock_mocker(double: OfflineDouble) -> Any:
    """A requests-mock Mocker whose only matcher is the double (other URLs raise)."""
    try:
        import requests_mock
    except ImportError as exc:
        raise OfflineUnavailable(
            f"mock_requests needs requests-mock ({exc}): pip install 'mockserver[offline]'"
        ) from None

    mocker = requests_mock.Mocker()

    def matcher(request: Any) -> Any:
        if not double.owns(request.url):
            return None
        body = request.body
        if body is None:
            raw = b""
        elif isinstance(body, str):
            raw = body.encode()
        elif isinstance(body, bytes | bytearray):
            raw = bytes(body)
        else:
            raw = b"".join(chunk if isinstance(chunk, bytes) else chunk.encode() for chunk in body)
        answer = double.answer(request.method, request.url, request.headers.items(), raw)
        if fault_to_perform(answer, double.store.rng.random) is not None:
            raise _requests_fault(answer)
        return requests_mock.create_response(
            request, status_code=answer.status, content=answer.body, headers=_header_dict(answer)
        )

    mocker.add_matcher(matcher)
    return mocker


_METHODS: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# What the offline extra installs; named in every "cannot use aioresponses" line.
AIORESPONSES_FIX: Final = "pip install 'mockserver[offline]' (aioresponses>=0.7.9)"


class OfflineUnavailable(MockServerError):
    """The socket-free fixture cannot work with what is installed; the message names the fix."""


def aioresponses_mock(double: OfflineDouble) -> AbstractContextManager[Any]:
    """aioresponses, active for the block, answering every method on the double's hosts.

    Raises OfflineUnavailable here, before patching anything, when the installed
    aioresponses cannot build a response on this aiohttp.
    """
    aioresponses, callback_result = _aioresponses()
    return _aioresponses_active(double, aioresponses, callback_result, _response_class())


@contextmanager
def _aioresponses_active(
    double: OfflineDouble, aioresponses: Any, callback_result: Any, response_class: Any
) -> Iterator[Any]:
    def callback_for(method: str) -> Any:
        def callback(url: Any, **kwargs: Any) -> Any:
            headers = _request_headers(kwargs.get("headers"))
            raw = _request_body(kwargs, headers)
            answer = double.answer(method, str(url), headers.items(), raw)
            if fault_to_perform(answer, double.store.rng.random) is not None:
                raise _aiohttp_fault(answer, method, url)
            return _callback_result(callback_result, response_class, method, answer)

        return callback

    with aioresponses() as mock:  # routes can only be added once it is active
        for method in _METHODS:
            mock.add(_HOST_PATTERN, method=method, callback=callback_for(method), repeat=True)
        yield mock


def _callback_result(callback_result: Any, response_class: Any, method: str, answer: Answer) -> Any:
    out = _header_dict(answer)
    content_type = next(
        (v for k, v in out.items() if k.lower() == "content-type"), "application/octet-stream"
    )
    return callback_result(
        method=method,
        status=answer.status,
        body=answer.body,
        headers=out,
        content_type=content_type.split(";")[0],
        # aioresponses leaves a callback's reason None; raise_for_status() asserts one.
        reason=HTTP_REASONS.get(answer.status, ""),
        response_class=response_class,
    )


def _aioresponses() -> tuple[Any, Any]:
    """The installed aioresponses' mock and CallbackResult, once it has built a response."""
    try:
        import aioresponses as module
    except ImportError as exc:
        raise OfflineUnavailable(
            f"mock_aiohttp needs aioresponses ({exc}): {AIORESPONSES_FIX}"
        ) from None
    except Exception as exc:  # e.g. an old release's DeprecationWarning under -W error
        spec = find_spec("aioresponses")
        origin = spec.origin if spec is not None else None
        raise OfflineUnavailable(_cannot_use(origin, f"{type(exc).__name__}: {exc}")) from None
    problem = _probe(module.__file__ or "", module)
    if problem is not None:
        raise OfflineUnavailable(problem)
    return module.aioresponses, module.CallbackResult


_PROBED: dict[str, str | None] = {}


def _probe(where: str, module: Any) -> str | None:
    """One request through the installed aioresponses (once per copy of it): whatever it
    cannot do is found at fixture setup, not deep inside the library in the test."""
    if where not in _PROBED:
        # A thread of its own: the fixture may be set up inside a running event loop.
        with ThreadPoolExecutor(1) as pool:
            _PROBED[where] = pool.submit(_probe_once, module).result()
    return _PROBED[where]


def _probe_once(module: Any) -> str | None:
    import aiohttp

    answer = Answer(204, (("Content-Type", "text/plain"),), b"")

    async def request() -> int:
        with module.aioresponses() as mock:
            mock.add(
                f"http://{OFFLINE_DOMAIN}/",
                callback=lambda url, **_: _callback_result(
                    module.CallbackResult, _response_class(), "GET", answer
                ),
            )
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://{OFFLINE_DOMAIN}/") as response,
            ):
                await response.read()
                return response.status

    try:
        status = asyncio.run(request())
    except Exception as exc:
        failure = f"{type(exc).__name__}: {exc}"
    else:
        if status == 204:
            return None
        failure = f"a 204 came back as {status}"
    return _cannot_use(module.__file__, failure)


def _cannot_use(origin: str | None, failure: str) -> str:
    """The one line for an aioresponses that is there but cannot work."""
    import aiohttp

    owners = _owners(origin)
    installed = ", ".join(f"{dist.name} {dist.version}" for dist in owners) or "unknown"
    # Both distributions install the same files: one's files over the other's.
    shared = " (their files are mixed: uninstall both, then install one)" * (len(owners) > 1)
    return (
        f"mock_aiohttp cannot use the installed aioresponses ({installed}) on "
        f"aiohttp {aiohttp.__version__}: {' '.join(failure.split())}; {AIORESPONSES_FIX}{shared}"
    )


def _owners(origin: str | None) -> list[metadata.Distribution]:
    """The distributions (aioresponses, aioresponses-ng) whose files include this copy."""
    if origin is None:
        return []
    where = Path(origin).resolve()
    return [
        dist
        for dist in metadata.distributions()
        if any(
            str(f).startswith("aioresponses/") and Path(str(dist.locate_file(f))).resolve() == where
            for f in dist.files or ()
        )
    ]


@cache
def _response_class() -> type[Any]:
    """A ClientResponse that aioresponses 0.7.9 can build on aiohttp 3.14 (and the fork too)."""
    from aiohttp import ClientResponse

    class OfflineResponse(ClientResponse):
        """aiohttp 3.14 made ``stream_writer`` a required argument, which aioresponses 0.7.9
        does not pass; for a response built after its request was sent (``writer=None``)
        aiohttp reads only its ``output_size``, the bytes sent: none, with no socket."""

        def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
            kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
            super().__init__(method, url, **kwargs)

    return OfflineResponse


def _requests_fault(answer: Answer) -> Exception:
    """What ``requests`` raises when a real server breaks the connection this way."""
    import requests

    half = len(answer.body) // 2
    if answer.fault == "truncated_body":
        return requests.exceptions.ChunkedEncodingError(
            f"Connection broken: IncompleteRead({half} bytes read, "
            f"{len(answer.body) - half} more expected)"
        )
    reasons = {
        "connection_reset": ConnectionResetError(104, "Connection reset by peer"),
        "empty_response": "Remote end closed connection without response",
        "malformed_response": f"BadStatusLine({MALFORMED.decode().strip()!r})",
    }
    return requests.exceptions.ConnectionError("Connection aborted.", reasons[answer.fault or ""])


def _aiohttp_fault(answer: Answer, method: str, url: Any) -> Exception:
    """What an aiohttp ClientSession raises when a real server breaks the connection so."""
    import aiohttp
    from multidict import CIMultiDict, CIMultiDictProxy
    from yarl import URL

    if answer.fault == "connection_reset":
        return aiohttp.ClientOSError(104, "Connection reset by peer")
    if answer.fault == "empty_response":
        return aiohttp.ServerDisconnectedError()
    if answer.fault == "truncated_body":
        half = len(answer.body) // 2
        return aiohttp.ClientPayloadError(
            "Response payload is not completed: Not enough data to satisfy content length "
            f"header (received {half} of {len(answer.body)} bytes)."
        )
    where = URL(str(url))
    info = aiohttp.RequestInfo(where, method, CIMultiDictProxy(CIMultiDict()), where)
    return aiohttp.ClientResponseError(info, (), status=400, message="Bad status line")


def _request_headers(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    items = raw.items() if isinstance(raw, Mapping) else raw
    return {str(k): str(v) for k, v in items}


def _request_body(kwargs: Mapping[str, Any], headers: dict[str, str]) -> bytes:
    """The bytes aiohttp would have sent for ``json=`` / ``data=``."""
    has_type = any(k.lower() == "content-type" for k in headers)
    if kwargs.get("json") is not None:
        if not has_type:
            headers["Content-Type"] = "application/json"
        return json.dumps(kwargs["json"]).encode()
    data = kwargs.get("data")
    if data is None:
        return b""
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, Mapping):
        if not has_type:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return urlencode(data, doseq=True).encode()
    return str(data).encode()
