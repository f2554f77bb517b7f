"""Throughput with the dashboard open against none (issue 21: under 5 % lost).

    python -m benchmarks.dashboard_stream [--duration 5] [--rounds 3]

One mockserver (request log on, as users run it) serving the benchmark's stubs; wrk loads
``GET /api/user/1`` in rounds, alternately with nobody watching and with a reader of
``GET /__admin/events`` connected (what the page holds open: every entry is sent to it as it is
recorded). The reader runs in this process and reads as fast as the stream comes, as a
browser's fetch() does; the figure is the ratio of the medians.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
from pathlib import Path

import requests

from benchmarks.run import (
    TARGET,
    Load,
    free_port,
    load_fn,
    median,
    mock_command,
    server,
    write_stubs,
)


class Watcher:
    """A page's live journal: reads the event stream until stopped, counting the bytes."""

    def __init__(self, url: str) -> None:
        self.received = 0
        self._response = requests.get(url + "/__admin/events", stream=True, timeout=10)
        self._response.raise_for_status()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            while chunk := self._response.raw.read(65536, decode_content=False):
                self.received += len(chunk)
        except Exception:  # closed by stop(), from this side, mid-read
            pass

    def stop(self) -> int:
        self._response.close()
        self._thread.join(5)
        return self.received


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    tool, load = load_fn()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    results: dict[str, list[Load]] = {"nobody watching": [], "page open": []}
    streamed = 0
    with tempfile.TemporaryDirectory() as tmp:
        stubs = write_stubs(Path(tmp) / "stubs", 0)
        with server(mock_command(port, stubs), port):
            for _ in range(args.rounds):
                results["nobody watching"].append(load(url + TARGET, args.duration, {}))
                watcher = Watcher(url)
                results["page open"].append(load(url + TARGET, args.duration, {}))
                streamed += watcher.stop()
    base = median([r.requests_per_s for r in results["nobody watching"]])
    print(f"{tool}, {args.rounds} rounds of {args.duration:g} s, request log on")
    for name, loads in results.items():
        rate = median([r.requests_per_s for r in loads])
        p99 = median([r.p99_ms for r in loads])
        each = ", ".join(f"{r.requests_per_s:,.0f}" for r in loads)
        print(f"{name:16} {rate:9,.0f} req/s  p99 {p99:6.2f} ms  x{rate / base:.3f}  ({each})")
    print(f"the page's stream carried {streamed / 1e6:,.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
