"""Value matchers: small objects that say whether a value holds and, if not, why.

A pattern is built from the stub-file form through a registry keyed by matcher name
(``equals``, ``contains``, ``regex``, ``absent``, ``json``, ``json_subset``, ``json_path``,
``any_of``, ``not``; ``xpath``, ``form`` and ``multipart`` live in bodymatchers.py and register
themselves); ``case_insensitive: true`` sits beside a string matcher. A bare
scalar means ``equals``. Several matcher keys in one mapping must all hold.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Final

from mockserver.core.budget import (
    MATCH_BUDGET_S,
    REGEX_TIMEOUT_S,
    BudgetExceeded,
    clock,
    end_match_budget,
    regex_timeout,
    start_match_budget,
)
from mockserver.core.jsonmatch import (
    TOO_DEEP,
    budgeted,
    json_difference,
    json_equal,
    plain,
    same_text,
    show_json,
)
from mockserver.core.model import NotJson, RequestView

__all__ = [
    "MATCHER_NAMES",
    "MATCH_BUDGET_S",
    "REGEX_TIMEOUT_S",
    "AllOf",
    "Pattern",
    "Value",
    "end_match_budget",
    "json_equal",
    "parse_pattern",
    "path_mapping",
    "regex_timeout",
    "register_matcher",
    "start_match_budget",
]

KeyPath = tuple[str | int, ...]
ErrorSink = list[tuple[KeyPath, str]]


class Value:
    """What a pattern looks at: a text (None when absent) and, lazily, its JSON reading."""

    __slots__ = ("_json", "_request", "text")

    def __init__(self, text: str | None, *, request: RequestView | None = None) -> None:
        self.text = text
        self._request = request
        self._json: Any = _UNPARSED

    @classmethod
    def of_body(cls, request: RequestView) -> Value:
        """The request body; an empty body counts as absent. JSON is parsed once per request."""
        return cls(request.text if request.body else None, request=request)

    @property
    def request(self) -> RequestView | None:
        """The request whose body this is (None for a query, header or cookie value)."""
        return self._request

    @property
    def present(self) -> bool:
        return self.text is not None

    def json(self) -> Any:
        """The JSON reading, or an object with a ``reason`` when it is not JSON."""
        if self._request is not None:
            return self._request.json()
        if self._json is _UNPARSED:
            if self.text is None:
                self._json = _not_json("the value is absent")
            else:
                try:
                    self._json = json.loads(self.text)
                except (ValueError, RecursionError) as exc:
                    self._json = _not_json(f"not JSON ({exc})")
        return self._json


_UNPARSED: Final = object()


def _not_json(reason: str) -> NotJson:
    return NotJson(reason)


def is_not_json(value: Any) -> bool:
    return isinstance(value, NotJson)


def show(text: str | None, limit: int = 200) -> str:
    """A value as reports print it: quoted, shortened, or <absent>."""
    if text is None:
        return "<absent>"
    # Quote no more than can be shown: a 10 MiB value is not escaped whole to keep 200 bytes.
    shown = json.dumps(text[: limit + 1], ensure_ascii=False)
    return shown if len(shown) <= limit else shown[:limit] + '..."'


class Pattern(ABC):
    """A matcher. ``check`` returns None when the value holds, else a one-line reason."""

    name: ClassVar[str]

    @abstractmethod
    def check(self, value: Value) -> str | None: ...

    @abstractmethod
    def describe(self) -> str:
        """The expectation as a report prints it, e.g. ``regex ^[0-9]+$``."""


class _StringPattern(Pattern):
    __slots__ = ("case_insensitive", "expected")

    def __init__(self, expected: str, case_insensitive: bool = False) -> None:
        self.expected = expected
        self.case_insensitive = case_insensitive

    def _fold(self, text: str) -> str:
        return text.casefold() if self.case_insensitive else text

    def _suffix(self) -> str:
        return " (case-insensitive)" if self.case_insensitive else ""


class Equals(_StringPattern):
    name = "equals"

    def check(self, value: Value) -> str | None:
        if value.text is None:
            return f"expected {show(self.expected)}, but it is absent"
        if self._fold(value.text) == self._fold(self.expected):
            return None
        return f"expected {show(self.expected)}{self._suffix()}, got {show(value.text)}"

    def describe(self) -> str:
        return f"equals {show(self.expected)}{self._suffix()}"


class Contains(_StringPattern):
    name = "contains"

    def check(self, value: Value) -> str | None:
        if value.text is None:
            return f"expected it to contain {show(self.expected)}, but it is absent"
        if self._fold(self.expected) in self._fold(value.text):
            return None
        return f"{show(value.text)} does not contain {show(self.expected)}{self._suffix()}"

    def describe(self) -> str:
        return f"contains {show(self.expected)}{self._suffix()}"


class Regex(_StringPattern):
    name = "regex"
    __slots__ = ("compiled",)

    def __init__(self, expected: str, case_insensitive: bool = False) -> None:
        super().__init__(expected, case_insensitive)
        import regex  # on first use: 1.5 MB of memory that stub sets without a regex never need

        flags = regex.IGNORECASE if case_insensitive else 0
        # regex.error propagates to the parser, which reports it with the key path.
        self.compiled = regex.compile(expected, flags)

    def check(self, value: Value) -> str | None:
        if value.text is None:
            return f"expected a value matching regex {self.expected}, but it is absent"
        timeout = regex_timeout()
        if timeout <= 0:
            # Raised past any `not` around it: a check the budget cut short never holds.
            raise BudgetExceeded
        try:
            found = self.compiled.search(value.text, timeout=timeout)
        except TimeoutError:
            if timeout < REGEX_TIMEOUT_S:
                raise BudgetExceeded from None
            return (
                f"regex {self.expected} gave up after {REGEX_TIMEOUT_S * 1000:.0f} ms "
                "(catastrophic backtracking?) and counts as no match"
            )
        if found is not None:
            return None
        return f"{show(value.text)} does not match regex {self.expected}{self._suffix()}"

    def describe(self) -> str:
        return f"regex {self.expected}{self._suffix()}"


class Absent(Pattern):
    name = "absent"
    __slots__ = ("absent",)

    def __init__(self, absent: bool) -> None:
        self.absent = absent

    def check(self, value: Value) -> str | None:
        if value.present == (not self.absent):
            return None
        if self.absent:
            return f"expected it to be absent, got {show(value.text)}"
        return "expected it to be present, but it is absent"

    def describe(self) -> str:
        return "absent" if self.absent else "present"


class _JsonPattern(Pattern):
    """A JSON comparison of the value's JSON reading with ``expected``."""

    __slots__ = ("expected",)

    def __init__(self, expected: Any) -> None:
        self.expected = expected

    def check(self, value: Value) -> str | None:
        actual = value.json()
        if is_not_json(actual):
            return str(actual.reason)
        try:
            return self._compare(actual)
        except RecursionError:
            return None if same_text(self.expected, actual) else TOO_DEEP

    @abstractmethod
    def _compare(self, actual: Any) -> str | None: ...


class JsonEquals(_JsonPattern):
    name = "json"

    def _compare(self, actual: Any) -> str | None:
        if json_equal(self.expected, actual):
            return None
        return f"expected JSON {show_json(self.expected)}, got {show_json(actual)}"

    def describe(self) -> str:
        return f"json {show_json(self.expected)}"


class JsonSubset(_JsonPattern):
    name = "json_subset"

    def _compare(self, actual: Any) -> str | None:
        return json_difference(self.expected, actual)

    def describe(self) -> str:
        return f"json_subset {show_json(self.expected)}"


class JsonPath(Pattern):
    """``{"$.a.b": expected}``: some value the path selects must equal or match ``expected``."""

    name = "json_path"
    __slots__ = ("checks",)

    def __init__(self, checks: tuple[tuple[str, Any, Pattern | None], ...]) -> None:
        # (path text, compiled path, matcher or None for a JSON literal), literal in 'expected'.
        self.checks = checks

    def check(self, value: Value) -> str | None:
        document = value.json()
        if is_not_json(document):
            return str(document.reason)
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
        for text, (compiled, literal), matcher in self.checks:
            found = (plain(match.obj) for match in compiled.finditer(source))
            first = _NOTHING
            if matcher is None:
                for item in found:
                    clk.tick()
                    if json_equal(literal, item):
                        break
                    first = item if first is _NOTHING else first
                else:
                    if first is _NOTHING:
                        return f"{text} selects nothing (expected {show_json(literal)})"
                    return f"{text}: expected {show_json(literal)}, got {show_json(first)}"
                continue
            first_reason: str | None = None
            for item in found:
                clk.tick()
                reason = matcher.check(Value(_as_text(item)))
                if reason is None:
                    break
                first_reason = first_reason or reason
            else:
                if first_reason is None:  # the path selects nothing
                    reason = matcher.check(Value(None))
                    if reason:
                        return f"{text} selects nothing: {reason}"
                    continue
                return f"{text}: {first_reason}"
        return None

    def describe(self) -> str:
        parts = [
            f"{text} {matcher.describe() if matcher else show_json(literal)}"
            for text, (_, literal), matcher in self.checks
        ]
        return "json_path " + ", ".join(parts)


_NOTHING: Final = object()
# Bodies up to this many characters are walked by JSONPath as they are: for them the budget's
# views would cost more than the whole walk.
_WALKED_AS_IS: Final = 64 * 1024


def _as_text(item: Any) -> str:
    return item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)


class AnyOf(Pattern):
    name = "any_of"
    __slots__ = ("options",)

    def __init__(self, options: tuple[Pattern, ...]) -> None:
        self.options = options

    def check(self, value: Value) -> str | None:
        reasons = []
        for option in self.options:
            reason = option.check(value)
            if reason is None:
                return None
            reasons.append(reason)
        return "none of the alternatives holds: " + "; ".join(reasons)

    def describe(self) -> str:
        return "any_of [" + ", ".join(o.describe() for o in self.options) + "]"


class Not(Pattern):
    name = "not"
    __slots__ = ("inner",)

    def __init__(self, inner: Pattern) -> None:
        self.inner = inner

    def check(self, value: Value) -> str | None:
        if self.inner.check(value) is None:
            return f"expected not ({self.inner.describe()}), got {show(value.text)}"
        return None

    def describe(self) -> str:
        return f"not ({self.inner.describe()})"


class AllOf(Pattern):
    name = "all_of"
    __slots__ = ("parts",)

    def __init__(self, parts: tuple[Pattern, ...]) -> None:
        self.parts = parts

    def check(self, value: Value) -> str | None:
        for part in self.parts:
            reason = part.check(value)
            if reason is not None:
                return reason
        return None

    def describe(self) -> str:
        return " and ".join(p.describe() for p in self.parts)


# ---------------------------------------------------------------------------------------------
# Parsing the stub-file form through a registry.

Builder = Callable[[Any, KeyPath, ErrorSink, bool], Pattern | None]
_BUILDERS: dict[str, Builder] = {}


def _builder(name: str) -> Callable[[Builder], Builder]:
    """Register a matcher's builder under ``name`` (bodymatchers.py adds its own this way)."""

    def register(fn: Builder) -> Builder:
        _BUILDERS[name] = fn
        return fn

    return register


register_matcher: Final = _builder


def _scalar_text(raw: Any) -> str | None:
    """YAML reads `page: 1` as an int; a query or header value is text, so match its text."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str | int | float):
        return str(raw)
    return None


def _string_builder(cls: type[_StringPattern]) -> Builder:
    def build(raw: Any, at: KeyPath, errors: ErrorSink, ci: bool) -> Pattern | None:
        text = _scalar_text(raw)
        if text is None:
            errors.append((at, f"{cls.name} takes a string, got {_type_name(raw)}"))
            return None
        if cls is Regex:
            import regex

            try:
                return Regex(text, ci)
            except regex.error as exc:
                errors.append((at, f"invalid regex {text!r}: {exc}"))
                return None
        return cls(text, ci)

    return build


for _cls in (Equals, Contains, Regex):
    _builder(_cls.name)(_string_builder(_cls))


@_builder("absent")
def _build_absent(raw: Any, at: KeyPath, errors: ErrorSink, ci: bool) -> Pattern | None:
    if not isinstance(raw, bool):
        errors.append((at, f"absent takes true or false, got {_type_name(raw)}"))
        return None
    return Absent(raw)


@_builder("json")
def _build_json(raw: Any, at: KeyPath, errors: ErrorSink, ci: bool) -> Pattern | None:
    return JsonEquals(raw)


@_builder("json_subset")
def _build_json_subset(raw: Any, at: KeyPath, errors: ErrorSink, ci: bool) -> Pattern | None:
    return JsonSubset(raw)


def path_mapping(raw: Any, at: KeyPath, errors: ErrorSink, usage: str) -> dict[Any, Any] | None:
    """``{path: expected}`` for json_path and xpath, a bare path meaning "something is there";
    None, with ``usage`` as the problem, for anything else."""
    if isinstance(raw, str):
        return {raw: {"absent": False}}
    if not isinstance(raw, dict) or not raw:
        errors.append((at, usage))
        return None
    return raw


@_builder("json_path")
def _build_json_path(raw: Any, at: KeyPath, errors: ErrorSink, ci: bool) -> Pattern | None:
    import jsonpath  # loaded on first use: 30 ms that most stub sets never need

    raw = path_mapping(
        raw, at, errors, 'json_path takes a mapping of JSONPath to value, e.g. {"$.a.b": 1}'
    )
    if raw is None:
        return None
    checks: list[tuple[str, Any, Pattern | None]] = []
    for path_text, expected in raw.items():
        where = (*at, path_text)
        try:
            compiled = jsonpath.compile(str(path_text))
        except jsonpath.JSONPathError as exc:
            first_line = str(exc).splitlines()[0]
            errors.append((where, f"invalid JSONPath {path_text!r}: {first_line}"))
            continue
        matcher = None
        if _is_matcher_mapping(expected):
            matcher = parse_pattern(expected, where, errors)
            if matcher is None:
                continue
        checks.append((str(path_text), (compiled, expected), matcher))
    if len(checks) != len(raw):
        return None
    return JsonPath(tuple(checks))


@_builder("any_of")
def _build_any_of(raw: Any, at: KeyPath, errors: ErrorSink, ci: bool) -> Pattern | None:
    if not isinstance(raw, list) or not raw:
        errors.append((at, "any_of takes a non-empty list of matchers"))
        return None
    options = [parse_pattern(item, (*at, i), errors) for i, item in enumerate(raw)]
    if any(o is None for o in options):
        return None
    return AnyOf(tuple(o for o in options if o is not None))


@_builder("not")
def _build_not(raw: Any, at: KeyPath, errors: ErrorSink, ci: bool) -> Pattern | None:
    inner = parse_pattern(raw, at, errors)
    return Not(inner) if inner is not None else None


# A live view: matchers registered later (bodymatchers.py) are listed too.
MATCHER_NAMES: Final = MappingProxyType(_BUILDERS)
_MODIFIERS: Final = frozenset({"case_insensitive"})
_CASE_AWARE: Final = frozenset({"equals", "contains", "regex"})


def _is_matcher_mapping(raw: Any) -> bool:
    return (
        isinstance(raw, dict)
        and bool(raw)
        and all(key in _BUILDERS or key in _MODIFIERS for key in raw)
        and any(key in _BUILDERS for key in raw)
    )


def _type_name(raw: Any) -> str:
    if raw is None:
        return "null"
    return {dict: "a mapping", list: "a list", bool: "a boolean", str: "a string"}.get(
        type(raw), f"a {type(raw).__name__}"
    )


def valid_matchers() -> str:
    return ", ".join([*sorted(_BUILDERS), "case_insensitive"])


def parse_pattern(raw: Any, at: KeyPath, errors: ErrorSink) -> Pattern | None:
    """Build a pattern from its stub-file form, appending located problems to ``errors``.

    Returns None when ``raw`` is invalid (the reasons are in ``errors``).
    """
    text = _scalar_text(raw)
    if text is not None:
        return Equals(text)
    if not isinstance(raw, Mapping):
        errors.append(
            (
                at,
                f"expected a string or a matcher mapping ({valid_matchers()}), "
                f"got {_type_name(raw)}",
            )
        )
        return None
    if not raw:
        errors.append((at, f"empty matcher; use one of {valid_matchers()}"))
        return None
    before = len(errors)
    unknown = [k for k in raw if k not in _BUILDERS and k not in _MODIFIERS]
    for key in unknown:
        errors.append(((*at, key), f"unknown matcher {key!r}; valid: {valid_matchers()}"))
    ci_raw = raw.get("case_insensitive", False)
    if not isinstance(ci_raw, bool):
        errors.append(((*at, "case_insensitive"), "case_insensitive takes true or false"))
        ci_raw = False
    names = [k for k in raw if k in _BUILDERS]
    if not names:
        if not unknown:
            errors.append((at, f"case_insensitive needs a matcher beside it ({valid_matchers()})"))
        return None
    if ci_raw and not any(n in _CASE_AWARE for n in names):
        errors.append(
            ((*at, "case_insensitive"), "case_insensitive applies to equals, contains and regex")
        )
    if unknown:
        return None
    built = [_BUILDERS[name](raw[name], (*at, name), errors, ci_raw) for name in names]
    if len(errors) != before:
        return None
    parts = tuple(p for p in built if p is not None)
    return parts[0] if len(parts) == 1 else AllOf(parts)
