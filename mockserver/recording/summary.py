"""The block a recording ends with, per stub file: how the replay will choose among its stubs.

Pure: read from the recorded stubs. *Variants* are stubs for one request that differ by the
request headers the service varied on (``Vary``: Accept, Accept-Language, Cookie...), or by
a coding kept as sent; *sequences* are answers to the same request replayed in order;
*semantics* are what the replay computes rather than repeats (ranges and conditionals from a
whole representation, Expires relative to now, a HEAD answered by its own stub).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

__all__ = ["recording_report"]

_SHOWN: Final = 4  # requests named per line; the rest counted


def recording_report(path: Path, stubs: Iterable[Mapping[str, Any]]) -> str:
    """One short block: ``svc.yaml: 9 stubs`` and a line each for variants, sequences and
    semantics that occur."""
    stubs = list(stubs)
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for stub in stubs:
        groups.setdefault(_request_name(stub["request"]), []).append(stub)
    variants = [
        f"{name} by {_chosen_by(group)} ({len(group)})"
        for name, group in groups.items()
        if len(group) > 1 or _chosen_by(group) != "-"
    ]
    sequences = [
        f"{_request_name(s['request'])} ({len(s['responses'])} answers)"
        for s in stubs
        if len(s.get("responses", ())) > 1
    ]
    semantics: dict[str, list[str]] = {}
    for stub in stubs:
        name = _request_name(stub["request"])
        for answer in stub.get("responses") or [stub.get("response", {})]:
            for what in _computed(stub["request"], answer):
                if name not in semantics.setdefault(what, []):
                    semantics[what].append(name)
    lines = [f"{path.name}: {len(stubs)} stubs"]
    if variants:
        lines.append("  variants: " + _listed(variants))
    if sequences:
        lines.append("  sequences (in order, then the last repeats): " + _listed(sequences))
    for what, names in semantics.items():
        lines.append(f"  {what}: {_listed(names)}")
    return "\n".join(lines)


def _request_name(request: Mapping[str, Any]) -> str:
    name = f"{request['method']} {request['path']}"
    query = request.get("query") or {}
    if query:
        name += "?" + "&".join(f"{k}={_shown(v)}" for k, v in sorted(query.items()))
    return name


def _shown(matcher: Any) -> str:
    if isinstance(matcher, Mapping) and isinstance(matcher.get("values"), list):
        return ",".join(map(str, matcher["values"]))
    return str(matcher)


def _chosen_by(group: list[Mapping[str, Any]]) -> str:
    """The request fields the stubs of a group are told apart by."""
    names: list[str] = []
    for stub in group:
        request = stub["request"]
        for header, matcher in (request.get("headers") or {}).items():
            shown = "Accept-Encoding (coding kept as sent)" if _accepts(matcher) else header
            if shown not in names:
                names.append(shown)
        if request.get("cookies") and "Cookie" not in names:
            names.append("Cookie")
    bodies = {json.dumps(s["request"].get("body"), sort_keys=True) for s in group}
    if len(bodies) > 1:
        names.append("body")
    return ", ".join(names) or "-"


def _accepts(matcher: Any) -> bool:
    return isinstance(matcher, Mapping) and "accepts_coding" in matcher


def _computed(request: Mapping[str, Any], answer: Mapping[str, Any]) -> list[str]:
    found = []
    ok_get = request["method"] == "GET" and answer.get("status", 200) == 200
    if ok_get and not any(_accepts(m) for m in (request.get("headers") or {}).values()):
        found.append("ranges from the whole representation")
    if answer.get("etag") or answer.get("last_modified"):
        found.append("conditionals from its validators")
    if "expires_in" in answer:
        found.append("Expires relative to each answer")
    if "reason" in answer:
        found.append("own reason phrase")
    if request["method"] == "HEAD":
        found.append("HEAD answered by its own stub")
    return found


def _listed(items: list[str]) -> str:
    shown = "; ".join(items[:_SHOWN])
    return shown + (f"; and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")
