"""WireMock's request matchers → mockserver's own (the ``request`` of a stub document).

Pure translation: a WireMock request pattern in, the stub-file ``request`` mapping out, with
every key it cannot express reported at its place. WireMock's semantics are kept where ours can
say the same: ``matches`` is a whole-value match (Java's ``Matcher.matches``), so the regex is
anchored; ``url`` is the path and the query; header names are case-insensitive; ``Started`` is
our ``started``; ``url`` and ``urlPattern`` read the path and the query string together. Where
ours is looser, docs/wiremock.md says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import parse_qsl, unquote

from mockserver.core.errors import KeyPath
from mockserver.core.headernames import AUTHORIZATION

__all__ = ["Sink", "translate_request"]

Sink = Callable[[KeyPath, str], None]
"""Where a problem goes: its key path inside the mapping, and what is wrong."""

# Operators of WireMock's StringValuePattern that have a counterpart here.
_STRING_OPERATORS: Final = (
    "equalTo",
    "contains",
    "doesNotContain",
    "matches",
    "doesNotMatch",
    "absent",
    "anything",
    "and",
    "or",
    "not",
)
_BODY_OPERATORS: Final = ("equalToJson", "matchesJsonPath", "matchesXPath", "equalToXml")
# Options that sit beside an operator, by operator.
_OPTIONS: Final = {
    "equalTo": ("caseInsensitive",),
    "equalToJson": ("ignoreArrayOrder", "ignoreExtraElements", "serializeAsString"),
    "matchesXPath": ("xPathNamespaces", "namespaces"),
}
_REQUEST_KEYS: Final = (
    "url",
    "urlPath",
    "urlPattern",
    "urlPathPattern",
    "urlPathTemplate",
    "method",
    "headers",
    "queryParameters",
    "cookies",
    "formParameters",
    "basicAuth",
    "basicAuthCredentials",
    "bodyPatterns",
)
_URL_KEYS: Final = ("url", "urlPath", "urlPattern", "urlPathPattern", "urlPathTemplate")


def _anchored(regex: str) -> str:
    # Java's Matcher.matches(): the whole value, not a part of it.
    return rf"\A(?:{regex})\Z"


def _regex_ok(text: Any, at: KeyPath, sink: Sink) -> bool:
    import regex

    if not isinstance(text, str):
        sink(at, f"a regex is a string, got {json.dumps(text)[:80]}")
        return False
    try:
        regex.compile(text)
    except regex.error as exc:
        sink(at, f"invalid regex {text!r}: {exc}")
        return False
    return True


def _text(raw: Any, at: KeyPath, sink: Sink) -> str | None:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        sink(at, f"expected a string, got {json.dumps(raw)[:80]}")
        return None
    return str(raw)


def value_pattern(raw: Any, at: KeyPath, sink: Sink, *, body: bool = False) -> Any:
    """One WireMock value pattern (``{"equalTo": "x"}``...) → our matcher mapping, or None."""
    if not isinstance(raw, dict) or not raw:
        sink(at, 'a WireMock matcher is an object such as {"equalTo": "x"}')
        return None
    allowed = _STRING_OPERATORS + (_BODY_OPERATORS if body else ())
    operators = [key for key in raw if key in allowed]
    if len(operators) != 1:
        unknown = [key for key in raw if key not in allowed]
        where = (*at, unknown[0]) if unknown and not operators else at
        sink(
            where,
            f"not supported here: {', '.join(map(repr, raw))}; mockserver serves "
            f"{', '.join(allowed)} (one per matcher)",
        )
        return None
    op = operators[0]
    for key in raw:
        if key != op and key not in _OPTIONS.get(op, ()):
            sink((*at, key), f"{key!r} is not supported beside {op!r}")
            return None
    value, where = raw[op], (*at, op)
    if op in ("equalTo", "contains", "doesNotContain"):
        text = _text(value, where, sink)
        if text is None:
            return None
        ours: dict[str, Any] = {"equals" if op == "equalTo" else "contains": text}
        ci = raw.get("caseInsensitive", False)
        if not isinstance(ci, bool):
            sink((*at, "caseInsensitive"), "caseInsensitive is true or false")
            return None
        if ci:
            ours["case_insensitive"] = True
        return {"not": ours} if op == "doesNotContain" else ours
    if op in ("matches", "doesNotMatch"):
        if not _regex_ok(value, where, sink):
            return None
        ours = {"regex": _anchored(value)}
        return {"not": ours} if op == "doesNotMatch" else ours
    if op == "absent":
        if not isinstance(value, bool):
            sink(where, "absent is true or false")
            return None
        return {"absent": value}
    if op == "anything":
        return {"any_of": [{"absent": True}, {"absent": False}]}
    if op == "not":
        inner = value_pattern(value, where, sink, body=body)
        return None if inner is None else {"not": inner}
    if op in ("and", "or"):
        if not isinstance(value, list) or not value:
            sink(where, f"{op} takes a non-empty list of matchers")
            return None
        parts = [value_pattern(item, (*where, i), sink, body=body) for i, item in enumerate(value)]
        if any(part is None for part in parts):
            return None
        if op == "or":
            return {"any_of": parts}
        return {"not": {"any_of": [{"not": part} for part in parts]}}  # De Morgan: all hold
    return _body_pattern(op, raw, at, sink)


def _body_pattern(op: str, raw: dict[str, Any], at: KeyPath, sink: Sink) -> Any:
    value, where = raw[op], (*at, op)
    if op == "equalToJson":
        expected = value
        if isinstance(value, str):
            try:
                expected = json.loads(value)
            except ValueError as exc:
                sink(where, f"equalToJson is not JSON: {exc}")
                return None
        if "${json-unit." in json.dumps(expected):
            sink(where, "JsonUnit placeholders (${json-unit.*}) are not supported")
            return None
        flags = []
        for key in ("ignoreArrayOrder", "ignoreExtraElements"):
            if not isinstance(raw.get(key, False), bool):
                sink((*at, key), f"{key} is true or false")
                return None
            flags.append(raw.get(key, False))
        ignore_order, ignore_extra = flags
        if ignore_extra and not ignore_order and isinstance(expected, dict | list):
            return {"json_path": _in_place(expected)}
        if ignore_order and not ignore_extra:
            return {"json_any_order": expected}  # JsonUnit's IGNORING_ARRAY_ORDER: none more
        # Ours: json is exact (key order aside); json_subset lets the request carry more
        # fields and array elements, in any order.
        return {"json_subset": expected} if ignore_extra else {"json": expected}
    if op == "matchesJsonPath":
        return _with_expression(value, where, sink, "json_path", {})
    if op == "matchesXPath":
        namespaces = raw.get("xPathNamespaces", raw.get("namespaces", {}))
        if not isinstance(namespaces, dict):
            sink((*at, "xPathNamespaces"), "xPathNamespaces maps a prefix to a URI")
            return None
        return _with_expression(value, where, sink, "xpath", namespaces)
    from mockserver.formats.wiremock_xml import equal_to_xml  # equalToXml

    return equal_to_xml(value, where, sink)


def _in_place(expected: Any) -> dict[str, Any]:
    """``ignoreExtraElements`` alone (JsonUnit's extra fields and trailing array items ignored,
    order kept) as JSONPath checks: each value of ``expected`` at its place, each object and
    array there being one."""
    checks: dict[str, Any] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            checks[path] = {"regex": r"\A\{"}
            for key, item in value.items():
                walk(item, f"{path}[{json.dumps(key)}]")
        elif isinstance(value, list):
            checks[path] = {"regex": r"\A\["}
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")
        else:
            checks[path] = value

    walk(expected, "$")
    return checks


def _with_expression(
    value: Any, where: KeyPath, sink: Sink, ours: str, namespaces: dict[str, Any]
) -> Any:
    """``"$.a"`` (something is there) or ``{"expression": "$.a", "equalTo": "x"}``."""
    extra: dict[str, Any] = {"namespaces": namespaces} if namespaces else {}
    if isinstance(value, str):
        return {ours: {value: {"absent": False}, **extra}}
    if not isinstance(value, dict) or not isinstance(value.get("expression"), str):
        sink(where, 'give an expression, or {"expression": ..., "equalTo": ...}')
        return None
    rest = {k: v for k, v in value.items() if k != "expression"}
    sub = value_pattern(rest, where, sink, body=True)
    return None if sub is None else {ours: {value["expression"]: sub, **extra}}


def _named(raw: Any, at: KeyPath, sink: Sink) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        sink(at, "expected an object of name → matcher")
        return None
    found = {name: value_pattern(item, (*at, name), sink) for name, item in raw.items()}
    return None if any(v is None for v in found.values()) else found


def _literal_path(path: str) -> dict[str, str]:
    """An exact path: ours reads ``{name}`` in ``path:`` as a parameter, so braces go as regex."""
    path = unquote(path)
    if "{" in path or "}" in path:
        return {"path_regex": _anchored(re.escape(path))}
    return {"path": path}


def _url(spec: dict[str, Any], at: KeyPath, sink: Sink) -> dict[str, Any] | None:
    given = [key for key in _URL_KEYS if key in spec]
    if len(given) > 1:
        sink((*at, given[1]), f"give one of {', '.join(_URL_KEYS)} (found {', '.join(given)})")
        return None
    if not given:
        return {}  # WireMock's anyUrl
    key = given[0]
    value, where = spec[key], (*at, key)
    if not isinstance(value, str) or not value.startswith("/"):
        sink(where, f"{key} is a string starting with '/', got {json.dumps(value)[:80]}")
        return None
    if key == "urlPath":
        return _literal_path(value)
    if key == "urlPathTemplate":
        if "pathParameters" in spec:
            sink((*at, "pathParameters"), "pathParameters is not supported")
            return None
        return {"path": value}
    if key == "urlPathPattern":
        return {"path_regex": _anchored(value)} if _regex_ok(value, where, sink) else None
    if key == "urlPattern":
        # The path and the query string together, as WireMock's does: a regex that does not
        # allow for a query refuses a request that carries one.
        return {"url": {"regex": _anchored(value)}} if _regex_ok(value, where, sink) else None
    path, _, query = value.partition("?")
    out: dict[str, Any] = _literal_path(path)  # the path too: the index finds the stub by it
    if not query:
        out["url"] = {"equals": unquote(path)}
        return out
    # WireMock compares the text of the path and the query: no parameter more, none less, in
    # this order. The request's query is compared as the server reads it (yarl's decoding;
    # imported here, as the loader does not load aiohttp's parts for stub sets without one).
    from yarl import URL

    read = URL.build(path="/", query_string=query, encoded=True).query_string
    out["url"] = {"equals": f"{unquote(path)}?{read}"}
    pairs = parse_qsl(query, keep_blank_values=True)
    if len({name for name, _ in pairs}) == len(pairs):  # shown in reports, replayed by diff
        out["query"] = {name: {"equals": item} for name, item in pairs}
    return out


def translate_request(raw: Any, at: KeyPath, sink: Sink) -> dict[str, Any] | None:
    """A WireMock ``request`` → our ``request`` mapping, or None (problems in ``sink``)."""
    if not isinstance(raw, dict):
        sink(at, "request is an object")
        return None
    bad = False
    for key in raw:
        if key not in _REQUEST_KEYS and key != "pathParameters":
            served = ", ".join(_REQUEST_KEYS)
            sink((*at, key), f"{key!r} is not supported; mockserver serves {served}")
            bad = True
    out = _url(raw, at, sink)
    if out is None or bad:
        return None
    method = raw.get("method", "ANY")
    if not isinstance(method, str) or not method:
        sink((*at, "method"), "method is a string such as GET, or ANY")
        return None
    if method.upper() != "ANY":
        out["method"] = method.upper()
    for theirs, ours in (("headers", "headers"), ("cookies", "cookies")):
        if theirs in raw:
            named = _named(raw[theirs], (*at, theirs), sink)
            if named is None:
                return None
            out[ours] = named
    if "queryParameters" in raw:
        named = _named(raw["queryParameters"], (*at, "queryParameters"), sink)
        if named is None:
            return None
        out["query"] = {**out.get("query", {}), **named}
    auth = next((k for k in ("basicAuth", "basicAuthCredentials") if k in raw), None)
    if auth is not None:
        header = _basic_auth(raw[auth], (*at, auth), sink)
        if header is None:
            return None
        out.setdefault("headers", {})[AUTHORIZATION] = {"equals": header}
    body: list[Any] = []
    if "formParameters" in raw:
        form = _named(raw["formParameters"], (*at, "formParameters"), sink)
        if form is None:
            return None
        body.append({"form": form})
    patterns = raw.get("bodyPatterns", [])
    if not isinstance(patterns, list):
        sink((*at, "bodyPatterns"), "bodyPatterns is a list of matchers")
        return None
    for i, item in enumerate(patterns):
        translated = value_pattern(item, (*at, "bodyPatterns", i), sink, body=True)
        if translated is None:
            return None
        body.append(translated)
    if body:
        out["body"] = body
    return out


def _basic_auth(raw: Any, at: KeyPath, sink: Sink) -> str | None:
    import base64

    if not isinstance(raw, dict) or set(raw) != {"username", "password"}:
        sink(at, 'basic credentials are {"username": ..., "password": ...}')
        return None
    user, password = raw["username"], raw["password"]
    if not isinstance(user, str) or not isinstance(password, str):
        sink(at, "username and password are strings")
        return None
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
