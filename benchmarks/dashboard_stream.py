"""Throughput with the dashboard open against none (issue 21: under 5 % lost).

    python -m benchmarks.dashboard_stream [--duration 5] [--rounds 3]

One mockserver (request log on, as users run it) serving the benchmark's stubs; wrk loads
``GET /api/user/1`` in rounds, alternately with nobody watching and with a reader of
``GET /__admin/events`` connected (what the page holds open: every entry is sent to it as it is
recorded). The reader runs in this process and reads as fast as the stream comes, as a
browser's fetch() does. Three figures: the ratio of the median rates; the server's CPU time
per request (from /proc); and, free of the machine's other load, the CPU time the page adds to
one request in process (journal record with and without a listener, the batch encoded as the
stream sends it), fastest of five rounds each.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
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
from mockserver.core.journal import Journal
from mockserver.core.request import RequestView
from mockserver.server.dashboard.events import Subscription, batches


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


def cpu_seconds(pid: int) -> float:
    """User and system time of process ``pid`` so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def record_us(listening: bool, count: int = 100_000) -> float:
    """CPU microseconds per journaled request, a page's stream listening or not (the batch
    taken and encoded every 600 entries, as ten flushes a second at 6,000 requests do)."""
    view = RequestView("GET", TARGET, "", [("Host", "127.0.0.1"), ("User-Agent", "wrk")], b"")
    journal, page = Journal(), Subscription()
    if listening:
        journal.listen(page)
    began = time.process_time()
    for i in range(count):
        journal.record(view, service="users", stub_id="target", status=200, listener=None)
        if listening and i % 600 == 599:
            batches(page.take())
    return (time.process_time() - began) / count * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--records", type=int, default=100_000, help="per in-process round")
    args = parser.parse_args(argv)
    tool, load = load_fn()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    results: dict[str, list[Load]] = {"nobody watching": [], "page open": []}
    cpu_us: dict[str, list[float]] = {name: [] for name in results}
    streamed = 0
    with tempfile.TemporaryDirectory() as tmp:
        stubs = write_stubs(Path(tmp) / "stubs", 0)
        with server(mock_command(port, stubs), port) as process:

            def measured(name: str) -> None:
                before = cpu_seconds(process.pid)
                result = load(url + TARGET, args.duration, {})
                spent = cpu_seconds(process.pid) - before
                results[name].append(result)
                cpu_us[name].append(spent / (result.requests_per_s * args.duration) * 1e6)

            for _ in range(args.rounds):
                measured("nobody watching")
                watcher = Watcher(url)
                measured("page open")
                streamed += watcher.stop()
    base = median([r.requests_per_s for r in results["nobody watching"]])
    base_cpu = median(cpu_us["nobody watching"])
    print(f"{tool}, {args.rounds} rounds of {args.duration:g} s, request log on")
    for name, loads in results.items():
        rate = median([r.requests_per_s for r in loads])
        cpu = median(cpu_us[name])
        each = ", ".join(f"{r.requests_per_s:,.0f}" for r in loads)
        print(
            f"{name:16} {rate:9,.0f} req/s x{rate / base:.3f} ({each}); "
            f"server CPU {cpu:6.1f} us/request x{cpu / base_cpu:.3f}"
        )
    print(f"the page's stream carried {streamed / 1e6:,.1f} MB")
    alone = min(record_us(False, args.records) for _ in range(5))
    watched = min(record_us(True, args.records) for _ in range(5))
    print(
        f"in process: a journal record {alone:.2f} us, with a page listening {watched:.2f} us: "
        f"+{watched - alone:.2f} us a request, x{1 + (watched - alone) / base_cpu:.3f} of the "
        f"server's {base_cpu:.1f} us"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
