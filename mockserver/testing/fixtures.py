"""What the plugin's fixtures do (pytest_plugin.py declares them): one path for them all.

A session backend is the server started here, the remote one ``--mockserver-url`` names, or
the container. Every serving fixture then takes one path: the backend is reset with the
markers' stubs, watched for strictness (pytest_strict.py), and each service's URL put in the
environment for the test. A fixture that cannot serve fails in one line (outcomes.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from mockserver.core.config import Settings
from mockserver.core.errors import MockServerError, StubFileError
from mockserver.testing.handle import (
    Backend,
    LocalBackend,
    MockServerHandle,
    RemoteBackend,
    env_name,
)
from mockserver.testing.outcomes import fail, failing
from mockserver.testing.pytest_record import note_recorded, recording_session
from mockserver.testing.pytest_strict import late_arrivals, previous_test, watch
from mockserver.testing.remote import remote_client
from mockserver.testing.strictness import Ended, Watch

__all__ = [
    "container_backend",
    "load_stubs",
    "serve",
    "serve_offline",
    "session_backend",
    "session_settings",
]

_STUB_FILES = "mockserver: the stub files have problems\n"
_OFFLINE = pytest.StashKey[tuple[Any, MockServerHandle, Backend]]()  # the test's double
_MARKER_STUBS = pytest.StashKey[Any]()  # a markers.MarkerStubLoader, made on first use


def session_settings(config: pytest.Config) -> Settings:
    """The settings of the session's server, from the command line and the ini file."""
    record = config.getoption("mockserver_record")
    return Settings(
        paths=tuple(_stub_paths(config)),
        host="127.0.0.1",
        port=0,
        ephemeral_service_ports=True,
        log_level="warning",
        spy=record == "new",
        record_new=record in ("new", "all"),
        record_all=record == "all",
        record_session=recording_session(config),
        openapi=_openapi_path(config),
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


def _openapi_path(config: pytest.Config) -> str | None:
    option = config.getoption("mockserver_openapi")
    if option:
        return str(option)
    ini = config.getini("mockserver_openapi")
    return str(ini[0]) if ini else None


def session_backend(config: pytest.Config, settings: Settings) -> Iterator[Backend]:
    """The session's server, started here or the remote one ``--mockserver-url`` names.

    A request after the last test that used it, before it stops, fails the session's end.
    """
    url = config.getoption("mockserver_url")
    with _remote(config, url) if url else _local(config, settings) as backend:
        yield backend
        late = late_arrivals(backend, previous_test(config, backend), "the session ended")
        if late:
            fail(late)


@contextmanager
def _remote(config: pytest.Config, url: str) -> Iterator[Backend]:
    from mockserver.testing.sharedserver import NamespaceRefused, open_remote

    with remote_client(config, url) as client:
        with failing("mockserver: ", NamespaceRefused):
            remote, close = open_remote(client, config.getoption("mockserver_namespace"))
        # Ended last: the last test's own checks still ask it after this fixture's end.
        config.add_cleanup(close)
        yield remote


@contextmanager
def _local(config: pytest.Config, settings: Settings) -> Iterator[Backend]:
    from mockserver.server.runner import MockServer

    with failing(_STUB_FILES, StubFileError):
        server = MockServer(settings)
    try:
        with server:
            yield LocalBackend(server.store, server, settings.paths)
    finally:  # what was recorded is said even when a late request fails the session's end
        note_recorded(config, server)


def container_backend(image: str, settings: Settings) -> Iterator[Backend]:
    """The session's mockserver container (container.py); skipped when Docker is unreachable,
    failed instead when MOCKSERVER_REQUIRE_DOCKER=1 (CI)."""
    from mockserver.testing.container import DockerUnavailable, MockServerContainer

    container = MockServerContainer(image, settings.paths)
    try:
        container.start()
    except MockServerError as exc:
        required = os.environ.get("MOCKSERVER_REQUIRE_DOCKER") == "1"
        if isinstance(exc, DockerUnavailable) and not required:
            pytest.skip(f"mockserver_container: {exc}")
        fail(f"mockserver_container: {exc}")
    with container:
        yield RemoteBackend(container.admin)


def load_stubs(settings: Settings) -> Any:
    """The stub set of the socket-free fixtures."""
    from mockserver.formats.loader import load_paths

    with failing(_STUB_FILES, StubFileError):
        return load_paths(settings.paths)


def serve(
    request: pytest.FixtureRequest, settings: Settings, backend: Backend, remote: str | None
) -> Iterator[MockServerHandle]:
    """A real server's fixture: ``backend`` reset for this test, with the markers' stubs.

    A request the test that used it last left behind (after it ended) fails this one's setup,
    saying so. ``remote``: the URL of a server this session did not start, if it is one.
    """
    previous = previous_test(request.config, backend)
    late = late_arrivals(backend, previous, "this test began")
    backend.reset()
    if late:
        fail(late)
    _prepare(request, backend)
    handle = MockServerHandle(backend, _sources(request.config, settings.paths, remote))
    with _serving(request, handle, backend, previous=previous):
        yield handle


def serve_offline(
    request: pytest.FixtureRequest, settings: Settings, stubs: Any, make: Callable[[Any], Any]
) -> Iterator[MockServerHandle]:
    """A socket-free fixture: the test's double behind the library mock ``make`` builds.

    One double serves every socket-free fixture of a test, so a stub added through one answers
    every client.
    """
    shared = request.node.stash.get(_OFFLINE, None)
    if shared is None:
        from mockserver.testing.offline import OfflineDouble

        double = OfflineDouble(stubs, settings)
        backend = double.backend()
        _prepare(request, backend)
        handle = MockServerHandle(backend, _sources(request.config, settings.paths))
        shared = request.node.stash[_OFFLINE] = double, handle, backend
    from mockserver.testing.offline import OfflineUnavailable

    double, handle, backend = shared
    try:
        library_mock = make(double)
    except OfflineUnavailable as exc:
        fail(f"mockserver: {exc}")
    with library_mock as mock, _serving(request, handle, backend, mock=mock):
        yield handle


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
    fixture = request.fixturename or "mockserver"
    strict = _strict(request)
    watched = Watch(fixture, handle, backend, strict, mock is None, mock, previous=previous)
    if not handle.after_reset:  # once: the socket-free fixtures share the handle
        handle.after_reset.append(lambda: _prepare(request, backend))
    with pytest.MonkeyPatch.context() as patch:
        if watch(request, watched):
            pattern = request.config.getini("mockserver_env_pattern")
            for name, url in backend.urls().items():
                patch.setenv(env_name(pattern, name), url)
        yield


def _strict(request: pytest.FixtureRequest) -> bool:
    """``strict=`` of the closest mockserver marker that sets it (a test's marker giving only
    ``stubs=`` does not hide its module's ``strict=``), else ini ``mockserver_strict``."""
    for mark in request.node.iter_markers("mockserver"):
        if mark.kwargs.get("strict") is not None:
            return bool(mark.kwargs["strict"])
    return bool(request.config.getini("mockserver_strict"))


def _prepare(request: pytest.FixtureRequest, backend: Backend) -> None:
    """The markers' stubs on a freshly reset backend: the files of every level (each marker's
    ``stubs=``, closest first) in one batch, then the inline ones, farthest level first."""
    levels = []
    for mark in request.node.iter_markers("mockserver"):
        raw = mark.kwargs.get("stubs")
        if raw:
            levels.append([raw] if isinstance(raw, str | os.PathLike | dict) else list(raw))
    files = [[item for item in level if not isinstance(item, dict)] for level in levels]
    if any(files):
        from mockserver.testing.markers import MarkerStubError, MarkerStubLoader, marker_problem

        stash = request.config.stash
        if _MARKER_STUBS not in stash:
            stash[_MARKER_STUBS] = MarkerStubLoader()
        try:
            stash[_MARKER_STUBS].stubs(files, Path(str(request.node.path)).parent).put(backend)
        except (StubFileError, MarkerStubError) as exc:
            fail(marker_problem(exc))
    inline = [item for level in reversed(levels) for item in level if isinstance(item, dict)]
    if inline:
        try:  # not failing(): this runs before each test with inline stubs, and costs less
            backend.add_stubs(inline, None)
        except (StubFileError, ValueError) as exc:
            fail(f"mockserver: the marker's inline stubs have problems\n{exc}")


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
