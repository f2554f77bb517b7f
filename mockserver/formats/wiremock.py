"""WireMock roots (``mappings/`` and ``__files/``) → stub documents, served as they are.

A mapping file holds one stub mapping (``{"request": ..., "response": ...}``) or several
(``{"mappings": [...]}``). Each mapping is translated into a stub of our own format and parsed
by the stub-file parser, so matching, scenarios, delays, faults and priorities are ours. A key
with no counterpart is a problem naming the file, the mapping (its id, else its index) and the
key: nothing is left out quietly.

Where WireMock decides by order, ours does the same: a lower WireMock ``priority`` (1 is the
highest, 5 the default) is a higher one here (``5 - priority``, so the default is our 0), and
of two mappings with one priority the later one in a file answers, as WireMock's newest does.
``bodyFileName`` is read from the root's ``__files/``; all mappings of one root are one service,
named after the root directory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from mockserver.core.errors import KeyPath, Problem, key_text
from mockserver.core.headernames import LOWER_ETAG
from mockserver.core.model import ServiceSpec, Stub
from mockserver.core.stubspec import SERVER_HEADERS, BodyFileReader
from mockserver.formats.realpaths import resolved
from mockserver.formats.wiremock_patterns import translate_request
from mockserver.stubfiles.stubfile import default_id, parse_service, valid_service_name

__all__ = [
    "FILES_DIR",
    "MAPPINGS_DIR",
    "is_wiremock",
    "parse_mappings",
    "service_for",
    "translate_mappings",
    "wiremock_home",
]

MAPPINGS_DIR: Final = "mappings"
FILES_DIR: Final = "__files"
DEFAULT_PRIORITY: Final = 5
_MAPPING_KEYS: Final = (
    "id",
    "uuid",
    "name",
    "request",
    "response",
    "priority",
    "scenarioName",
    "requiredScenarioState",
    "newScenarioState",
    # Inert for a root served from disk: annotations and the admin API's bookkeeping.
    "metadata",
    "persistent",
    "insertionIndex",
)
_RESPONSE_KEYS: Final = (
    "status",
    "headers",
    "body",
    "jsonBody",
    "base64Body",
    "bodyFileName",
    "fixedDelayMilliseconds",
    "delayDistribution",
    "chunkedDribbleDelay",
    "fault",
)
_FAULTS: Final = {
    "CONNECTION_RESET_BY_PEER": "connection_reset",
    "EMPTY_RESPONSE": "empty_response",
    "RANDOM_DATA_THEN_CLOSE": "malformed_response",
    # A status line and headers, then a body that breaks off: what a client sees of both.
    "MALFORMED_RESPONSE_CHUNK": "truncated_body",
}
# Ours names the body keys, WireMock's the keys users wrote: problems from our parser are
# reported under theirs.
_THEIR_KEYS: Final = (
    ("request.path_regex", "request.urlPathPattern"),
    ("request.path", "request (url, urlPath, urlPathTemplate)"),
    ("request.url", "request (url, urlPattern)"),
    ("request.query", "request.queryParameters"),
    ("request.body", "request.bodyPatterns"),
    ("response.body_file", "response.bodyFileName"),
    ("response.body_base64", "response.base64Body"),
    ("response.json", "response.jsonBody"),
    ("response.delay_ms", "response (fixedDelayMilliseconds, delayDistribution)"),
    ("response.dribble", "response.chunkedDribbleDelay"),
    ("scenario.name", "scenarioName"),
    ("scenario.state", "requiredScenarioState"),
    ("scenario.next", "newScenarioState"),
)


def is_wiremock(document: Any) -> bool:
    """``document`` (a parsed mapping file) is WireMock's: one mapping or ``mappings``."""
    if not isinstance(document, dict) or "stubs" in document or "service" in document:
        return False
    return isinstance(document.get("mappings"), list) or isinstance(document.get("request"), dict)


def wiremock_home(file: Path, root: Path) -> Path:
    """The WireMock root of a mapping file: the parent of the ``mappings/`` directory it is in
    (looked for up to the stubs root ``root``), else the file's own directory."""
    inside = resolved(root)
    real = resolved(file)
    for parent in real.parents:
        if parent.name == MAPPINGS_DIR:
            return parent.parent
        if parent == inside:
            break
    return real.parent


def service_for(home: Path) -> str:
    """A service name from the root directory's name (``wiremock`` when it makes none)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", home.name).strip("-._")[:63]
    return name if name and valid_service_name(name) else "wiremock"


class _Out:
    """Problems of one mapping file, each naming its mapping and a WireMock key."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.label: str | None = None
        self.items: list[Problem] = []

    def __call__(self, at: KeyPath, message: str) -> None:
        self.items.append(Problem(self.source, message, stub=self.label, key=key_text(at)))


def _label(mapping: Any, index: int | None) -> str | None:
    if isinstance(mapping, dict):
        for key in ("id", "uuid"):
            if isinstance(mapping.get(key), str):
                return repr(mapping[key])
    return None if index is None else f"#{index}"


def translate_mappings(
    document: Any, source: str, service: str
) -> tuple[dict[str, Any], dict[str, tuple[int, str | None]], list[Problem]]:
    """A mapping file → (our stub document, our stub id → its mapping's index and label,
    problems)."""
    out = _Out(source)
    many = isinstance(document.get("mappings"), list)
    if many:
        for key in document:
            if key not in ("mappings", "meta"):
                out((key,), f"{key!r} is not supported beside mappings")
    raw = document["mappings"] if many else [document]
    stubs: list[dict[str, Any]] = []
    labels: dict[str, tuple[int, str | None]] = {}
    for index, mapping in enumerate(raw):
        out.label = _label(mapping, index if many else None)
        stub = _mapping(mapping, out)
        if stub is None:
            continue
        stub = {"id": stub.pop("id", None) or default_id(service, stub), **stub}
        labels[stub["id"]] = (index, out.label)
        stubs.append(stub)
    # WireMock answers with the newest of equal priority: here the later one in the file.
    stubs.reverse()
    return {"service": service, "stubs": stubs}, labels, out.items


def _mapping(mapping: Any, out: _Out) -> dict[str, Any] | None:
    if not isinstance(mapping, dict):
        out((), "a mapping is an object with request and response")
        return None
    before = len(out.items)
    for key in mapping:
        if key not in _MAPPING_KEYS:
            out((key,), f"{key!r} is not supported; mockserver serves {', '.join(_MAPPING_KEYS)}")
    stub: dict[str, Any] = {}
    ident = mapping.get("id", mapping.get("uuid"))
    if ident is not None:
        stub["id"] = ident
    if "name" in mapping:
        stub["description"] = mapping["name"]
    priority = mapping.get("priority", DEFAULT_PRIORITY)
    if isinstance(priority, bool) or not isinstance(priority, int):
        out(("priority",), f"priority is a whole number (1 is the highest), got {priority!r}")
    elif priority != DEFAULT_PRIORITY:
        stub["priority"] = DEFAULT_PRIORITY - priority
    request = translate_request(mapping.get("request"), ("request",), out)
    response = _response(mapping.get("response", {}), out)
    scenario = _scenario(mapping, out)
    if len(out.items) != before or request is None or response is None:
        return None
    stub["request"], stub["response"] = request, response
    if scenario:
        stub["scenario"] = scenario
    return stub


def _state(state: Any) -> Any:
    return "started" if state == "Started" else state  # WireMock's first state is ours


def _scenario(mapping: Mapping[str, Any], out: _Out) -> dict[str, Any] | None:
    name = mapping.get("scenarioName")
    if name is None:
        for key in ("requiredScenarioState", "newScenarioState"):
            if key in mapping:
                out((key,), f"{key} needs a scenarioName beside it")
        return None
    scenario = {"name": name}
    if mapping.get("requiredScenarioState") is not None:
        scenario["state"] = _state(mapping["requiredScenarioState"])
    if mapping.get("newScenarioState") is not None:
        scenario["next"] = _state(mapping["newScenarioState"])
    return scenario


def _response(raw: Any, out: _Out) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        out(("response",), "response is an object")
        return None
    before = len(out.items)
    for key in raw:
        if key not in _RESPONSE_KEYS:
            out(
                ("response", key),
                f"{key!r} is not supported (proxying, transformers and templates are not "
                f"translated); mockserver serves {', '.join(_RESPONSE_KEYS)}",
            )
    response: dict[str, Any] = {"status": raw.get("status", 200)}
    headers = raw.get("headers")
    if headers is not None:
        if not isinstance(headers, dict):
            out(("response", "headers"), "headers is an object of name → value")
        else:
            response["headers"] = {
                k: v for k, v in headers.items() if k.lower() not in SERVER_HEADERS
            }
            if not any(k.lower() == LOWER_ETAG for k in headers):
                response["etag"] = False  # WireMock sends no ETag of its own
    else:
        response["etag"] = False
    bodies = [key for key in ("body", "jsonBody", "base64Body", "bodyFileName") if key in raw]
    if len(bodies) > 1:
        out(("response", bodies[1]), f"give one body (found {', '.join(bodies)})")
    elif bodies:
        ours = {"body": "body", "jsonBody": "json", "base64Body": "body_base64"}
        response[ours.get(bodies[0], "body_file")] = raw[bodies[0]]
    delay = _delay(raw, out)
    if delay:
        response["delay_ms"] = delay
    if "chunkedDribbleDelay" in raw:
        dribble = raw["chunkedDribbleDelay"]
        if not isinstance(dribble, dict) or set(dribble) != {"numberOfChunks", "totalDuration"}:
            out(("response", "chunkedDribbleDelay"), "give numberOfChunks and totalDuration")
        else:
            chunks, duration = dribble["numberOfChunks"], dribble["totalDuration"]
            response["dribble"] = {"chunks": chunks, "duration_ms": duration}
    if "fault" in raw:
        fault = _FAULTS.get(raw["fault"]) if isinstance(raw["fault"], str) else None
        if fault is None:
            given = raw["fault"]
            out(("response", "fault"), f"fault is one of {', '.join(_FAULTS)}, got {given!r}")
        else:
            response["fault"] = fault
            if fault == "truncated_body" and not bodies:
                response["body"] = "x" * 64  # something to break off half-way
    return response if len(out.items) == before else None


def _delay(raw: Mapping[str, Any], out: _Out) -> Any:
    """``fixedDelayMilliseconds`` plus ``delayDistribution`` (WireMock adds them) → delay_ms."""
    fixed = raw.get("fixedDelayMilliseconds", 0)
    if isinstance(fixed, bool) or not isinstance(fixed, int) or fixed < 0:
        out(("response", "fixedDelayMilliseconds"), f"a whole number of ms, got {fixed!r}")
        return None
    spec = raw.get("delayDistribution")
    if spec is None:
        return fixed
    where: KeyPath = ("response", "delayDistribution")
    kind = spec.get("type") if isinstance(spec, dict) else None
    numbers = {k: v for k, v in spec.items() if k != "type"} if isinstance(spec, dict) else {}
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers.values()):
        out(where, "the distribution's parameters are numbers")
        return None
    if kind == "uniform" and set(numbers) == {"lower", "upper"}:
        return {"min": fixed + int(numbers["lower"]), "max": fixed + int(numbers["upper"])}
    if kind == "fixed" and set(numbers) == {"milliseconds"}:
        return fixed + int(numbers["milliseconds"])
    if kind == "lognormal" and set(numbers) == {"median", "sigma"}:
        if fixed:
            out(where, "a lognormal delay with fixedDelayMilliseconds beside it is not supported")
            return None
        return {"lognormal": {"median": round(numbers["median"]), "sigma": numbers["sigma"]}}
    out(
        where,
        "supported: {type: uniform, lower, upper}, {type: lognormal, median, sigma} (no "
        f"maxValue), {{type: fixed, milliseconds}}; got {json.dumps(spec)[:120]}",
    )
    return None


def _their_key(key: str | None) -> str | None:
    if key is None:
        return None
    for ours, theirs in _THEIR_KEYS:
        if key == ours or key.startswith((ours + ".", ours + "[")):
            return theirs + key[len(ours) :]
    return key


def parse_mappings(
    document: Any, source: str, service: str, read_body_file: BodyFileReader
) -> tuple[ServiceSpec | None, list[Stub], list[Problem]]:
    """A WireMock mapping file → its service and stubs, as ``parse_service`` gives them; every
    problem names the mapping and the WireMock key."""
    translated, labels, problems = translate_mappings(document, source, service)
    if problems:
        return None, [], problems
    spec, stubs, problems = parse_service(translated, source, service, read_body_file)
    by_id = {repr(ident): label for ident, (_, label) in labels.items()}
    problems = [
        Problem(p.file, p.message, by_id.get(p.stub or "", p.stub), _their_key(p.key))
        for p in problems
    ]
    # A stub is reported as its mapping's place in the file (reports say "stub #N").
    stubs = [replace(stub, index=labels[stub.id][0]) for stub in stubs]
    return spec, stubs, problems
