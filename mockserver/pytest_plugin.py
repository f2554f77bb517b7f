"""pytest plugin: a real mock server per session, reset per test, strict about unmatched requests.

    def test_profile(mockserver):
        users = mockserver.service("users")              # from the stubs directory
        users.stub({"request": {"method": "GET", "path": "/api/user/2"},
                    "response": {"json": {"id": "2"}}})
        fetch_profile()                                   # reads os.environ["USERS_URL"]
        users.assert_called("GET", "/api/user/2", times=1)

One server runs for the session in a thread of its own (so sync and async tests share it and
concurrent requests are served concurrently), on ephemeral ports only. Before each test it is
reset and each service's URL is put in the environment; after it, a request that matched no
stub fails the test with the near-miss report.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from mockserver.core.config import RecordMode, Settings
from mockserver.core.errors import StubFileError
from mockserver.testing.handle import (
    Backend,
    LocalBackend,
    MockServerHandle,
    RemoteBackend,
    env_name,
)
from mockserver.testing.pytest_record import note_recorded, recording_session
from mockserver.testing.pytest_strict import late_arrivals, previous_test, watch
from mockserver.testing.remote import remote_client, url_source
from mockserver.testing.strictness import Ended, Watch

__all__ = [
    "mock_aiohttp",
    "mock_httpx",
    "mock_requests",
    "mockserver",
    "mockserver_backend",
    "mockserver_container",
    "mockserver_container_backend",
    "mockserver_image",
    "mockserver_offline_stubs",
    "mockserver_settings",
    "mockserver_urls",
]

_OFFLINE = pytest.StashKey[tuple[Any, MockServerHandle, Backend]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockserver", "mockserver: HTTP test doubles from stub files")
    group.addoption(
        "--mockserver-stubs",
        dest="mockserver_stubs",
        help="stub files or directories for the mockserver fixture, comma-separated "
        "(default: ini mockserver_stubs, else stubs/ under the rootdir when it exists)",
    )
    group.addoption(
        "--mockserver-url",
        dest="mockserver_url",
        default=os.environ.get("MOCKSERVER_URL"),
        help="use the mock server running at this URL (a container, staging) instead of "
        "starting one; env MOCKSERVER_URL. Its admin token comes from MOCKSERVER_ADMIN_TOKEN",
    )
    group.addoption(
        "--mockserver-namespace",
        dest="mockserver_namespace",
        choices=("auto", "none"),
        default="auto",
        help="with --mockserver-url: auto (default) works in a namespace of this session's own "
        "(each xdist worker its own), so parallel suites never see or reset each other's "
        "stubs and requests; none uses the server's default namespace, shared by all",
    )
    group.addoption(
        "--mockserver-record",
        dest="mockserver_record",
        choices=("none", "new", "all"),
        default="none",
        help="none: only stubs answer (default). new: a request no stub matches is forwarded "
        "to its service's 'upstream:' and recorded into <service>.recorded.yaml beside its "
        "stub file. all: every request to a service with an upstream is forwarded and "
        "recorded anew",
    )
    parser.addini(
        "mockserver_stubs",
        type="paths",
        default=[],
        help="stub files or directories for the mockserver fixture",
    )
    group.addoption(
        "--mockserver-openapi",
        dest="mockserver_openapi",
        help="an OpenAPI document that requests to the stubs are checked against: one that "
        "breaks it gets 400 and fails a strict test (default: ini mockserver_openapi)",
    )
    parser.addini(
        "mockserver_openapi",
        type="paths",
        default=[],
        help="an OpenAPI document that requests to the stubs are checked against",
    )
    parser.addini(
        "mockserver_strict",
        type="bool",
        default=True,
        help="fail a test whose code made a request no stub matched (default true)",
    )
    parser.addini(
        "mockserver_env_pattern",
        default="{NAME}_URL",
        help="environment variable set to each service's base URL; {NAME} is the service "
        "name upper-cased, other characters as _ (default {NAME}_URL)",
    )
    parser.addini(
        "mockserver_image",
        default="mockserver:latest",
        help="the Docker image the mockserver_container fixture runs (default mockserver:latest)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "mockserver(stubs=None, strict=None): extra stubs for this test (stub files: a path "
        "or a list, relative to the test file; or inline stubs, dicts of stub-file keys), "
        "added to its class's and module's (the closest wins a conflict), and whether "
        "unmatched requests fail it",
    )


def pytest_report_header(config: pytest.Config) -> str | None:
    url = config.getoption("mockserver_url")
    if not url:
        return None
    return f"mockserver: the server at {url} (from {url_source(config, url)})"


def _stub_paths(config: pytest.Config) -> list[str]:
    option = config.getoption("mockserver_stubs")
    if option:
        return [p.strip() for p in option.split(",") if p.strip()]
    ini = config.getini("mockserver_stubs")
    if ini:
        return [str(p) for p in ini]
    default = config.rootpath / "stubs"
    return [str(default)] if default.is_dir() else []


@pytest.fixture(scope="session")
def mockserver_settings(pytestconfig: pytest.Config) -> Settings:
    """How the session's server runs; override it in conftest.py to change anything.

    Ports are ephemeral, declared ones included, so parallel runs (pytest-xdist) never collide.
    """
    record = pytestconfig.getoption("mockserver_record")
    return Settings(
        paths=tuple(_stub_paths(pytestconfig)),
        host="127.0.0.1",
        port=0,
        ephemeral_service_ports=True,
        log_level="warning",
        record=RecordMode(record),  # the option's choices are RecordMode's values
        record_session=recording_session(pytestconfig),
        openapi=_openapi_path(pytestconfig),
    )


def _openapi_path(config: pytest.Config) -> str | None:
    option = config.getoption("mockserver_openapi")
    if option:
        return str(option)
    ini = config.getini("mockserver_openapi")
    return str(ini[0]) if ini else None


@pytest.fixture(scope="session")
def mockserver_backend(
    pytestconfig: pytest.Config, mockserver_settings: Settings
) -> Iterator[Backend]:
    """The session's server: started here, or the remote one --mockserver-url names."""
    url = pytestconfig.getoption("mockserver_url")
    if url:
        from mockserver.testing.sharedserver import NamespaceRefused, open_remote

        with remote_client(pytestconfig, url) as client:
            try:
                remote, close = open_remote(client, pytestconfig.getoption("mockserver_namespace"))
            except NamespaceRefused as exc:
                raise pytest.fail.Exception(f"mockserver: {exc}", pytrace=False) from None
            # Ended last: the last test's own checks still ask it after this fixture's end.
            pytestconfig.add_cleanup(close)
            yield remote
            _fail_late(pytestconfig, remote)
        return
    from mockserver.server.runner import MockServer

    try:
        server = MockServer(mockserver_settings)
    except StubFileError as exc:
        raise pytest.fail.Exception(
            f"mockserver: the stub files have problems\n{exc}", pytrace=False
        ) from None
    try:
        with server:
            backend = LocalBackend(server.store, server, mockserver_settings.paths)
            yield backend
            _fail_late(pytestconfig, backend)
    finally:  # what was recorded is said even when a late request fails the session's end
        note_recorded(pytestconfig, server)


def _fail_late(config: pytest.Config, backend: Backend) -> None:
    """Requests after the last test that used the server, before it stops, fail loudly."""
    late = late_arrivals(backend, previous_test(config, backend), "the session ended")
    if late:
        raise pytest.fail.Exception(late, pytrace=False)


@pytest.fixture(scope="session")
def mockserver_urls(mockserver_backend: Backend) -> dict[str, str]:
    """Each service's base URL, for session- and module-scoped fixtures (``<NAME>_URL`` is in
    the environment only while a test using ``mockserver`` runs)."""
    return mockserver_backend.urls()


def _marker_kwarg(node: pytest.Item, key: str) -> Any:
    """``key`` of the closest mockserver marker that sets it: a test's ``strict=`` does not
    hide its module's ``stubs=``."""
    for mark in node.iter_markers("mockserver"):
        if mark.kwargs.get(key) is not None:
            return mark.kwargs[key]
    return None


_MARKER_STUBS = pytest.StashKey[Any]()  # a markers.MarkerStubLoader, made on first use


def _marker_levels(request: pytest.FixtureRequest) -> list[list[Any]]:
    """Each mockserver marker's ``stubs=`` as a list (files and inline dicts), closest first."""
    levels = []
    for mark in request.node.iter_markers("mockserver"):
        raw = mark.kwargs.get("stubs")
        if raw:
            levels.append([raw] if isinstance(raw, str | os.PathLike | dict) else list(raw))
    return levels


def _marker_stubs(request: pytest.FixtureRequest, backend: Backend, files: list[Any]) -> None:
    """Put the stub files of the test's mockserver markers (closest first) into ``backend``,
    in one batch."""
    from mockserver.testing.markers import MarkerStubError, MarkerStubLoader, marker_problem

    stash = request.config.stash
    if _MARKER_STUBS not in stash:
        stash[_MARKER_STUBS] = MarkerStubLoader()
    try:
        stash[_MARKER_STUBS].stubs(files, Path(str(request.node.path)).parent).put(backend)
    except (StubFileError, MarkerStubError) as exc:
        raise pytest.fail.Exception(marker_problem(exc), pytrace=False) from None


def _prepare(request: pytest.FixtureRequest, backend: Backend) -> None:
    """The marker's stubs on a freshly reset backend: the files' of every level in one batch,
    then the inline ones, farthest level first."""
    levels = _marker_levels(request)
    files = [[item for item in level if not isinstance(item, dict)] for level in levels]
    if any(files):
        _marker_stubs(request, backend, files)
    inline = [item for level in reversed(levels) for item in level if isinstance(item, dict)]
    if inline:
        try:
            backend.add_stubs(inline, None)
        except (StubFileError, ValueError) as exc:
            raise pytest.fail.Exception(
                f"mockserver: the marker's inline stubs have problems\n{exc}", pytrace=False
            ) from None


def _fresh(request: pytest.FixtureRequest, backend: Backend) -> Ended | None:
    """Reset ``backend`` for this test, with the marker's stubs; returns the test that used it
    last. A request that test left behind (after it ended) fails this one's setup, saying so."""
    previous = previous_test(request.config, backend)
    late = late_arrivals(backend, previous, "this test began")
    backend.reset()
    if late:
        raise pytest.fail.Exception(late, pytrace=False)
    _prepare(request, backend)
    return previous


def _sources(config: pytest.Config, paths: tuple[str, ...], remote: str | None = None) -> str:
    """Where the stub files came from, in the words of an unknown service's error."""
    if remote:
        return f"the services are those of the server at {remote}"
    if paths:
        return f"stub files from {', '.join(paths)}"
    root = config.rootpath
    how = f"the directory of {config.inipath}" if config.inipath else "no ini file found"
    return (
        f"no stub files: none named (--mockserver-stubs, ini mockserver_stubs) and no stubs/ in "
        f"pytest's rootdir {root} ({how}; tried {root / 'stubs'}): run pytest from the "
        "directory holding stubs/, put a pytest.ini there, or name them with --mockserver-stubs"
    )


@pytest.fixture
def mockserver(
    request: pytest.FixtureRequest, mockserver_settings: Settings, mockserver_backend: Backend
) -> Iterator[MockServerHandle]:
    """The session's mock server, reset for this test, with ``<NAME>_URL`` set per service."""
    previous = _fresh(request, mockserver_backend)
    remote = request.config.getoption("mockserver_url")
    handle = MockServerHandle(
        mockserver_backend, _sources(request.config, mockserver_settings.paths, remote)
    )
    with _serving(request, handle, mockserver_backend, previous=previous):
        yield handle


@pytest.fixture(scope="session")
def mockserver_offline_stubs(mockserver_settings: Settings) -> Any:
    """The stub set the socket-free fixtures serve (loaded once per session)."""
    from mockserver.formats.loader import load_paths

    try:
        return load_paths(mockserver_settings.paths)
    except StubFileError as exc:
        raise pytest.fail.Exception(
            f"mockserver: the stub files have problems\n{exc}", pytrace=False
        ) from None


def _offline(
    request: pytest.FixtureRequest, settings: Settings, stubs: Any
) -> tuple[Any, MockServerHandle, Backend]:
    """The test's socket-free double: one for mock_requests and mock_aiohttp together, so a
    stub added through either answers both clients."""
    shared: tuple[Any, MockServerHandle, Backend] | None = request.node.stash.get(_OFFLINE, None)
    if shared is not None:
        return shared
    from mockserver.testing.offline import OfflineDouble

    double = OfflineDouble(stubs, settings)
    backend = double.backend()
    _prepare(request, backend)
    made = double, MockServerHandle(backend, _sources(request.config, settings.paths)), backend
    request.node.stash[_OFFLINE] = made
    return made


def _offline_mock(make: Callable[[Any], Any], double: Any) -> Any:
    """The library's mock for the double, or a setup error naming what to install."""
    from mockserver.testing.offline import OfflineUnavailable

    try:
        return make(double)
    except OfflineUnavailable as exc:
        raise pytest.fail.Exception(f"mockserver: {exc}", pytrace=False) from None


@contextmanager
def _serving(
    request: pytest.FixtureRequest,
    handle: MockServerHandle,
    backend: Backend,
    *,
    mock: Any = None,
    previous: Ended | None = None,
) -> Iterator[None]:
    """Watch the fixture for strictness (pytest_strict.py) and, unless a real server's URLs
    win, put each service's URL in the environment for the test."""
    config = request.config
    marked = _marker_kwarg(request.node, "strict")
    strict = config.getini("mockserver_strict") if marked is None else bool(marked)
    pattern = config.getini("mockserver_env_pattern")
    real = mock is None
    fixture = request.fixturename or "mockserver"
    watched = Watch(fixture, handle, backend, strict, real, mock, previous=previous)
    if not handle.after_reset:  # once: mock_requests and mock_aiohttp share the handle
        handle.after_reset.append(lambda: _prepare(request, backend))
    with pytest.MonkeyPatch.context() as patch:
        if watch(request, watched):
            for name, url in backend.urls().items():
                patch.setenv(env_name(pattern, name), url)
        yield


def _socket_free(
    request: pytest.FixtureRequest, settings: Settings, stubs: Any, make: Callable[[Any], Any]
) -> Iterator[MockServerHandle]:
    """A socket-free fixture: the test's double behind the library mock ``make`` builds."""
    double, handle, backend = _offline(request, settings, stubs)
    with _offline_mock(make, double) as mock, _serving(request, handle, backend, mock=mock):
        yield handle


@pytest.fixture
def mock_requests(
    request: pytest.FixtureRequest, mockserver_settings: Settings, mockserver_offline_stubs: Any
) -> Iterator[MockServerHandle]:
    """The stubs answering ``requests`` calls with no socket (through requests-mock).

    Each service's ``<NAME>_URL`` is ``http://<name>.mockserver.invalid``; other URLs raise.
    """
    from mockserver.testing.offline import requests_mock_mocker

    yield from _socket_free(
        request, mockserver_settings, mockserver_offline_stubs, requests_mock_mocker
    )


@pytest.fixture
def mock_aiohttp(
    request: pytest.FixtureRequest, mockserver_settings: Settings, mockserver_offline_stubs: Any
) -> Iterator[MockServerHandle]:
    """The stubs answering ``aiohttp.ClientSession`` calls with no socket (through aioresponses).

    Each service's ``<NAME>_URL`` is ``http://<name>.mockserver.invalid``; other URLs raise.
    """
    from mockserver.testing.offline import aioresponses_mock

    yield from _socket_free(
        request, mockserver_settings, mockserver_offline_stubs, aioresponses_mock
    )


@pytest.fixture
def mock_httpx(
    request: pytest.FixtureRequest, mockserver_settings: Settings, mockserver_offline_stubs: Any
) -> Iterator[MockServerHandle]:
    """The stubs answering ``httpx`` clients, sync and async, with no socket (through respx).

    Each service's ``<NAME>_URL`` is ``http://<name>.mockserver.invalid``; other URLs raise.
    """
    from mockserver.testing.offline_httpx import respx_router

    yield from _socket_free(request, mockserver_settings, mockserver_offline_stubs, respx_router)


@pytest.fixture(scope="session")
def mockserver_image(pytestconfig: pytest.Config) -> str:
    """The image ``mockserver_container`` runs: ini ``mockserver_image``; override to build one."""
    return str(pytestconfig.getini("mockserver_image"))


@pytest.fixture(scope="session")
def mockserver_container_backend(
    mockserver_image: str, mockserver_settings: Settings
) -> Iterator[Backend]:
    """The session's mockserver container (container.py); skipped when Docker is unreachable,
    failed instead when MOCKSERVER_REQUIRE_DOCKER=1 (CI)."""
    from mockserver.core.errors import MockServerError
    from mockserver.testing.container import DockerUnavailable, MockServerContainer

    container = MockServerContainer(mockserver_image, mockserver_settings.paths)
    try:
        container.start()
    except DockerUnavailable as exc:
        if os.environ.get("MOCKSERVER_REQUIRE_DOCKER") == "1":
            raise pytest.fail.Exception(f"mockserver_container: {exc}", pytrace=False) from None
        pytest.skip(f"mockserver_container: {exc}")
    except MockServerError as exc:
        raise pytest.fail.Exception(f"mockserver_container: {exc}", pytrace=False) from None
    with container:
        yield RemoteBackend(container.admin)


@pytest.fixture
def mockserver_container(
    request: pytest.FixtureRequest,
    mockserver_settings: Settings,
    mockserver_container_backend: Backend,
) -> Iterator[MockServerHandle]:
    """Like ``mockserver``, but the double is the Docker image: one container per session,
    reset for each test, with the same stubs mounted read-only and the same handle."""
    backend = mockserver_container_backend
    previous = _fresh(request, backend)
    handle = MockServerHandle(backend, _sources(request.config, mockserver_settings.paths))
    with _serving(request, handle, backend, previous=previous):
        yield handle
