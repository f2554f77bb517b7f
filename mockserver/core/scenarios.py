"""Scenarios: named state machines across stubs (``scenario: {name, state, next}``).

Every scenario starts in ``started``. A stub with ``state`` matches only while its scenario is
in that state; one with ``next`` moves the scenario when it answers. Matching and moving happen
under one lock, so of N concurrent requests exactly one moves a scenario (respond.py); each
namespace (namespaces.py) has states of its own, and a reset puts every scenario back.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from mockserver.core.errors import KeyPath, Problems
from mockserver.core.shapes import check_keys, expect_mapping, type_name

__all__ = ["NAME", "STARTED", "ScenarioSpec", "ScenarioStates", "parse_scenario"]

STARTED: Final = "started"
SCENARIO_KEYS: Final = ("name", "state", "next")
NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:~ -]{0,127}\Z")


@dataclass(frozen=True, slots=True)
class ScenarioSpec:
    name: str
    state: str | None = None  # None: in any state
    next: str | None = None  # None: the scenario stays where it is


def parse_scenario(raw: Any, at: KeyPath, out: Problems) -> ScenarioSpec | None:
    spec = expect_mapping(raw, at, out, "a scenario")
    if spec is None:
        return None
    before = len(out.items)
    check_keys(spec, SCENARIO_KEYS, at, out)
    values: dict[str, str | None] = {}
    for key in SCENARIO_KEYS:
        value = spec.get(key)
        if value is None and key != "name":
            values[key] = None
            continue
        if not isinstance(value, str) or not NAME.match(value):
            out.add(
                (*at, key),
                f"a scenario {key} is 1-128 letters, digits, spaces or . _ : ~ -, "
                f"got {type_name(value) if not isinstance(value, str) else repr(value)}",
            )
            continue
        values[key] = value
    if len(out.items) != before:
        return None
    name = values["name"]
    assert name is not None
    return ScenarioSpec(name, values["state"], values["next"])


class ScenarioStates:
    """The current state of each scenario (``started`` until moved), thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.RLock()  # held across a request's match and move
        self._states: dict[str, str] = {}

    def state(self, name: str) -> str:
        return self._states.get(name, STARTED)

    def move(self, name: str, state: str) -> None:
        with self.lock:
            self._states[name] = state

    def put(self, name: str | None, state: str | None) -> None:
        """``name`` to ``state``; ``state`` None puts it back to started, and ``name`` None
        puts every scenario back."""
        if name is None or state is None:
            self.reset(name)
        else:
            self.move(name, state)

    def load(self, states: Mapping[str, str]) -> None:
        """Hold ``states`` instead of what was held (a shared store's, read anew)."""
        with self.lock:
            self._states = dict(states)

    def reset(self, name: str | None = None) -> None:
        with self.lock:
            if name is None:
                self._states.clear()
            else:
                self._states.pop(name, None)

    def listing(self, names: Iterable[str]) -> list[dict[str, str]]:
        """Every scenario the stubs name (and any moved since), with its state, by name."""
        with self.lock:
            known = sorted(set(names) | set(self._states))
            return [{"name": name, "state": self.state(name)} for name in known]
