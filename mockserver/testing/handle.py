"""What a test holds: MockServerHandle and ServiceHandle, over an in-process or remote server.

The pytest fixtures hand these out; they work the same whether the server runs in this process
(``LocalBackend``: direct calls on the store, so a reset costs microseconds), elsewhere
(``RemoteBackend``: the admin client, for a container or staging), or with no sockets at all
(the offline modes build a LocalBackend-like store of their own).
"""

from __future__ import annotations

import re
from base64 import b64decode
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlencode

from mockserver.core.errors import MockServerError
from mockserver.core.matching import request_holds
from mockserver.core.model import RequestSpec, ServiceSpec, Stub
from mockserver.core.request import RequestView
from mockserver.core.store import StubStore
from mockserver.formats.loader import admin_body_reader
from mockserver.stubfiles.stubinput import parse_pattern_input, parse_stub_input
from mockserver.testing.client import MockServerClient
from mockserver.testing.messages import assert_published
from mockserver.testing.settling import settled_calls, shares_state

__all__ = [
    "Backend",
    "Listeners",
    "LocalBackend",
    "MockServerHandle",
    "RemoteBackend",
    "ServiceHandle",
    "UnknownService",
    "env_name",
]

Json = dict[str, Any]


class Backend(Protocol):
    """What the handles need from a server, wherever it runs."""

    def reset(self) -> None: ...
    def urls(self) -> dict[str, str]: ...
    def main_url(self) -> str: ...
    def add_stubs(self, stubs: Sequence[Mapping[str, Any]], service: str | None) -> list[Json]: ...
    def put_stubs(
        self, stubs: Sequence[Stub], services: Mapping[str, ServiceSpec] | None = None
    ) -> None: ...
    def declared_ports(self) -> dict[str, int | None]: ...
    def requests(self) -> list[Json]: ...
    def calls(self, spec: RequestSpec, service: str | None) -> list[Json]: ...
    def unmatched(self) -> list[Json]: ...
    def unmatched_count(self) -> int: ...
    def scenarios(self) -> dict[str, str]: ...
    def set_scenario(self, name: str, state: str) -> None: ...
    def webhooks(self) -> list[Json]: ...
    def messages(self) -> list[Json]: ...
    def unmatched_message_count(self) -> int: ...

    # Whether a service that only put_stubs declares gets a listener for the port it declares.
    opens_ports: bool

    # Whether the journal is shared by replicas, so verification waits for it (settling.py).
    @property
    def replicated(self) -> bool: ...


class Listeners(Protocol):
    """Where a local store's services are reached: the session server's ports, or the
    offline doubles' host names."""

    def url_of(self, service: str | None, listener: int | None) -> str:
        """The base URL of ``service`` (None: the main port) served on ``listener``."""
        ...

    def open_listeners(self) -> None:
        """Serve every listener the store's stubs name (runtime services bring new ones)."""
        ...


class LocalBackend:
    """A server (or a store) in this process: direct, thread-safe calls on its store."""

    opens_ports = True
    replicated = False

    def __init__(self, store: StubStore, listeners: Listeners, paths: Sequence[str] = ()) -> None:
        self.store = store
        self._listeners = listeners
        self._paths = tuple(paths)

    def reset(self) -> None:
        self.store.reset()

    def urls(self) -> dict[str, str]:
        url_of = self._listeners.url_of
        return {name: url_of(name, port) for name, port in self.store.snapshot.listener_of.items()}

    def main_url(self) -> str:
        return self._listeners.url_of(None, None)

    def declared_ports(self) -> dict[str, int | None]:
        return {name: spec.port for name, spec in self.store.loaded.services.items()}

    def add_stubs(self, stubs: Sequence[Mapping[str, Any]], service: str | None) -> list[Json]:
        snapshot = self.store.snapshot
        raw = [{**stub, "service": service} if service else dict(stub) for stub in stubs]
        parsed, explicit = parse_stub_input(
            raw,
            snapshot.services_on(None),
            admin_body_reader(self._paths),
            snapshot.stubs.services,
        )
        added = self.store.add(parsed, explicit_ids=explicit)
        return [{"id": s.id, "service": s.service} for s in added]

    def put_stubs(
        self, stubs: Sequence[Stub], services: Mapping[str, ServiceSpec] | None = None
    ) -> None:
        self.store.put_many(stubs, services)
        if services and any(spec.port is not None for spec in services.values()):
            self._listeners.open_listeners()

    def requests(self) -> list[Json]:
        return [entry.as_dict() for entry in self.store.journal.entries()]

    def calls(self, spec: RequestSpec, service: str | None) -> list[Json]:
        """The journaled requests (of ``service``, when given) that ``spec`` describes, matched
        on the entries themselves: the body as its bytes, the headers as they were sent."""
        return [
            entry.as_dict()
            for entry in self.store.journal.entries()
            if (service is None or entry.service == service) and request_holds(spec, entry.view())
        ]

    def unmatched(self) -> list[Json]:
        return [entry.as_dict() for entry in self.store.journal.unmatched()]

    def unmatched_count(self) -> int:
        """Requests no stub matched since the last reset, however many the journal still holds."""
        return self.store.journal.unmatched_total

    def scenarios(self) -> dict[str, str]:
        listing = self.store.scenarios.listing(self.store.snapshot.scenario_names)
        return {item["name"]: item["state"] for item in listing}

    def set_scenario(self, name: str, state: str) -> None:
        self.store.scenarios.move(name, state)

    def webhooks(self) -> list[Json]:
        return [delivery.as_dict() for delivery in self.store.deliveries.entries()]

    def messages(self) -> list[Json]:
        return [entry.as_dict() for entry in self.store.messages.entries()]

    def unmatched_message_count(self) -> int:
        return self.store.messages.unmatched_total


class RemoteBackend:
    """A server elsewhere (a container, staging), through its admin API."""

    opens_ports = False  # its listeners are its own files' ports

    def __init__(self, client: MockServerClient) -> None:
        self.client = client
        self._replicated: bool | None = None

    @property
    def replicated(self) -> bool:
        """Its health says replicas share its journal (asked once)."""
        if self._replicated is None:
            self._replicated = shares_state(self.client.health())
        return self._replicated

    def reset(self) -> None:
        self.client.reset()

    def urls(self) -> dict[str, str]:
        return {s["name"]: s["url"] for s in self.client.services()}

    def main_url(self) -> str:
        return self.client.base_url

    def add_stubs(self, stubs: Sequence[Mapping[str, Any]], service: str | None) -> list[Json]:
        raw = [{**stub, "service": service} if service else dict(stub) for stub in stubs]
        return [{"id": s["id"], "service": s["service"]} for s in self.client.add_stubs(raw)]

    def put_stubs(
        self, stubs: Sequence[Stub], services: Mapping[str, ServiceSpec] | None = None
    ) -> None:
        self.client.put_stubs([{**s.definition, "id": s.id, "service": s.service} for s in stubs])

    def declared_ports(self) -> dict[str, int | None]:
        return {s["name"]: s.get("declared_port") for s in self.client.services()}

    def requests(self) -> list[Json]:
        return self.client.requests()

    def calls(self, spec: RequestSpec, service: str | None) -> list[Json]:
        """As LocalBackend.calls, on the journal as the admin API shows it (secrets redacted)."""
        return [
            entry
            for entry in self.client.requests()
            if (service is None or entry.get("service") == service)
            and request_holds(spec, _view(entry))
        ]

    def unmatched(self) -> list[Json]:
        return self.client.unmatched()

    def unmatched_count(self) -> int:
        return self.client.unmatched_total()

    def scenarios(self) -> dict[str, str]:
        return {item["name"]: item["state"] for item in self.client.scenarios()}

    def set_scenario(self, name: str, state: str) -> None:
        self.client.set_scenario(name, state)

    def webhooks(self) -> list[Json]:
        return self.client.webhooks()

    def messages(self) -> list[Json]:
        return self.client.messages()

    def unmatched_message_count(self) -> int:
        return self.client.unmatched_messages_total()


def env_name(pattern: str, service: str) -> str:
    """``{NAME}_URL`` for service ``users-api`` → ``USERS_API_URL``."""
    return pattern.replace("{NAME}", re.sub(r"[^A-Z0-9]", "_", service.upper()))


def _view(entry: Mapping[str, Any]) -> RequestView:
    headers = [
        (name, v)
        for name, value in entry.get("headers", {}).items()
        for v in (value if isinstance(value, list) else [value])
    ]
    body = entry.get("body", "")
    return RequestView(
        entry["method"],
        entry["path"],
        urlencode(entry.get("query", {}), doseq=True),
        headers,
        body.encode() if entry.get("body_encoding", "text") == "text" else b64decode(body),
    )


def _describe(entry: Mapping[str, Any]) -> str:
    query = urlencode(entry.get("query", {}), doseq=True)
    outcome = f"-> {entry.get('status')} ({entry.get('stub') or 'unmatched'})"
    return f"{entry['method']} {entry['path']}{'?' + query if query else ''} {outcome}"


class _Verifies:
    """assert_called / assert_not_called over the journal of a server, or of one service."""

    _backend: Backend
    _service: str | None = None

    def _entries(self) -> list[Json]:
        requests = self._backend.requests()
        if self._service is None:
            return requests
        return [e for e in requests if e.get("service") == self._service]

    def _where(self) -> str:
        raise NotImplementedError

    def calls(
        self, method: str | None = None, path: str | None = None, **pattern: Any
    ) -> list[Json]:
        """Journaled requests matching ``method``, ``path`` (templates allowed) and any other
        keys of a stub's ``request`` (query, headers, cookies, body)."""
        spec_raw = {**pattern}
        if method is not None:
            spec_raw["method"] = method
        if path is not None:
            spec_raw["path"] = path
        return self._backend.calls(parse_pattern_input(spec_raw), self._service)

    def assert_called(
        self,
        method: str | None = None,
        path: str | None = None,
        times: int | None = None,
        **pattern: Any,
    ) -> list[Json]:
        """Fail unless matching requests arrived (exactly ``times`` of them, when given)."""
        __tracebackhide__ = True  # pytest shows the caller's line, not ours
        if self._backend.replicated:  # another replica's requests arrive within 1 s
            found = settled_calls(lambda: self.calls(method, path, **pattern), times)
        else:
            found = self.calls(method, path, **pattern)
        if (times is None and found) or (times is not None and len(found) == times):
            return found
        wanted = f"{method or 'ANY'} {path or '(any path)'}"
        expected = "at least once" if times is None else f"{times} time{'s' * (times != 1)}"
        seen = self._entries()
        listing = "\n".join(f"  {_describe(e)}" for e in seen) or "  (none)"
        raise AssertionError(
            f"expected {wanted} {expected} on {self._where()}, got {len(found)}; "
            f"requests received:\n{listing}"
        )

    def assert_not_called(
        self, method: str | None = None, path: str | None = None, **pattern: Any
    ) -> None:
        """Fail if any matching request arrived."""
        __tracebackhide__ = True
        self.assert_called(method, path, times=0, **pattern)


class ServiceHandle(_Verifies):
    """One service of the running double: its URL, its stubs, its requests."""

    def __init__(self, backend: Backend, name: str) -> None:
        self._backend = backend
        self.name = self._service = name

    def __repr__(self) -> str:
        return f"<ServiceHandle {self.name} {self.url}>"

    @property
    def url(self) -> str:
        urls = self._backend.urls()
        return urls.get(self.name, self._backend.main_url())

    def stub(self, stub: Mapping[str, Any]) -> str:
        """Add a stub (stub-file keys) for this test; returns its id. It wins over file stubs."""
        return str(self._backend.add_stubs([stub], self.name)[0]["id"])

    def _where(self) -> str:
        return f"service {self.name!r}"

    @property
    def requests(self) -> list[Json]:
        """This service's journaled requests, oldest first."""
        return self._entries()


class UnknownService(MockServerError, KeyError):
    """A service no stub file declares; the message says where the stub files came from."""

    def __str__(self) -> str:
        return str(self.args[0])  # KeyError's own repr()s the message


class ScenarioHandle:
    """One scenario of the running double: ``.state`` now, ``.set(state)`` to move it."""

    def __init__(self, backend: Backend, name: str) -> None:
        self._backend, self.name = backend, name

    def __repr__(self) -> str:
        return f"<Scenario {self.name} in {self.state!r}>"

    @property
    def state(self) -> str:
        return self._backend.scenarios()[self.name]

    def set(self, state: str) -> None:
        self._backend.set_scenario(self.name, state)


class MockServerHandle(_Verifies):
    """The running double, as a test sees it: ``.url``, ``.service(name)``, ``.requests``...

    ``sources`` says where the stub files came from, for the error of an unknown service.
    """

    def __init__(self, backend: Backend, sources: str = "") -> None:
        self._backend = backend
        self._sources = sources
        # Called around each reset(): the plugin keeps the unmatched requests it would wipe,
        # then puts back the marker's stubs.
        self.before_reset: list[Callable[[], None]] = []
        self.after_reset: list[Callable[[], None]] = []

    def __repr__(self) -> str:
        return f"<MockServerHandle {self.url}>"

    @property
    def url(self) -> str:
        """Base URL of the main port."""
        return self._backend.main_url()

    @property
    def urls(self) -> dict[str, str]:
        """Every service's base URL."""
        return self._backend.urls()

    def service(self, name: str) -> ServiceHandle:
        urls = self._backend.urls()
        if name not in urls:
            known = ", ".join(sorted(urls)) or "none"
            where = f"; {self._sources}" if self._sources else ""
            raise UnknownService(f"no service {name!r}; services: {known}{where}")
        return ServiceHandle(self._backend, name)

    @property
    def webhooks(self) -> list[Json]:
        """The stubs' webhook calls since the last reset, oldest first: stub, method, url,
        status or error (calls run after their answers: wait for the one you expect)."""
        return self._backend.webhooks()

    @property
    def messages(self) -> list[Json]:
        """The messages the amqp: doubles consumed and published since the last reset, oldest
        first: direction, exchange, routing_key, consumer, body, properties, matched."""
        return self._backend.messages()

    def assert_published(
        self,
        exchange: str,
        routing_key: str,
        times: int | None = None,
        *,
        direction: str | None = None,
        timeout: float = 5.0,
    ) -> list[Json]:
        """Fail unless messages went to ``exchange`` with ``routing_key`` (exactly ``times``
        of them, when given): the service's, consumed by the doubles, and the doubles' own,
        confirmed by the broker (``direction="consumed"`` or ``"published"`` for one side).
        Messages travel after the call that caused them: waits up to ``timeout`` seconds
        for the count to be reached."""
        __tracebackhide__ = True
        return assert_published(
            self._backend, exchange, routing_key, times, direction=direction, timeout=timeout
        )

    def scenario(self, name: str) -> ScenarioHandle:
        """A scenario the stubs name: ``.state``, and ``.set(state)`` to move it."""
        known = self._backend.scenarios()
        if name not in known:
            names = ", ".join(sorted(known)) or "none"
            raise KeyError(f"no stub names scenario {name!r}; the scenarios: {names}")
        return ScenarioHandle(self._backend, name)

    def stub(self, stub: Mapping[str, Any], service: str | None = None) -> str:
        """Add a stub for this test (on the main port, or for ``service``); returns its id."""
        return str(self._backend.add_stubs([stub], service)[0]["id"])

    def reset(self) -> None:
        """Back to the file stubs, with an empty journal: between hypothesis examples, say.
        Under the pytest plugin, the marker's stubs stay, and unmatched requests made before
        it still fail the test."""
        for hook in self.before_reset:
            hook()
        self._backend.reset()
        for hook in self.after_reset:
            hook()

    def let_through(self, mock: Any) -> Any:
        """Let this server's URLs through another library's active mock (requests-mock,
        responses, respx, aioresponses), so they reach the server; returns the mock."""
        from mockserver.testing.passthrough import let_through

        let_through(mock, {self.url, *self.urls.values()})
        return mock

    def _where(self) -> str:
        return "the mock server"

    @property
    def requests(self) -> list[Json]:
        """Every journaled request, oldest first."""
        return self._entries()

    @property
    def unmatched(self) -> list[Json]:
        """Requests no stub matched, each with its nearest stubs."""
        return self._backend.unmatched()
