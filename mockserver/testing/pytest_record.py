"""``--mockserver-record``: what the session recorded, and where, said in one line at its end.

Under pytest-xdist each worker runs a server of its own and records into the same
``<service>.recorded.yaml`` files; recordwriter.py merges them under a file lock, and the
session id (xdist's ``testrunuid``, the same in every worker) lets ``=all`` replace what earlier
sessions recorded while keeping what this session's other workers did. Each worker hands its
tallies to the controller (``workeroutput``), which sums them for the summary line. Below it,
each file's block of how its replay will choose (variants, sequences, semantics), read from
the file as the session left it: under xdist no one worker saw all of it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from mockserver.recording.summary import recording_report

__all__ = ["note_recorded", "recording_session"]

_TALLIES = pytest.StashKey[dict[str, list[int]]]()  # file → [recorded, skipped]
_OUTPUT_KEY = "mockserver_recorded"


def recording_session(config: pytest.Config) -> str:
    """The id every process of this pytest run shares (empty: a run of one process)."""
    workerinput = getattr(config, "workerinput", None)
    return str(workerinput.get("testrunuid", "")) if workerinput else ""


def note_recorded(config: pytest.Config, server: Any) -> None:
    """Count what ``server``'s recorder (stopped) wrote, for the summary line."""
    forwarding = server.state.forwarding
    recorder = forwarding.recorder if forwarding is not None else None
    if recorder is not None:
        _add(config, {str(path): [n, skipped] for path, n, skipped in recorder.summary()})


def _add(config: pytest.Config, counts: dict[str, list[int]]) -> None:
    tallies = config.stash.setdefault(_TALLIES, {})
    for path, (recorded, skipped) in counts.items():
        tally = tallies.setdefault(path, [0, 0])
        tally[0] += recorded
        tally[1] += skipped


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In an xdist worker: hand this worker's tallies to the controller."""
    output = getattr(session.config, "workeroutput", None)
    tallies = session.config.stash.get(_TALLIES, None)
    if output is not None and tallies:
        output[_OUTPUT_KEY] = json.dumps(tallies)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """In the xdist controller: a worker's tallies."""
    raw = getattr(node, "workeroutput", {}).get(_OUTPUT_KEY)
    if raw:
        _add(node.config, json.loads(raw))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    tallies = config.stash.get(_TALLIES, None)
    if not tallies:
        return
    said, reports = [], []
    for path, (recorded, skipped) in sorted(tallies.items()):
        text = f"{_shown(Path(path), config.rootpath.resolve())} +{recorded}"
        if skipped:
            text += f" ({skipped} skipped, see the log)"
        stubs = _stubs(Path(path))
        said.append(text + f" (now {'?' if stubs is None else len(stubs)} stubs)")
        if stubs:
            reports.append(recording_report(Path(path), stubs))
    total = sum(recorded for recorded, _ in tallies.values())
    terminalreporter.write_line(f"mockserver: recorded {total} exchanges: {'; '.join(said)}")
    for report in reports:
        for line in report.splitlines():
            terminalreporter.write_line(f"  {line}")


def _shown(path: Path, root: Path) -> str:
    try:
        return os.path.relpath(path, root) if path.is_relative_to(root) else str(path)
    except ValueError:
        return str(path)


def _stubs(path: Path) -> list[Any] | None:
    """The stubs the recorded file holds now; None when it cannot be read."""
    try:
        loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        stubs = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)["stubs"]
    except (OSError, yaml.YAMLError, TypeError, KeyError):
        return None
    return [s for s in stubs if isinstance(s, dict)] if isinstance(stubs, list) else None
