"""Has a recorded double drifted from the real service? The pure half of ``mockserver diff``.

A stub is replayable when its request can be rebuilt exactly: one method, an exact path, and
query, header, cookie and body matchers that are literal values (``equals``, a bare value, or
``json:`` for the body). Its recorded answers are then compared with what the upstream says
now: status, media type and body, JSON structurally (key order ignored, ``1`` is not ``"1"``)
with each changed, missing and added value named by its JSONPath.

Pure: the shell (``diffcmd``) sends the requests and hands the answers back as Observed.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, Literal
from urllib.parse import quote, urlencode

from mockserver.core.jsonmatch import json_equal, show_json
from mockserver.core.model import PreparedResponse, Stub
from mockserver.core.render import encode_json
from mockserver.recording.exchange import decode_body

__all__ = [
    "Difference",
    "Expected",
    "Observed",
    "Replay",
    "Result",
    "body_differences",
    "compare",
    "expected_of",
    "json_differences",
    "media_type",
    "replay_of",
    "report_lines",
]

MAX_DIFFERENCES: Final = 20
_IDENTIFIER: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True, slots=True)
class Replay:
    """The request a stub was recorded from, rebuilt to be sent again."""

    method: str
    path: str  # decoded, as the stub has it
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    @property
    def target(self) -> str:
        """Path and query as they go on the wire (percent-encoded)."""
        path = quote(self.path, safe="/:@!$&'()*+,;=-._~")
        return path + ("?" + urlencode(self.query) if self.query else "")


@dataclass(frozen=True, slots=True)
class Expected:
    """One recorded answer: status, media type (no parameters) and the decoded body."""

    status: int
    media_type: str | None
    body: bytes


@dataclass(frozen=True, slots=True)
class Observed:
    """What the upstream answered now, body decoded."""

    status: int
    media_type: str | None
    body: bytes


@dataclass(frozen=True, slots=True)
class Difference:
    """One disagreement: ``where`` is status, media type, body, or a JSONPath."""

    where: str
    kind: Literal["changed", "missing", "added"]
    recorded: Any = None
    now: Any = None

    def describe(self) -> str:
        if self.kind == "missing":
            return f"{self.where}: missing now (recorded {show_json(self.recorded, 80)})"
        if self.kind == "added":
            return f"{self.where}: added (now {show_json(self.now, 80)})"
        if self.where == "body":
            return f"body: recorded {self.recorded}, now {self.now}"
        return (
            f"{self.where}: recorded {show_json(self.recorded, 80)}, now {show_json(self.now, 80)}"
        )


@dataclass(frozen=True, slots=True)
class Result:
    """The verdict for one stub."""

    stub: str
    service: str
    route: str
    outcome: Literal["agrees", "drifted", "skipped", "failed"]
    differences: tuple[Difference, ...] = ()
    reason: str = ""
    breaks: tuple[str, ...] = ()  # ``--openapi``: how the live answer breaks the document


def media_type(content_type: str | None) -> str | None:
    """``application/json`` from ``application/json; charset=utf-8``; None when absent."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media or None


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in headers if k.lower() == name), None)


def _literal(raw: Any) -> str | None:
    """The text a literal matcher stands for (a bare value or ``{equals: value}``), else None."""
    if isinstance(raw, dict):
        if set(raw) != {"equals"}:
            return None
        raw = raw["equals"]
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str | int | float):
        return str(raw)
    return None


def _matcher_name(raw: Any) -> str:
    if isinstance(raw, dict) and raw:
        return " + ".join(str(k) for k in raw)
    return f"a {type(raw).__name__}"


def _literals(raw: Any, what: str) -> tuple[tuple[tuple[str, str], ...], None] | tuple[None, str]:
    if raw is None:
        return (), None
    if not isinstance(raw, dict):
        return None, f"{what} is not a mapping"
    pairs = []
    for name, value in raw.items():
        text = _literal(value)
        if text is None:
            return None, f"{what} {name}: matched by {_matcher_name(value)}, not a literal value"
        pairs.append((str(name), text))
    return tuple(pairs), None


def _body(raw: Any) -> tuple[bytes, str | None] | str:
    """(bytes, content type) to send for a body matcher, or why it cannot be rebuilt."""
    if raw is None:
        return b"", None
    if isinstance(raw, list):
        if len(raw) != 1:
            return "body: several matchers, so no single body to send"
        raw = raw[0]
    if isinstance(raw, dict) and set(raw) == {"json"}:
        return encode_json(raw["json"]), "application/json"
    text = _literal(raw)
    if text is None:
        return f"body: matched by {_matcher_name(raw)}, so no exact body to send"
    return text.encode(), None


def replay_of(stub: Stub) -> Replay | str:
    """The request to send again for ``stub``, or why it cannot be replayed."""
    spec = stub.request
    faults = [r.fault for r in (stub.responses or (stub.response,)) if r.fault is not None]
    if faults:  # a fault stands in for a failure, not for what the service answers
        return f"fault: {faults[0]}"
    if any(r.template is not None for r in (stub.responses or (stub.response,))):
        return "template: true (its answer is made from each request)"
    if spec.path is None:
        return "matches any path"
    if spec.path.kind == "template":
        return f"path template {spec.path.text}"
    if spec.path.kind == "regex":
        return f"path_regex {spec.path.text}"
    if not spec.methods:
        return "matches any method"
    if len(spec.methods) > 1:
        return f"several methods ({', '.join(sorted(spec.methods))})"
    raw = stub.definition.get("request") or {}
    query, why = _literals(raw.get("query"), "query")
    if query is None:
        return why or "query"
    headers, why = _literals(raw.get("headers"), "header")
    if headers is None:
        return why or "headers"
    cookies, why = _literals(raw.get("cookies"), "cookie")
    if cookies is None:
        return why or "cookies"
    body = _body(raw.get("body"))
    if isinstance(body, str):
        return body
    content, content_type = body
    sent = list(headers)
    if cookies:
        sent.append(("Cookie", "; ".join(f"{k}={v}" for k, v in cookies)))
    if content_type and _header(sent, "content-type") is None:
        sent.append(("Content-Type", content_type))
    (method,) = spec.methods
    return Replay(method, spec.path.text, query, tuple(sent), content)


def _expected(prepared: PreparedResponse) -> Expected:
    body = prepared.body
    coding = _header(prepared.headers, "content-encoding")
    if coding:  # a stub that sends pre-compressed bytes
        with contextlib.suppress(ValueError):  # compared as the bytes it sends
            body = decode_body(body, coding)
    return Expected(prepared.status, media_type(_header(prepared.headers, "content-type")), body)


def expected_of(stub: Stub) -> tuple[Expected, ...]:
    """The answers a stub gives: its sequence in turn, or its one response.

    A HEAD stub keeps the body its Content-Length is counted from, but no answer to HEAD
    carries one: what is compared is its status and media type.
    """
    expected = tuple(_expected(p) for p in (stub.sequence or (stub.prepared,)))
    if stub.request.methods == frozenset({"HEAD"}):
        return tuple(replace(one, body=b"") for one in expected)
    return expected


def _step(where: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    if _IDENTIFIER.match(key):
        return f"{where}.{key}"
    escaped = key.replace("\\", "\\\\").replace("'", "\\'")
    return f"{where}['{escaped}']"


def json_differences(recorded: Any, now: Any, where: str = "$") -> list[Difference]:
    """Every changed, missing and added value, by JSONPath (RFC 9535 normalized paths)."""
    if isinstance(recorded, dict) and isinstance(now, dict):
        found: list[Difference] = []
        for key, value in recorded.items():
            at = _step(where, key)
            if key not in now:
                found.append(Difference(at, "missing", recorded=value))
            else:
                found.extend(json_differences(value, now[key], at))
        found.extend(
            Difference(_step(where, key), "added", now=value)
            for key, value in now.items()
            if key not in recorded
        )
        return found
    if isinstance(recorded, list) and isinstance(now, list):
        found = []
        for i, (old, new) in enumerate(zip(recorded, now, strict=False)):
            found.extend(json_differences(old, new, _step(where, i)))
        found.extend(
            Difference(_step(where, i), "missing", recorded=recorded[i])
            for i in range(len(now), len(recorded))
        )
        found.extend(
            Difference(_step(where, i), "added", now=now[i]) for i in range(len(recorded), len(now))
        )
        return found
    if json_equal(recorded, now):
        return []
    return [Difference(where, "changed", recorded, now)]


_NOT_JSON: Final = object()


def _json(body: bytes) -> Any:
    if not body:
        return _NOT_JSON
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return _NOT_JSON


def _summary(body: bytes) -> str:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return f"{len(body)} bytes of binary"
    shown = text if len(text) <= 60 else text[:57] + "..."
    return f"{len(body)} bytes {json.dumps(shown, ensure_ascii=False)}"


def body_differences(recorded: bytes, now: bytes) -> list[Difference]:
    """JSON bodies structurally; anything else byte for byte."""
    old, new = _json(recorded), _json(now)
    if old is not _NOT_JSON and new is not _NOT_JSON:
        return json_differences(old, new)
    if recorded == now:
        return []
    return [Difference("body", "changed", _summary(recorded), _summary(now))]


def _differences(expected: Expected, observed: Observed) -> list[Difference]:
    found = []
    if expected.status != observed.status:
        found.append(Difference("status", "changed", expected.status, observed.status))
    both_empty = not expected.body and not observed.body
    if not both_empty and expected.media_type != observed.media_type:
        found.append(Difference("media type", "changed", expected.media_type, observed.media_type))
    found.extend(body_differences(expected.body, observed.body))
    return found


def compare(expected: Sequence[Expected], observed: Observed) -> list[Difference]:
    """What differs; empty when the answer agrees with one of the recorded ones.

    A sequence agrees when any of its answers does (the upstream's state decides which one
    it gives now); otherwise the differences are those from the last, which replay repeats.
    """
    found: list[Difference] = []
    for one in expected:
        found = _differences(one, observed)
        if not found:
            return []
    return found


def report_lines(
    results: Sequence[Result], upstreams: Mapping[str, str], document: str = ""
) -> list[str]:
    """The drift report: one line per stub, its differences (and with ``document``, how the
    live answer breaks that OpenAPI document) indented below it."""
    marks = {"agrees": "ok", "drifted": "DRIFTED", "skipped": "skipped", "failed": "FAILED"}
    lines = []
    for service in dict.fromkeys(r.service for r in results):
        lines.append(f"{service} -> {upstreams.get(service, '(no upstream)')}")
        for result in (r for r in results if r.service == service):
            head = f"  {marks[result.outcome]:<8} {result.stub}  {result.route}"
            lines.append(f"{head}: {result.reason}" if result.reason else head)
            shown = result.differences[:MAX_DIFFERENCES]
            lines.extend(f"             {d.describe()}" for d in shown)
            if len(result.differences) > len(shown):
                lines.append(f"             ... and {len(result.differences) - len(shown)} more")
            lines.extend(f"             breaks {document}: {b}" for b in result.breaks)
    counts = {k: sum(r.outcome == k for r in results) for k in marks}
    summary = (
        f"{len(results)} stub{'s' * (len(results) != 1)}: {counts['agrees']} agree, "
        f"{counts['drifted']} drifted, {counts['skipped']} skipped, {counts['failed']} failed"
    )
    if document:
        broken = sum(bool(r.breaks) for r in results)
        summary += f"; {broken} answer{'s' * (broken != 1)} broke {document}"
    lines.append(summary)
    return lines
