"""The JSON matchers: ``json`` (equal as JSON), ``json_any_order`` (equal, arrays in any order),
``json_subset`` (the expected part is there) and ``json_path`` (``{"$.a.b": expected}``: some
value the path selects holds).

They read the value's JSON reading (a request body's is parsed once per request) and compare
with jsonmatch.py, whose walks stop at the request's match budget.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any, Final

from mockserver.core.budget import clock
from mockserver.core.errors import KeyPath
from mockserver.core.jsonmatch import (
    TOO_DEEP,
    budgeted,
    json_difference,
    json_equal,
    json_equal_any_order,
    plain,
    same_text,
    show_json,
)
from mockserver.core.patterns import (
    Pattern,
    Reading,
    Value,
    is_matcher_mapping,
    path_mapping,
    selected_reason,
)
from mockserver.core.request import NotJson

__all__ = ["JsonAnyOrder", "JsonEquals", "JsonPath", "JsonSubset", "PathCheck"]


@dataclass(frozen=True, slots=True)
class _JsonPattern(Pattern):
    """A JSON comparison of the value's JSON reading with ``expected``."""

    expected: Any

    def __hash__(self) -> int:
        # ``expected`` may be a mapping or a list: equal patterns share their type at least.
        return hash(type(self))

    @classmethod
    def read(cls, raw: Any, at: KeyPath, reading: Reading) -> Pattern | None:
        return cls(raw)

    def check(self, value: Value) -> str | None:
        actual = value.json()
        if isinstance(actual, NotJson):
            return actual.reason
        try:
            return self._compare(actual)
        except RecursionError:
            return None if same_text(self.expected, actual) else TOO_DEEP

    @abstractmethod
    def _compare(self, actual: Any) -> str | None: ...


class JsonEquals(_JsonPattern, name="json"):
    __slots__ = ()

    def _compare(self, actual: Any) -> str | None:
        if json_equal(self.expected, actual):
            return None
        return f"expected JSON {show_json(self.expected)}, got {show_json(actual)}"

    def describe(self) -> str:
        return f"json {show_json(self.expected)}"


class JsonAnyOrder(_JsonPattern, name="json_any_order"):
    """Equal as JSON, each array's elements in any order but all there, none more (WireMock's
    ``equalToJson`` with ``ignoreArrayOrder``)."""

    __slots__ = ()

    def _compare(self, actual: Any) -> str | None:
        if json_equal_any_order(self.expected, actual):
            return None
        expected = show_json(self.expected)
        return f"expected JSON {expected} (arrays in any order), got {show_json(actual)}"

    def describe(self) -> str:
        return f"json_any_order {show_json(self.expected)}"


class JsonSubset(_JsonPattern, name="json_subset"):
    __slots__ = ()

    def _compare(self, actual: Any) -> str | None:
        return json_difference(self.expected, actual)

    def describe(self) -> str:
        return f"json_subset {show_json(self.expected)}"


@dataclass(frozen=True, slots=True)
class PathCheck:
    """One ``path: expected`` of a json_path: a JSON literal, or a matcher (then ``literal``
    is the matcher mapping as written)."""

    text: str
    literal: Any
    matcher: Pattern | None
    compiled: Any = field(compare=False, repr=False)  # from text, which alone tells two apart

    def __hash__(self) -> int:
        return hash(self.text)


@dataclass(frozen=True, slots=True)
class JsonPath(Pattern, name="json_path"):
    """``{"$.a.b": expected}``: some value the path selects must equal or match ``expected``."""

    checks: tuple[PathCheck, ...]

    @classmethod
    def read(cls, raw: Any, at: KeyPath, reading: Reading) -> Pattern | None:
        import jsonpath  # loaded on first use: 30 ms that most stub sets never need

        usage = 'json_path takes a mapping of JSONPath to value, e.g. {"$.a.b": 1}'
        raw = path_mapping(raw, at, reading.out, usage)
        if raw is None:
            return None
        checks: list[PathCheck] = []
        for path_text, expected in raw.items():
            where = (*at, path_text)
            try:
                compiled = jsonpath.compile(str(path_text))
            except jsonpath.JSONPathError as exc:
                first_line = str(exc).splitlines()[0]
                reading.out.add(where, f"invalid JSONPath {path_text!r}: {first_line}")
                continue
            matcher = None
            if is_matcher_mapping(expected):
                matcher = reading.pattern(expected, where)
                if matcher is None:
                    continue
            checks.append(PathCheck(str(path_text), expected, matcher, compiled))
        if len(checks) != len(raw):
            return None
        return cls(tuple(checks))

    def check(self, value: Value) -> str | None:
        document = value.json()
        if isinstance(document, NotJson):
            return document.reason
        if len(value.text or "") > _WALKED_AS_IS:
            document = budgeted(document)  # JSONPath's own loops then tick the clock
        try:
            return self._check(document)
        except RecursionError:
            return TOO_DEEP

    def _check(self, document: Any) -> str | None:
        clk = clock()
        # python-jsonpath reads a str as JSON text: a body that is a JSON string goes in as its
        # JSON text, so '"["' is the string "[", not a broken document, and '"{}"' no object.
        source = json.dumps(document) if isinstance(document, str) else document
        for one in self.checks:
            text, literal, matcher = one.text, one.literal, one.matcher
            found = (plain(match.obj) for match in one.compiled.finditer(source))
            if matcher is not None:
                reason = selected_reason(text, matcher, (_as_text(item) for item in found))
                if reason is not None:
                    return reason
                continue
            first = _NOTHING
            for item in found:
                clk.tick()
                if json_equal(literal, item):
                    break
                first = item if first is _NOTHING else first
            else:
                if first is _NOTHING:
                    return f"{text} selects nothing (expected {show_json(literal)})"
                return f"{text}: expected {show_json(literal)}, got {show_json(first)}"
        return None

    def describe(self) -> str:
        parts = [
            f"{one.text} {one.matcher.describe() if one.matcher else show_json(one.literal)}"
            for one in self.checks
        ]
        return "json_path " + ", ".join(parts)


_NOTHING: Final = object()
# Bodies up to this many characters are walked by JSONPath as they are: for them the budget's
# views would cost more than the whole walk.
_WALKED_AS_IS: Final = 64 * 1024


def _as_text(item: Any) -> str:
    return item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)
