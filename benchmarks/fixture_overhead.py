"""What the pytest plugin costs: per test (reset + environment), and once per session (start).

    python benchmarks/fixture_overhead.py

Serves the bundled stubs/ as the plugin does (port 0, ephemeral service ports, in a thread),
then times what the ``mockserver`` fixture does around each test: ``LocalBackend.reset()``,
the service URLs put in the environment and taken out again, and the strict check of the
journal. Twice: after a test that changed nothing, and after one that added a stub (the reset
then goes back to the files' index, built once at load). Then the session start, from
``MockServer(settings)`` (which loads the stub files) to bound and serving, the stop, and the
import of the server in a fresh interpreter. Medians of 5 runs.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mockserver.core.config import Settings
from mockserver.server.runner import MockServer
from mockserver.testing.handle import LocalBackend, MockServerHandle, env_name

STUBS = Path(__file__).resolve().parents[1] / "stubs"
SETTINGS = Settings(paths=(str(STUBS),), port=0, ephemeral_service_ports=True, log_level="warning")


def per_test_us(backend: LocalBackend, between: Callable[[], None], repeat: int) -> float:
    """Microseconds of fixture work per test; ``between`` is the test body (not timed)."""
    runs = []
    for _ in range(5):
        spent = 0.0
        for _ in range(repeat):
            between()
            start = time.perf_counter()
            backend.reset()
            handle = MockServerHandle(backend)
            with pytest.MonkeyPatch.context() as patch:
                for name, url in backend.urls().items():
                    patch.setenv(env_name("{NAME}_URL", name), url)
                assert not handle.unmatched  # the strict check after the test
            spent += time.perf_counter() - start
        runs.append(spent / repeat * 1e6)
    return statistics.median(runs)


def session_ms() -> tuple[float, float]:
    """Milliseconds from construction (stub files loaded) to serving, and to stopped."""
    starts, stops = [], []
    for _ in range(5):
        start = time.perf_counter()
        server = MockServer(SETTINGS).start()
        ready = time.perf_counter()
        server.stop()
        starts.append((ready - start) * 1e3)
        stops.append((time.perf_counter() - ready) * 1e3)
    return statistics.median(starts), statistics.median(stops)


def import_ms() -> float:
    """Milliseconds to import the server in a fresh interpreter (paid once per session)."""
    code = "import time; t = time.perf_counter(); import mockserver.server.runner; "
    code += "print((time.perf_counter() - t) * 1e3)"
    runs = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout)
        for _ in range(5)
    ]
    return statistics.median(runs)


def main() -> None:
    MockServer(SETTINGS).start().stop()  # imports and first-time setup, not measured
    with MockServer(SETTINGS) as server:
        backend = LocalBackend(server.store, server, SETTINGS.paths)
        handle = MockServerHandle(backend)
        services = len(backend.urls())
        stubs = len(server.store.snapshot.stubs.stubs)

        def add_a_stub() -> None:
            handle.service("users").stub({"request": {"path": "/x"}, "response": {"body": "x"}})

        clean = per_test_us(backend, lambda: None, 5_000)
        dirty = per_test_us(backend, add_a_stub, 1_000)
    start, stop = session_ms()
    imported = import_ms()
    print(f"bundled stubs: {services} services, {stubs} stubs")
    print(
        f"per test, nothing changed:  {clean:7.1f} us (reset + {services} env vars + strict check)"
    )
    print(f"per test, after a stub add: {dirty:7.1f} us (the reset takes the files' index back)")
    print(f"session start: {start:6.1f} ms (load + bind + serving), stop: {stop:6.1f} ms")
    print(f"import of the server (aiohttp included), once: {imported:6.1f} ms")


if __name__ == "__main__":
    main()
