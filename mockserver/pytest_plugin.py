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
stub fails the test with the near-miss report. The fixtures here are declarations: what they do
is testing/fixtures.py's, the strict checks are testing/pytest_strict.py's hooks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from mockserver.core.config import Settings
from mockserver.testing.fixtures import (
    container_backend,
    load_stubs,
    serve,
    serve_offline,
    session_backend,
    session_settings,
)
from mockserver.testing.handle import Backend, MockServerHandle
from mockserver.testing.remote import url_source

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


@pytest.fixture(scope="session")
def mockserver_settings(pytestconfig: pytest.Config) -> Settings:
    """How the session's server runs; override it in conftest.py to change anything.

    Ports are ephemeral, declared ones included, so parallel runs (pytest-xdist) never collide.
    """
    return session_settings(pytestconfig)


@pytest.fixture(scope="session")
def mockserver_backend(
    pytestconfig: pytest.Config, mockserver_settings: Settings
) -> Iterator[Backend]:
    """The session's server: started here, or the remote one --mockserver-url names."""
    yield from session_backend(pytestconfig, mockserver_settings)


@pytest.fixture(scope="session")
def mockserver_urls(mockserver_backend: Backend) -> dict[str, str]:
    """Each service's base URL, for session- and module-scoped fixtures (``<NAME>_URL`` is in
    the environment only while a test using ``mockserver`` runs)."""
    return mockserver_backend.urls()


@pytest.fixture
def mockserver(
    request: pytest.FixtureRequest, mockserver_settings: Settings, mockserver_backend: Backend
) -> Iterator[MockServerHandle]:
    """The session's mock server, reset for this test, with ``<NAME>_URL`` set per service."""
    remote = request.config.getoption("mockserver_url")
    yield from serve(request, mockserver_settings, mockserver_backend, remote)


@pytest.fixture(scope="session")
def mockserver_offline_stubs(mockserver_settings: Settings) -> Any:
    """The stub set the socket-free fixtures serve (loaded once per session)."""
    return load_stubs(mockserver_settings)


@pytest.fixture
def mock_requests(
    request: pytest.FixtureRequest, mockserver_settings: Settings, mockserver_offline_stubs: Any
) -> Iterator[MockServerHandle]:
    """The stubs answering ``requests`` calls with no socket (through requests-mock).

    Each service's ``<NAME>_URL`` is ``http://<name>.mockserver.invalid``; other URLs raise.
    """
    from mockserver.testing.offline import requests_mock_mocker

    stubs = mockserver_offline_stubs
    yield from serve_offline(request, mockserver_settings, stubs, requests_mock_mocker)


@pytest.fixture
def mock_aiohttp(
    request: pytest.FixtureRequest, mockserver_settings: Settings, mockserver_offline_stubs: Any
) -> Iterator[MockServerHandle]:
    """The stubs answering ``aiohttp.ClientSession`` calls with no socket (through aioresponses).

    Each service's ``<NAME>_URL`` is ``http://<name>.mockserver.invalid``; other URLs raise.
    """
    from mockserver.testing.offline import aioresponses_mock

    stubs = mockserver_offline_stubs
    yield from serve_offline(request, mockserver_settings, stubs, aioresponses_mock)


@pytest.fixture
def mock_httpx(
    request: pytest.FixtureRequest, mockserver_settings: Settings, mockserver_offline_stubs: Any
) -> Iterator[MockServerHandle]:
    """The stubs answering ``httpx`` clients, sync and async, with no socket (through respx).

    Each service's ``<NAME>_URL`` is ``http://<name>.mockserver.invalid``; other URLs raise.
    """
    from mockserver.testing.offline_httpx import respx_router

    yield from serve_offline(request, mockserver_settings, mockserver_offline_stubs, respx_router)


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
    yield from container_backend(mockserver_image, mockserver_settings)


@pytest.fixture
def mockserver_container(
    request: pytest.FixtureRequest,
    mockserver_settings: Settings,
    mockserver_container_backend: Backend,
) -> Iterator[MockServerHandle]:
    """Like ``mockserver``, but the double is the Docker image: one container per session,
    reset for each test, with the same stubs mounted read-only and the same handle."""
    yield from serve(request, mockserver_settings, mockserver_container_backend, None)
