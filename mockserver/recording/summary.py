"""The block a recording ends with, per stub file: how the replay will choose among its stubs.

Pure: read from the recorded stubs. *Variants* are stubs for one request that differ by the
request headers the service varied on (``Vary``: Accept, Accept-Language, Cookie...), or by
a coding kept as sent; *sequences* are answers to the same request replayed in order;
*semantics* are what the replay computes rather than repeats (ranges and conditionals from a
whole representation, Expires relative to now, a HEAD answered by its own stub).
``mockserver diff`` and the pytest plugin's recording print the same block for the files
they read, so hand-written stubs (no method, a ``path_regex``) are named too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from mockserver.core.model import Stub

__all__ = ["file_reports", "recording_report"]

_SHOWN: Final = 4  # requests named per line; the rest counted


def recording_report(path: Path, stubs: Iterable[Mapping[str, Any]]) -> str:
    """One short block: ``svc.yaml: 9 stubs`` and a line each for variants, sequences and
    semantics that occur."""
    stubs = list(stubs)
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for stub in stubs:
        groups.setdefault(_request_name(_request(stub)), []).append(stub)
    variants = [
        f"{name} by {_chosen_by(group)} ({len(group)})"
        for name, group in groups.items()
        if len(group) > 1 or _chosen_by(group) != "-"
    ]
    sequences = [
        f"{_request_name(_request(s))} ({len(s['responses'])} answers)"
        for s in stubs
        if isinstance(s.get("responses"), list) and len(s["responses"]) > 1
    ]
    semantics: dict[str, list[str]] = {}
    for stub in stubs:
        request = _request(stub)
        for answer in stub.get("responses") or [stub.get("response") or {}]:
            if not isinstance(answer, Mapping):
                continue
            for what in _computed(request, answer):
                name = _request_name(request)
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


def file_reports(stubs: Iterable[Stub]) -> list[str]:
    """``recording_report`` for each file the loaded ``stubs`` came from, in load order."""
    by_file: dict[str, list[Mapping[str, Any]]] = {}
    for stub in stubs:
        by_file.setdefault(stub.source, []).append(stub.definition)
    return [recording_report(Path(source), found) for source, found in by_file.items()]


def _request(stub: Mapping[str, Any]) -> Mapping[str, Any]:
    request = stub.get("request")
    return request if isinstance(request, Mapping) else {}


def _method(request: Mapping[str, Any]) -> str:
    method = request.get("method")
    if isinstance(method, list):
        return "|".join(map(str, method))
    return str(method) if method else "ANY"


def _request_name(request: Mapping[str, Any]) -> str:
    if "path_regex" in request:
        path = f"~{request['path_regex']}"
    else:
        path = str(request.get("path") or "(any path)")
    name = f"{_method(request)} {path}"
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
        request = _request(stub)
        for header, matcher in (request.get("headers") or {}).items():
            shown = "Accept-Encoding (coding kept as sent)" if _accepts(matcher) else header
            if shown not in names:
                names.append(shown)
        if request.get("cookies") and "Cookie" not in names:
            names.append("Cookie")
    bodies = {json.dumps(_request(s).get("body"), sort_keys=True, default=str) for s in group}
    if len(bodies) > 1:
        names.append("body")
    return ", ".join(names) or "-"


def _accepts(matcher: Any) -> bool:
    return isinstance(matcher, Mapping) and "accepts_coding" in matcher


def _computed(request: Mapping[str, Any], answer: Mapping[str, Any]) -> list[str]:
    found = []
    # As render.prepare decides: a 200 of a stub that answers GET serves Range.
    methods = _method(request).split("|")
    ok_get = bool({"GET", "ANY"} & set(methods)) and answer.get("status", 200) == 200
    if ok_get and not any(_accepts(m) for m in (request.get("headers") or {}).values()):
        found.append("ranges from the whole representation")
    if answer.get("etag") or answer.get("last_modified"):
        found.append("conditionals from its validators")
    if "expires_in" in answer:
        found.append("Expires relative to each answer")
    if "reason" in answer:
        found.append("own reason phrase")
    if _method(request) == "HEAD":
        found.append("HEAD answered by its own stub")
    return found


def _listed(items: list[str]) -> str:
    shown = "; ".join(items[:_SHOWN])
    return shown + (f"; and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")
