"""Importing mockserver changes nothing in the process (issue 15 section 6): a library keeps
aiohttp's loggers, the collector, signals and the event loop policy to the one who owns the
process. ``serve`` does quiet aiohttp's log, in its own process (test_serve_inprocess has
what it drops)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter: this one has imported the package long ago.
PROBE = r"""
import asyncio, gc, json, logging, pkgutil, signal, sys, threading, importlib
import aiohttp.web  # aiohttp's own loggers exist before the snapshot: only changes count

def loggers():
    found = {"": logging.getLogger()}
    for name, logger in logging.Logger.manager.loggerDict.items():
        if isinstance(logger, logging.Logger) and not name.startswith("mockserver"):
            found[name] = logger
    return {
        name: {
            "level": logger.level,
            "filters": [type(f).__qualname__ for f in logger.filters],
            "handlers": [type(h).__qualname__ for h in logger.handlers],
            "propagate": logger.propagate,
            "disabled": logger.disabled,
        }
        for name, logger in found.items()
    }

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

def snapshot():
    return {
        "loggers": loggers(),
        "gc": [gc.isenabled(), list(gc.get_threshold()), gc.get_freeze_count()],
        "recursion limit": sys.getrecursionlimit(),
        "signals": [repr(signal.getsignal(s)) for s in SIGNALS],
        "loop policy": type(asyncio.get_event_loop_policy()).__qualname__,
        "hooks": [repr(sys.excepthook), repr(threading.excepthook)],
    }

before = snapshot()
import mockserver, mockserver.pytest_plugin
names = [m.name for m in pkgutil.walk_packages(mockserver.__path__, "mockserver.")]
for name in names:
    if name != "mockserver.__main__":  # runs the command line
        importlib.import_module(name)
after = snapshot()
print(json.dumps({"before": before, "after": after, "modules": len(names)}))
"""


def _probe() -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": ""},
        check=True,
        timeout=120,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_importing_the_package_and_the_plugin_changes_no_logger_gc_or_signal() -> None:
    found = _probe()
    assert isinstance(found["modules"], int)
    assert found["modules"] > 50  # the whole package, not a part of it
    before, after = found["before"], found["after"]
    assert isinstance(before, dict)
    assert isinstance(after, dict)
    assert after["loggers"]["aiohttp.server"] == before["loggers"]["aiohttp.server"]
    assert after["loggers"]["aiohttp.server"]["filters"] == []
    # No logger but mockserver's own is made or changed by the imports.
    changed = {
        name: (before["loggers"].get(name), config)
        for name, config in after["loggers"].items()
        if before["loggers"].get(name) != config
        and not (name not in before["loggers"] and _untouched(config))
    }
    assert changed == {}
    for key in ("gc", "recursion limit", "signals", "loop policy", "hooks"):
        assert after[key] == before[key], key


def _untouched(config: dict[str, object]) -> bool:
    """A logger that only came into being (a library's getLogger): nothing set on it."""
    return config == {
        "level": 0,
        "filters": [],
        "handlers": [],
        "propagate": True,
        "disabled": False,
    }
