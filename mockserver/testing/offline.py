"""The same stubs with no sockets: behind requests-mock and aioresponses.

Each service gets a base URL on the reserved ``.invalid`` domain (RFC 6761: it never
resolves, so a request that escapes the mock cannot reach a real host), and every request
to those hosts is answered by ``respond`` — the same matching, rendering, conditional and
negotiation decisions as the real server. requests-mock and aioresponses are imported only
when their fixture is used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from http.client import responses as HTTP_REASONS
from typing import Any, Final
from urllib.parse import unquote, urlencode, urlsplit

from yarl import URL

from mockserver.core.config import Settings
from mockserver.core.errors import HttpProblem
from mockserver.core.headernames import CONTENT_TYPE, LOWER_CONTENT_ENCODING, LOWER_CONTENT_TYPE
from mockserver.core.journal import Journal
from mockserver.core.model import Fault, StubSet
from mockserver.core.request import RequestView
from mockserver.core.respond import Answer, fault_to_perform, respond
from mockserver.core.store import StubStore
from mockserver.server.bodies import BodyError, decode_request_body
from mockserver.server.faults import MALFORMED
from mockserver.testing.aioresponses_compat import (
    OfflineUnavailable,
    response_class,
    usable_aioresponses,
)
from mockserver.testing.handle import LocalBackend

__all__ = [
    "HOST_PATTERN",
    "OFFLINE_DOMAIN",
    "OfflineDouble",
    "OfflineUnavailable",
    "aioresponses_mock",
    "requests_mock_mocker",
]

OFFLINE_DOMAIN: Final = "mockserver.invalid"
HOST_PATTERN: Final = re.compile(
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
        if self.settings.openapi:
            from mockserver.formats.openapi.load import openapi_check  # only with --openapi

            self.store.request_check = openapi_check(self.settings.openapi)
        self.main_url = f"http://{OFFLINE_DOMAIN}"
        self._listener_by_host: dict[str, int | None] = {OFFLINE_DOMAIN: None}
        self.urls: dict[str, str] = {}
        for name, service in stubs.services.items():
            host = f"{_label(name)}.{OFFLINE_DOMAIN}"
            self._listener_by_host[host] = service.port
            self.urls[name] = f"http://{host}"

    def backend(self) -> LocalBackend:
        return LocalBackend(self.store, self, self.settings.paths)

    def url_of(self, service: str | None, listener: int | None) -> str:
        """Each service has a host name of its own, whatever port it declares."""
        return self.main_url if service is None else f"http://{_label(service)}.{OFFLINE_DOMAIN}"

    def open_listeners(self) -> None:
        """Nothing to open: a host name is found when a request names it."""

    def _listener_of_host(self, host: str) -> int | None:
        if host in self._listener_by_host:
            return self._listener_by_host[host]
        # A service that runtime stubs declared (a marker's files), else the main port's.
        for name, listener in self.store.snapshot.listener_of.items():
            if host == f"{_label(name)}.{OFFLINE_DOMAIN}":
                return listener
        return None

    def owns(self, url: str) -> bool:
        return bool(HOST_PATTERN.match(url))

    def answer(
        self, method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes
    ) -> Answer:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        listener = self._listener_of_host(host)
        header_items = tuple(headers)
        decoded = _decode_body(header_items, body, self.settings.max_body_bytes)
        if isinstance(decoded, Answer):
            return decoded
        # The query as the server reads it (yarl's decoding), so a stub's ``url`` reads the same.
        query = URL.build(path="/", query_string=parts.query, encoded=True).query_string
        view = RequestView(method, unquote(parts.path) or "/", query, header_items, decoded)
        return respond(
            self.store,
            listener,
            view,
            unmatched_status=self.settings.unmatched_status,
            near_misses=self.settings.near_misses,
            match_budget=self.settings.match_budget_ms / 1000,
        )


def _problem(problem: HttpProblem) -> Answer:
    return Answer(problem.status, ((CONTENT_TYPE, "application/json"),), problem.body())


def _decode_body(headers: tuple[tuple[str, str], ...], body: bytes, cap: int) -> bytes | Answer:
    """A coded request body decoded as the server decodes it, within the same cap."""
    coding = next((v for k, v in headers if k.lower() == LOWER_CONTENT_ENCODING), None)
    try:
        return decode_request_body(body, coding, cap)
    except BodyError as exc:
        return _problem(exc.problem)


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
        fault = fault_to_perform(answer, double.store.rng.random)
        if fault is not None:
            raise _requests_fault(answer, fault)
        return requests_mock.create_response(
            request, status_code=answer.status, content=answer.body, headers=_header_dict(answer)
        )

    mocker.add_matcher(matcher)
    return mocker


_METHODS: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def aioresponses_mock(double: OfflineDouble) -> AbstractContextManager[Any]:
    """aioresponses, active for the block, answering every method on the double's hosts.

    Raises OfflineUnavailable here, before patching anything, when the installed
    aioresponses cannot build a response on this aiohttp.
    """
    module = usable_aioresponses()
    return _aioresponses_active(
        double, module.aioresponses, module.CallbackResult, response_class()
    )


@contextmanager
def _aioresponses_active(
    double: OfflineDouble, aioresponses: Any, callback_result: Any, response_class: Any
) -> Iterator[Any]:
    def callback_for(method: str) -> Any:
        async def callback(url: Any, **kwargs: Any) -> Any:
            headers = _request_headers(kwargs.get("headers"))
            raw = await _payload_bytes(kwargs.get("data"), headers)
            if raw is None:
                raw = _request_body(kwargs, headers)
            answer = double.answer(method, str(url), headers.items(), raw)
            if fault_to_perform(answer, double.store.rng.random) is not None:
                raise _aiohttp_fault(answer, method, url)
            return _callback_result(callback_result, response_class, method, answer)

        return callback

    with aioresponses() as mock:  # routes can only be added once it is active
        for method in _METHODS:
            mock.add(HOST_PATTERN, method=method, callback=callback_for(method), repeat=True)
        yield mock


def _callback_result(callback_result: Any, response_class: Any, method: str, answer: Answer) -> Any:
    """What aioresponses builds the response from; the probe builds one with the same keywords."""
    out = _header_dict(answer)
    content_type = next(
        (v for k, v in out.items() if k.lower() == LOWER_CONTENT_TYPE), "application/octet-stream"
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


def _requests_fault(answer: Answer, fault: Fault) -> Exception:
    """What ``requests`` raises when a real server breaks the connection this way."""
    import requests

    half = len(answer.body) // 2
    if fault is Fault.TRUNCATED_BODY:
        return requests.exceptions.ChunkedEncodingError(
            f"Connection broken: IncompleteRead({half} bytes read, "
            f"{len(answer.body) - half} more expected)"
        )
    reasons = {
        Fault.CONNECTION_RESET: ConnectionResetError(104, "Connection reset by peer"),
        Fault.EMPTY_RESPONSE: "Remote end closed connection without response",
        Fault.MALFORMED_RESPONSE: f"BadStatusLine({MALFORMED.decode().strip()!r})",
    }
    return requests.exceptions.ConnectionError("Connection aborted.", reasons[fault])


def _aiohttp_fault(answer: Answer, method: str, url: Any) -> Exception:
    """What an aiohttp ClientSession raises when a real server breaks the connection so."""
    import aiohttp
    from multidict import CIMultiDict, CIMultiDictProxy
    from yarl import URL

    if answer.fault is Fault.CONNECTION_RESET:
        return aiohttp.ClientOSError(104, "Connection reset by peer")
    if answer.fault is Fault.EMPTY_RESPONSE:
        return aiohttp.ServerDisconnectedError()
    if answer.fault is Fault.TRUNCATED_BODY:
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


async def _payload_bytes(data: Any, headers: dict[str, str]) -> bytes | None:
    """The bytes of an aiohttp ``FormData`` or payload (a multipart upload), which only aiohttp
    can write, and only asynchronously; None for anything else."""
    if data is None or isinstance(data, bytes | bytearray | str | Mapping):
        return None
    from aiohttp import FormData, Payload

    if isinstance(data, FormData):
        data = data()
    if not isinstance(data, Payload):
        return None
    if not any(k.lower() == LOWER_CONTENT_TYPE for k in headers):
        headers[CONTENT_TYPE] = data.content_type
    return await data.as_bytes()


def _request_body(kwargs: Mapping[str, Any], headers: dict[str, str]) -> bytes:
    """The bytes aiohttp would have sent for ``json=`` / ``data=``."""
    has_type = any(k.lower() == LOWER_CONTENT_TYPE for k in headers)
    if kwargs.get("json") is not None:
        if not has_type:
            headers[CONTENT_TYPE] = "application/json"
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
            headers[CONTENT_TYPE] = "application/x-www-form-urlencoded"
        return urlencode(data, doseq=True).encode()
    return str(data).encode()
