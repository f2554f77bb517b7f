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

from .config import Settings
from .errors import StubFileError
from .handle import (
    Backend,
    LocalBackend,
    MockServerHandle,
    RemoteBackend,
    UnknownService,
    env_name,
    unmatched_text,
)

__all__ = [
    "mock_aiohttp",
    "mock_requests",
    "mockserver",
    "mockserver_backend",
    "mockserver_container",
    "mockserver_container_backend",
    "mockserver_image",
    "mockserver_offline_stubs",
    "mockserver_settings",
]

_STATE = pytest.StashKey[tuple[MockServerHandle, bool]]()


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
        "mockserver(stubs=None, strict=None): extra stub files (a path or a list, relative to "
        "the test file) for this test, added to its class's and module's (the closest wins "
        "a conflict), and whether unmatched requests fail it",
    )


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
        spy=record == "new",
        record_new=record in ("new", "all"),
        record_all=record == "all",
    )


@pytest.fixture(scope="session")
def mockserver_backend(
    pytestconfig: pytest.Config, mockserver_settings: Settings
) -> Iterator[Backend]:
    """The session's server: started here, or the remote one --mockserver-url names."""
    url = pytestconfig.getoption("mockserver_url")
    if url:
        from .sharedserver import NamespaceRefused, open_remote

        token = os.environ.get("MOCKSERVER_ADMIN_TOKEN")
        try:
            remote, close = open_remote(url, token, pytestconfig.getoption("mockserver_namespace"))
        except NamespaceRefused as exc:
            raise pytest.fail.Exception(f"mockserver: {exc}", pytrace=False) from None
        try:
            yield remote
        finally:
            close()
        return
    from .runner import MockServer

    try:
        server = MockServer(mockserver_settings)
    except StubFileError as exc:
        raise pytest.fail.Exception(
            f"mockserver: the stub files have problems\n{exc}", pytrace=False
        ) from None
    with server:
        yield LocalBackend(server.store, server, mockserver_settings.paths)


def _marker_kwarg(node: pytest.Item, key: str) -> Any:
    """``key`` of the closest mockserver marker that sets it: a test's ``strict=`` does not
    hide its module's ``stubs=``."""
    for mark in node.iter_markers("mockserver"):
        if mark.kwargs.get(key) is not None:
            return mark.kwargs[key]
    return None


_MARKER_STUBS = pytest.StashKey[Any]()  # a markers.MarkerStubLoader, made on first use


def _marker_stubs(request: pytest.FixtureRequest, backend: Backend) -> None:
    """Put the stubs of the test's mockserver markers (module, class, test) into ``backend``."""
    from .markers import MarkerStubError, MarkerStubLoader, marker_problem

    levels = [mark.kwargs.get("stubs") for mark in request.node.iter_markers("mockserver")]
    if not any(levels):
        return
    stash = request.config.stash
    if _MARKER_STUBS not in stash:
        stash[_MARKER_STUBS] = MarkerStubLoader()
    try:
        stash[_MARKER_STUBS].stubs(levels, Path(str(request.node.path)).parent).put(backend)
    except (StubFileError, MarkerStubError) as exc:
        raise pytest.fail.Exception(marker_problem(exc), pytrace=False) from None


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
    mockserver_backend.reset()
    _marker_stubs(request, mockserver_backend)
    remote = request.config.getoption("mockserver_url")
    handle = MockServerHandle(
        mockserver_backend, _sources(request.config, mockserver_settings.paths, remote)
    )
    with _serving(request, handle, mockserver_backend.urls()):
        yield handle


@pytest.fixture(scope="session")
def mockserver_offline_stubs(mockserver_settings: Settings) -> Any:
    """The stub set the socket-free fixtures serve (loaded once per session)."""
    from .loader import load_paths

    try:
        return load_paths(mockserver_settings.paths)
    except StubFileError as exc:
        raise pytest.fail.Exception(
            f"mockserver: the stub files have problems\n{exc}", pytrace=False
        ) from None


def _offline(
    request: pytest.FixtureRequest, settings: Settings, stubs: Any
) -> tuple[Any, MockServerHandle]:
    from .offline import OfflineDouble

    double = OfflineDouble(stubs, settings)
    backend = double.backend()
    _marker_stubs(request, backend)
    return double, MockServerHandle(backend, _sources(request.config, settings.paths))


def _offline_mock(make: Callable[[Any], Any], double: Any) -> Any:
    """The library's mock for the double, or a setup error naming what to install."""
    from .offline import OfflineUnavailable

    try:
        return make(double)
    except OfflineUnavailable as exc:
        raise pytest.fail.Exception(f"mockserver: {exc}", pytrace=False) from None


@contextmanager
def _serving(
    request: pytest.FixtureRequest, handle: MockServerHandle, urls: dict[str, str]
) -> Iterator[None]:
    config = request.config
    marked = _marker_kwarg(request.node, "strict")
    strict = config.getini("mockserver_strict") if marked is None else bool(marked)
    pattern = config.getini("mockserver_env_pattern")
    with pytest.MonkeyPatch.context() as patch:
        for name, url in urls.items():
            patch.setenv(env_name(pattern, name), url)
        request.node.stash[_STATE] = (handle, strict)
        yield


@pytest.fixture
def mock_requests(
    request: pytest.FixtureRequest, mockserver_settings: Settings, mockserver_offline_stubs: Any
) -> Iterator[MockServerHandle]:
    """The stubs answering ``requests`` calls with no socket (through requests-mock).

    Each service's ``<NAME>_URL`` is ``http://<name>.mockserver.invalid``; other URLs raise.
    """
    from .offline import requests_mock_mocker

    double, handle = _offline(request, mockserver_settings, mockserver_offline_stubs)
    with _offline_mock(requests_mock_mocker, double), _serving(request, handle, handle.urls):
        yield handle


@pytest.fixture
def mock_aiohttp(
    request: pytest.FixtureRequest, mockserver_settings: Settings, mockserver_offline_stubs: Any
) -> Iterator[MockServerHandle]:
    """The stubs answering ``aiohttp.ClientSession`` calls with no socket (through aioresponses).

    Each service's ``<NAME>_URL`` is ``http://<name>.mockserver.invalid``; other URLs raise.
    """
    from .offline import aioresponses_mock

    double, handle = _offline(request, mockserver_settings, mockserver_offline_stubs)
    with _offline_mock(aioresponses_mock, double), _serving(request, handle, handle.urls):
        yield handle


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
    from .container import DockerUnavailable, MockServerContainer
    from .errors import MockServerError

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
    mockserver_container_backend.reset()
    _marker_stubs(request, mockserver_container_backend)
    handle = MockServerHandle(
        mockserver_container_backend, _sources(request.config, mockserver_settings.paths)
    )
    with _serving(request, handle, mockserver_container_backend.urls()):
        yield handle


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """Fail a passing test whose code made requests that matched no stub (strict mode)."""
    try:
        result = yield
    except UnknownService as exc:  # a stubs/ not found: the message says where we looked
        raise pytest.fail.Exception(f"mockserver: {exc}", pytrace=False) from None
    except BaseException:
        state = item.stash.get(_STATE, None)
        if state is not None:
            unmatched = state[0].unmatched
            if unmatched:
                item.add_report_section("call", "mockserver", unmatched_text(unmatched))
        raise
    state = item.stash.get(_STATE, None)
    if state is not None and state[1]:
        unmatched = state[0].unmatched
        if unmatched:
            pytest.fail(unmatched_text(unmatched), pytrace=False)
    return result
