"""The stub files of ``@pytest.mark.mockserver(stubs=...)``: combined, loaded once, put at once.

A test's marker, its class's and its module's ``pytestmark`` each name stub files; a test gets
them all. They are applied farthest first and closest last, so the closest wins a conflict:
a stub id named at two levels is the closest level's stub, a service declared at two levels
takes the closest level's ``port:``, and of two stubs without ids that match the same request
at the same priority, the closest level's answers (runtime stubs are tried newest first).

A file is parsed once per session (it is read again when its size or mtime changes), and the
stubs of all levels reach the server in one batch: one index rebuild, not one per stub.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mockserver.core.errors import MockServerError, StubFileError
from mockserver.core.model import ServiceSpec, Stub, StubSet
from mockserver.formats.loader import load_paths
from mockserver.testing.handle import Backend

__all__ = ["MarkerStubError", "MarkerStubLoader", "MarkerStubs", "marker_problem"]


class MarkerStubError(MockServerError):
    """The marker's stub files cannot be served as they are; the message says why and what to
    change."""


@dataclass(frozen=True, slots=True)
class MarkerStubs:
    """What a test's markers add: stubs (closest level last) and the services they declare."""

    stubs: tuple[Stub, ...] = ()
    services: Mapping[str, ServiceSpec] | None = None

    def put(self, backend: Backend) -> None:
        """Put the stubs into ``backend`` in one batch, once their ports are known to work.

        Raises:
            MarkerStubError: a declared port the server cannot give its service.
        """
        services = self.services or {}
        if any(spec.port is not None for spec in services.values()):
            self._check_ports(backend.declared_ports(), backend.opens_ports)
        if self.stubs:
            backend.put_stubs(self.stubs, services)

    def _check_ports(self, declared: Mapping[str, int | None], opens_ports: bool) -> None:
        """Refuse a declared port the server cannot give the service.

        ``declared``: the server's services and the ports their files declare; ``opens_ports``:
        whether the server opens a listener for a port only the marker declares.
        """
        taken = {port: name for name, port in declared.items() if port is not None}
        for name, spec in (self.services or {}).items():
            if spec.port is None:
                continue
            where = ", ".join(spec.sources)
            if name in declared:
                if spec.port != declared[name]:
                    server_side = declared[name] or "the main port"
                    raise MarkerStubError(
                        f"{where} declares service {name!r} on port {spec.port}, but the "
                        f"session's stub files serve it on {server_side}: drop the marker "
                        "file's port: (its stubs join the service) or name another service"
                    )
            elif spec.port in taken:
                raise MarkerStubError(
                    f"{where} declares service {name!r} on port {spec.port}, which the "
                    f"session's stub files give to {taken[spec.port]!r}: one port, one service"
                )
            elif not opens_ports:
                raise MarkerStubError(
                    f"{where} declares service {name!r} on port {spec.port}; a server this "
                    "session did not start (--mockserver-url, mockserver_container) opens no "
                    "port for a service its own stub files do not declare: add the file to "
                    "that server's stubs, or drop its port: (the service is then served on "
                    "the main port)"
                )


class MarkerStubLoader:
    """Loads the marker's stub files of a session, each combination parsed once."""

    def __init__(self) -> None:
        # (path, size, mtime) of each file of one marker's list → its stub set.
        self._loaded: dict[tuple[tuple[str, int, int], ...], StubSet] = {}

    def _load(self, paths: Sequence[str]) -> StubSet:
        key = []
        for path in paths:
            try:
                stat = os.stat(path)
                key.append((path, stat.st_size, stat.st_mtime_ns))
            except OSError:
                key.append((path, -1, -1))  # load_paths names the missing file
        found = self._loaded.get(tuple(key))
        if found is None:
            found = self._loaded[tuple(key)] = load_paths(paths)
        return found

    def stubs(self, levels: Sequence[Any], here: Path) -> MarkerStubs:
        """The stubs of ``levels`` (each marker's ``stubs=``, closest first), whose relative
        paths are relative to ``here`` (the test file's directory).

        Raises:
            StubFileError: a file has problems (nothing is added).
            MarkerStubError: two levels give one port to two services, or a file declares
                resources.
        """
        merged: dict[str, Stub] = {}
        services: dict[str, ServiceSpec] = {}
        for raw in reversed(levels):
            if not raw:
                continue
            paths = [raw] if isinstance(raw, str | os.PathLike) else list(raw)
            loaded = self._load([str(p if Path(p).is_absolute() else here / p) for p in paths])
            for stub in loaded.stubs:
                merged.pop(stub.id, None)  # the closer level's stub, in the closer place
                merged[stub.id] = stub
            for name, spec in loaded.services.items():
                if spec.resources:  # they were dropped without a word before
                    raise MarkerStubError(
                        f"{', '.join(spec.sources)} declares resources for service {name!r}; a "
                        "marker's files add stubs only: declare resources in the session's "
                        "stub files (each reset restores them)"
                    )
            services.update(loaded.services)
        owners: dict[int, str] = {}
        for name, spec in services.items():
            if spec.port is None:
                continue
            other = owners.setdefault(spec.port, name)
            if other != name:
                raise MarkerStubError(
                    f"the marker's stub files declare services {other!r} and {name!r} on one "
                    f"port, {spec.port}: one port, one service"
                )
        return MarkerStubs(tuple(merged.values()), services)


def marker_problem(exc: StubFileError | MarkerStubError) -> str:
    """The setup error's text."""
    if isinstance(exc, StubFileError):
        return f"mockserver: the marker's stub files have problems\n{exc}"
    return f"mockserver: the marker's stub files: {exc}"
