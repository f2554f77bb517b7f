"""The ``mockserver`` console script as a subprocess, its output read line by line as it comes.

Shared by the CLI, worker, recording, reliability and load tests: one reader thread, one
wait on the next wanted line with a deadline, one clean shutdown.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

BIN = Path(sys.executable).parent
MOCKSERVER = shutil.which("mockserver", path=str(BIN)) or str(BIN / "mockserver")
DEADLINE = 30.0  # seconds: generous for a loaded machine; a healthy run takes a fraction


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the caller's MOCKSERVER_ variables, unbuffered, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKSERVER_")}
    return env | {"PYTHONUNBUFFERED": "1"} | extra


class Console:
    """A subprocess (``mockserver ...`` unless told otherwise) with its output as lines."""

    def __init__(
        self, command: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=cwd,
            env=env if env is not None else clean_env(),
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next_line(self, wanted: Callable[[str], object], timeout: float = DEADLINE) -> str:
        """The first new line for which ``wanted`` holds; fails at the deadline or on exit."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                raise AssertionError(f"the process exited ({self.process.wait()}): {self.seen}")
            self.seen.append(line)
            if wanted(line):
                return line
        raise AssertionError(f"no such line within {timeout:g} s; output so far: {self.seen}")

    def rest(self) -> list[str]:
        """Every line, once the process has exited; fails with the output so far if it has
        not exited within DEADLINE."""
        try:
            self.process.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self._drain()
            raise AssertionError(
                f"still running {DEADLINE:g} s on; output so far: {self.seen}"
            ) from None
        self.reader.join(timeout=DEADLINE)
        self._drain()
        return self.seen

    def _drain(self) -> None:
        while not self.lines.empty():
            line = self.lines.get_nowait()
            if line is not None:
                self.seen.append(line)

    def close(self) -> None:
        """Kill it if still running, and release its pipe. Safe to call twice."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=DEADLINE)
        self.reader.join(timeout=DEADLINE)
        assert self.process.stdout is not None
        self.process.stdout.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def run_console(
    *args: str, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """``mockserver ARGS`` to completion."""
    return subprocess.run(
        [MOCKSERVER, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=clean_env(**env),
        timeout=DEADLINE,
        check=False,
    )
