"""Stubs of one file that a stub of another file answers in place of, found once, at load.

After ``--mockserver-record=all``, ``users.recorded.yaml`` sorts before ``users.yaml``, so at
equal priority its recorded stub answers and the hand-written one never does. Nothing is wrong
with either file, which is why it has to be said: at load (one line per route) and in the
near-miss report.

A stub ``W`` shadows ``L`` when ``W`` is tried first (higher priority, then load order) and
every request ``L`` would answer on a route is answered by ``W``: ``W`` admits ``L``'s methods,
``W``'s path covers the route (all of ``L``'s, or, at equal priority, one exact path of a
template), and ``W``'s other conditions are a subset of ``L``'s (compared as
written: ``x: 1`` and ``x: {equals: "1"}`` count as different, so a shadow is never claimed
that is not one). Regex paths are left out: covering one with another cannot be decided cheaply.
Stubs posted to the admin API override files on purpose and are left out too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Final

from mockserver.core.model import Stub
from mockserver.core.paths import PathTrie

__all__ = ["Shadow", "find_shadows", "shadow_lines"]

Condition = tuple[str, str, str]
# A stub's conditions are matched against every subset of another's, 2**n lookups: beyond
# this many conditions only "the same" and "none" are tried.
_SUBSETS_UP_TO: Final = 6
# Load-time lines, at most; the rest are counted.
_LINES_MAX: Final = 20


@dataclass(frozen=True, slots=True)
class Shadow:
    """``winner`` answers where ``loser`` would: on every route of ``loser`` when ``whole``,
    else on ``winner``'s exact path only."""

    winner: Stub
    loser: Stub
    whole: bool

    @property
    def route(self) -> str:
        return (self.loser if self.whole else self.winner).describe_route()

    def why(self) -> str:
        if self.winner.priority != self.loser.priority:
            return f"priority {self.winner.priority} over {self.loser.priority}"
        return (
            f"equal priority, and {Path(self.winner.source).name} loads before "
            f"{Path(self.loser.source).name}: files load in path order"
        )

    def line(self) -> str:
        """``GET /a: stub 'x' in a.yaml answers; stub 'y' in b.yaml never does (why)``."""
        loser = f"stub {self.loser.id!r} in {self.loser.source}"
        if not self.whole:
            loser = f"stub {self.loser.id!r} [{self.loser.describe_route()}] in {self.loser.source}"
        never = "never does" if self.whole else "does not on this path"
        return (
            f"{self.route}: stub {self.winner.id!r} in {self.winner.source} answers; "
            f"{loser} {never} ({self.why()})"
        )

    def note(self) -> str:
        """For the near-miss report of ``loser``."""
        return (
            f"shadowed on {self.route} by stub {self.winner.id!r} in {self.winner.source} "
            f"(stub #{self.winner.index}), which answers first ({self.why()})"
        )


def _conditions(stub: Stub) -> frozenset[Condition]:
    """What ``stub`` asks beyond method and path, as written (canonical JSON): two stubs ask
    the same only when they say the same, so a shadow is never claimed that is not one."""
    try:
        request = json.loads(stub.definition_json).get("request") or {}
    except (ValueError, AttributeError):
        return frozenset({("unknown", stub.id, "")})  # compares equal to nothing else
    found: set[Condition] = set()
    for kind in ("query", "headers", "cookies"):
        for name, value in (request.get(kind) or {}).items():
            found.add((kind, name.lower() if kind == "headers" else name, _canonical(value)))
    if request.get("url") is not None:
        found.add(("url", "", _canonical(request["url"])))
    body = request.get("body")
    for matcher in body if isinstance(body, list) else [] if body is None else [body]:
        found.add(("body", "", _canonical(matcher)))
    return frozenset(found)


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _subsets(conditions: frozenset[Condition]) -> Iterator[frozenset[Condition]]:
    if len(conditions) > _SUBSETS_UP_TO:
        yield frozenset()
        yield conditions
        return
    items = sorted(conditions)
    for size in range(len(items) + 1):
        for chosen in combinations(items, size):
            yield frozenset(chosen)


def _admits(winner: Stub, loser: Stub) -> bool:
    """``winner`` takes every method ``loser`` takes, and comes from another file."""
    if winner.source == loser.source:
        return False
    wanted, offered = loser.request.methods, winner.request.methods
    return offered is None or (wanted is not None and wanted <= offered)


def _rank(stub: Stub) -> tuple[int, int]:
    return (-stub.priority, stub.order)


def find_shadows(
    stubs: Iterable[Stub], listener_of: Mapping[str, int | None] | None = None
) -> list[Shadow]:
    """Every shadow among ``stubs`` (file stubs only), each listener on its own (without
    ``listener_of``, all are on one)."""
    listener_of = listener_of or {}
    grouped: dict[int | None, list[Stub]] = {}
    for stub in stubs:
        if stub.source != "<admin>":
            grouped.setdefault(listener_of.get(stub.service), []).append(stub)
    found: list[Shadow] = []
    for group in grouped.values():
        if len({stub.source for stub in group}) > 1:  # one file cannot shadow itself here
            found.extend(_shadows_on_one_listener(sorted(group, key=_rank)))
    return sorted(found, key=lambda s: (s.loser.order, s.winner.order))


def _shadows_on_one_listener(stubs: list[Stub]) -> list[Shadow]:
    conditions = {id(stub): _conditions(stub) for stub in stubs}
    # (path, conditions) → the stubs seen so far (tried earlier) with that path and conditions;
    # a path of None is "any path".
    seen: dict[tuple[str | None, frozenset[Condition]], list[Stub]] = {}
    templates: PathTrie[Stub] = PathTrie()
    for stub in stubs:
        path = stub.request.path
        if path is not None and path.kind == "template":
            templates.add(path, stub)
    rank = {id(stub): n for n, stub in enumerate(stubs)}
    found: list[Shadow] = []
    for stub in stubs:
        path = stub.request.path
        if path is not None and path.kind == "regex":
            continue
        mine = conditions[id(stub)]
        key_path = None if path is None else f"{path.kind}:{path.text}"
        winner = _earlier_covering(seen, key_path, mine, stub)
        if winner is None and key_path is not None:
            winner = _earlier_covering(seen, None, mine, stub)
        fitting = templates.find(path.text) if path and path.kind == "exact" else []
        if winner is None:
            # A template tried earlier that fits this exact path and asks no more.
            winner = next(
                (
                    t
                    for t in fitting
                    if rank[id(t)] < rank[id(stub)]
                    and conditions[id(t)] <= mine
                    and _admits(t, stub)
                ),
                None,
            )
        if winner is not None:
            found.append(Shadow(winner, stub, whole=True))
        else:
            # This exact stub answers, on its path, before later templates that fit it. Only
            # file order is a surprise here: an exact path over a lower-priority template is
            # how a catch-all is written.
            found.extend(
                Shadow(stub, t, whole=False)
                for t in fitting
                if t.priority == stub.priority
                and rank[id(t)] > rank[id(stub)]
                and mine <= conditions[id(t)]
                and _admits(stub, t)
            )
        seen.setdefault((key_path, mine), []).append(stub)
    return found


def _earlier_covering(
    seen: Mapping[tuple[str | None, frozenset[Condition]], list[Stub]],
    path: str | None,
    conditions: frozenset[Condition],
    stub: Stub,
) -> Stub | None:
    for subset in _subsets(conditions):
        for earlier in seen.get((path, subset), ()):
            if _admits(earlier, stub):
                return earlier
    return None


def shadow_lines(shadows: list[Shadow]) -> list[str]:
    """One line per shadowed route, at most ``_LINES_MAX`` and a count of the rest."""
    lines = [f"shadowed: {shadow.line()}" for shadow in shadows[:_LINES_MAX]]
    if len(shadows) > _LINES_MAX:
        lines.append(f"shadowed: ... and {len(shadows) - _LINES_MAX} more routes")
    return lines
