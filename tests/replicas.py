"""Several ``mockserver serve`` processes sharing one ``--state``: replicas, as in staging."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tests.console import MOCKSERVER, Console, clean_env


@contextmanager
def replica(root: Path, state: str, *extra: str, **env: str) -> Iterator[tuple[Console, str]]:
    """One ``mockserver serve ROOT --state STATE`` on a free port: its console and base URL."""
    command = [MOCKSERVER, "serve", str(root), "--port", "0", "--state", state, *extra]
    with Console(command, env=clean_env(**env)) as console:
        line = console.next_line(lambda text: text.startswith("  admin: "))
        found = re.search(r"(http://\S+)/__admin/health", line)
        assert found is not None, line
        yield console, found.group(1)


@contextmanager
def replicas(
    root: Path, state: str, count: int = 3, *extra: str, **env: str
) -> Iterator[list[tuple[Console, str]]]:
    """``count`` replicas of ``root`` sharing ``state``, started one after the other."""
    with ExitStack() as stack:
        yield [stack.enter_context(replica(root, state, *extra, **env)) for _ in range(count)]
