"""What a `mockserver record` session survives: SIGTERM with large answers, SIGKILL, memory.

    python -m benchmarks.recorder_durability [--tree DIR] [--big-mb 90] [--only NAME]

Against a real upstream on 127.0.0.1 (aiohttp, in this process), three scenarios, each with
`mockserver record` as a subprocess (``--tree`` runs another checkout, e.g. one made with
``git worktree add /tmp/before REV``; default: this one):

- sigterm: 20 answers of 2 MB (JSON and text, alternately; ``--text-only``: text) and one of
  12 MB (binary), then
  SIGTERM: the seconds to exit, the files written and their sizes, `mockserver validate` on
  them, and whether `mockserver serve` replays the same bytes;
- sigkill: 10 answers (2 MB and small), a moment for the recorder to write, then SIGKILL:
  what is on disk, and `validate` on it;
- memory: 8 concurrent answers of ``--big-mb`` MB: the recorder's peak RSS (VmHWM), then
  SIGTERM as above.

Every wait is bounded (a recorder that has not exited 120 s after SIGTERM is killed and
reported so).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiohttp import web

REPO = Path(__file__).resolve().parents[1]
STOP_LIMIT = 120.0
MB = 1_000_000


def json_body(i: int, size: int) -> bytes:
    """A JSON array of objects, about ``size`` bytes, distinct per ``i``."""
    item = {"id": 0, "name": f"item {i}", "text": "lorem ipsum dolor sit amet " * 3}
    one = len(json.dumps(item)) + 1
    return json.dumps([{**item, "id": n} for n in range(size // one)]).encode()


def text_body(i: int, size: int) -> bytes:
    line = f"line of answer {i}: the quick brown fox jumps over the lazy dog\n".encode()
    return (line * (size // len(line) + 1))[:size]


def binary_body(i: int, size: int) -> bytes:
    return (bytes(range(256)) + i.to_bytes(4, "big")) * (size // 260) + b"\0" * (size % 260)


def make_app(big_mb: int) -> web.Application:
    bodies: dict[str, tuple[bytes, str]] = {}
    for i in range(20):
        bodies[f"/text/{i}"] = (text_body(i, 2 * MB), "text/plain")
        bodies[f"/json/{i}"] = (json_body(i, 2 * MB), "application/json")
        bodies[f"/small/{i}"] = (json.dumps({"small": i}).encode(), "application/json")
    bodies["/huge"] = (binary_body(99, 12 * MB), "application/octet-stream")
    big = binary_body(7, big_mb * MB)

    async def handle(request: web.Request) -> web.Response:
        if request.path.startswith("/big/"):
            return web.Response(body=big, content_type="application/octet-stream")
        body, kind = bodies[request.path]
        return web.Response(body=body, content_type=kind)

    app = web.Application(client_max_size=1024)
    app.router.add_get("/{tail:.*}", handle)
    return app


@contextmanager
def upstream(big_mb: int) -> Iterator[str]:
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    address: list[str] = []

    async def setup() -> web.AppRunner:
        runner = web.AppRunner(make_app(big_mb), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        address.append(f"http://{host}:{port}")
        return runner

    def run() -> None:
        asyncio.set_event_loop(loop)
        runner = loop.run_until_complete(setup())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(30)
    try:
        yield address[0]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)


class Recorder:
    """`mockserver record --target svc=URL --out OUT --port 0` from ``tree``."""

    def __init__(self, tree: Path, url: str, out: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKSERVER_")}
        env |= {"PYTHONPATH": str(tree), "PYTHONUNBUFFERED": "1"}
        command = [sys.executable, "-m", "mockserver", "record", "--target", f"svc={url}"]
        command += ["--out", str(out), "--port", "0", "--log-level", "warning"]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        self.lines: list[str] = []
        self.url = ""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            found = re.search(r"(http://\S+)\s+->", line)
            if found:
                self.url = found.group(1)
                break
        if not self.url:
            raise RuntimeError(f"the recorder did not start: {self.lines}")
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def rss_mb(self, field: str = "VmHWM") -> float:
        """VmHWM: the peak resident memory so far; VmRSS: now."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        found = re.search(field + r":\s+(\d+) kB", status)
        return int(found.group(1)) / 1024 if found else float("nan")

    def terminate(self) -> tuple[float | None, int | None]:
        """SIGTERM; the seconds until it exited (None: killed at the limit) and its status."""
        start = time.perf_counter()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(STOP_LIMIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(30)
            return None, None
        return time.perf_counter() - start, code

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(30)


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=120) as answer:
        return bytes(answer.read())


def fetched_or_none(url: str) -> bytes | None:
    try:
        return fetch(url)
    except urllib.error.HTTPError:
        return None


def on_disk(out: Path) -> str:
    files = sorted(p for p in out.rglob("*") if p.is_file())
    if not files:
        return "nothing"
    total = sum(p.stat().st_size for p in files)
    largest = max(files, key=lambda p: p.stat().st_size)
    return (
        f"{len(files)} files, {total / MB:.1f} MB in all, largest {largest.name} "
        f"{largest.stat().st_size / MB:.1f} MB"
    )


def validate(tree: Path, out: Path) -> str:
    env = os.environ | {"PYTHONPATH": str(tree)}
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "validate", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    said = (result.stdout + result.stderr).strip().splitlines()
    return f"exit {result.returncode}: " + " | ".join(line[:160] for line in said[:4])


def replays(tree: Path, out: Path, expected: dict[str, bytes]) -> str:
    """`mockserver serve OUT`: how many of ``expected`` it answers with the same bytes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKSERVER_")}
    env |= {"PYTHONPATH": str(tree), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "mockserver", "serve", str(out), "--port", "0"]
    command += ["--log-level", "warning"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    try:
        assert process.stdout is not None
        base = ""
        seen = []
        for line in process.stdout:
            seen.append(line)
            found = re.search(r"admin: (http://\S+)/__admin/health", line)
            if found:
                base = found.group(1)
                break
        if not base:
            return "serve refused: " + " | ".join(s.strip()[:160] for s in seen[-3:])
        same = sum(fetched_or_none(base + path) == body for path, body in expected.items())
        return f"{same}/{len(expected)} answers byte for byte"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)


def sigterm(tree: Path, url: str, out: Path, text_only: bool) -> None:
    recorder = Recorder(tree, url, out)
    paths = [f"/json/{i}" if i % 2 == 0 and not text_only else f"/text/{i}" for i in range(20)]
    paths.append("/huge")
    expected = {path: fetch(recorder.url + path) for path in paths}
    took, code = recorder.terminate()
    stopped = "not within 120 s (killed)" if took is None else f"{took:.2f} s, exit {code}"
    print(f"sigterm: 20 x 2 MB + 12 MB recorded; SIGTERM to exit: {stopped}")
    print(f"  on disk: {on_disk(out)}")
    print(f"  validate: {validate(tree, out)}")
    print(f"  serve: {replays(tree, out, expected)}")


def sigkill(tree: Path, url: str, out: Path) -> None:
    recorder = Recorder(tree, url, out)
    for i in range(5):
        fetch(recorder.url + (f"/json/{2 * i}"))
        fetch(recorder.url + f"/small/{i}")
    deadline = time.monotonic() + 3.0  # a moment to write, then a crash
    while time.monotonic() < deadline and not any(out.glob("*.yaml")):
        time.sleep(0.05)
    time.sleep(0.5)
    recorder.kill()
    print("sigkill: 10 answers recorded, then SIGKILL")
    print(f"  on disk: {on_disk(out)}")
    print(f"  validate: {validate(tree, out)}")


def memory(tree: Path, url: str, out: Path, big_mb: int) -> None:
    recorder = Recorder(tree, url, out)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        sizes = list(pool.map(lambda i: len(fetch(f"{recorder.url}/big/{i}")), range(8)))
    assert all(size == big_mb * MB for size in sizes), sizes
    peak = recorder.rss_mb()
    deadline = time.monotonic() + 10.0  # what it still holds once the answers are written
    while time.monotonic() < deadline and len(list(out.rglob("*.body"))) < 1:
        time.sleep(0.1)
    time.sleep(1.0)
    held = recorder.rss_mb("VmRSS")
    took, code = recorder.terminate()
    stopped = "not within 120 s (killed)" if took is None else f"{took:.2f} s, exit {code}"
    print(
        f"memory: 8 concurrent x {big_mb} MB; recorder peak RSS {peak:.0f} MB, {held:.0f} MB after"
    )
    print(f"  SIGTERM to exit: {stopped}")
    print(f"  on disk: {on_disk(out)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=REPO, help="the mockserver checkout to run")
    parser.add_argument("--big-mb", type=int, default=90)
    parser.add_argument("--only", choices=("sigterm", "sigkill", "memory"))
    parser.add_argument("--text-only", action="store_true", help="sigterm: 2 MB texts, no JSON")
    options = parser.parse_args()
    tree = options.tree.resolve()
    print(f"# mockserver record from {tree}")
    with upstream(options.big_mb) as url, tempfile.TemporaryDirectory() as tmp:
        if options.only in (None, "sigterm"):
            sigterm(tree, url, Path(tmp) / "sigterm", options.text_only)
        if options.only in (None, "sigkill"):
            sigkill(tree, url, Path(tmp) / "sigkill")
        if options.only in (None, "memory"):
            memory(tree, url, Path(tmp) / "memory", options.big_mb)


if __name__ == "__main__":
    main()
