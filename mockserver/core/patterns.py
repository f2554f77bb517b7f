"""Value matchers: small frozen objects that say whether a value holds and, if not, why.

Each matcher class registers itself under the name the stub files use, by subclassing
``Pattern`` with that name (``class Equals(_StringPattern, name="equals")``), and reads its own
stub-file value (``read``); patternspec.py parses a matcher mapping through the registry. The
string matchers, ``absent``, ``any_of`` and ``not`` live here; the JSON ones in jsonpatterns.py,
``xpath`` in xpathmatcher.py, ``form``, ``multipart`` and ``sha256`` in bodymatchers.py.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Final, Protocol

from mockserver.core.budget import REGEX_TIMEOUT_S, BudgetExceeded, clock, regex_timeout
from mockserver.core.errors import KeyPath, Problems
from mockserver.core.request import NotJson, RequestView
from mockserver.core.shapes import type_name

__all__ = [
    "MATCHER_NAMES",
    "MODIFIERS",
    "AllOf",
    "AnyOf",
    "Contains",
    "Equals",
    "Not",
    "Pattern",
    "Reading",
    "Regex",
    "Value",
    "is_matcher_mapping",
    "path_mapping",
    "scalar_text",
    "selected_reason",
    "show",
]


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
        """The JSON reading, or a NotJson with a ``reason`` when it is not JSON."""
        if self._request is not None:
            return self._request.json()
        if self._json is _UNPARSED:
            if self.text is None:
                self._json = NotJson("the value is absent")
            else:
                try:
                    self._json = json.loads(self.text)
                except (ValueError, RecursionError) as exc:
                    self._json = NotJson(f"not JSON ({exc})")
        return self._json


_UNPARSED: Final = object()


def show(text: str | None, limit: int = 200) -> str:
    """A value as reports print it: quoted, shortened, or <absent>."""
    if text is None:
        return "<absent>"
    # Quote no more than can be shown: a 10 MiB value is not escaped whole to keep 200 bytes.
    shown = json.dumps(text[: limit + 1], ensure_ascii=False)
    return shown if len(shown) <= limit else shown[:limit] + '..."'


class Reading(Protocol):
    """What a matcher class reads its stub-file value with (patternspec.py provides it)."""

    @property
    def out(self) -> Problems:
        """Where the problems go, each with its key path."""

    @property
    def case_insensitive(self) -> bool:
        """``case_insensitive: true`` sits beside the matcher."""

    def pattern(self, raw: Any, at: KeyPath) -> Pattern | None:
        """A nested matcher (an ``any_of`` option, the inside of ``not``), or None when invalid."""


_REGISTRY: dict[str, type[Pattern]] = {}
# Every matcher by its stub-file name, as classes register (a live view).
MATCHER_NAMES: Final[Mapping[str, type[Pattern]]] = MappingProxyType(_REGISTRY)
# Keys beside a matcher that change how it matches rather than naming one.
MODIFIERS: Final = frozenset({"case_insensitive"})


class Pattern(ABC):
    """A matcher. ``check`` returns None when the value holds, else a one-line reason.

    A subclass given a name (``class Regex(Pattern, name="regex")``) is the matcher of that
    name in stub files; one without (``AllOf``, a base class) is not registered.
    """

    __slots__ = ()
    name: ClassVar[str] = ""
    # ``case_insensitive: true`` may sit beside it (the string matchers).
    case_aware: ClassVar[bool] = False

    def __init_subclass__(cls, /, name: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # @dataclass(slots=True) builds the class again, without the class keyword: the
        # name set on the first build is in the class's own namespace then.
        name = name or cls.__dict__.get("name", "")
        if not name:
            return
        known = _REGISTRY.get(name)
        if known is not None and _origin(known) != _origin(cls):
            raise TypeError(f"matcher name {name!r} is taken by {known.__qualname__}")
        if cls.read.__func__ is Pattern.read.__func__:  # type: ignore[attr-defined]
            raise TypeError(f"matcher {name!r} ({cls.__name__}) does not say how it is read")
        cls.name = name
        _REGISTRY[name] = cls

    @abstractmethod
    def check(self, value: Value) -> str | None: ...

    @abstractmethod
    def describe(self) -> str:
        """The expectation as a report prints it, e.g. ``regex ^[0-9]+$``."""

    @classmethod
    def read(cls, raw: Any, at: KeyPath, reading: Reading) -> Pattern | None:
        """This matcher from its stub-file value ``raw`` (at key path ``at``); None, with the
        problems added to ``reading.out``, when ``raw`` is not valid for it."""
        raise NotImplementedError(f"{cls.__qualname__} is not read from stub files")


def _origin(cls: type) -> tuple[str, str]:
    return cls.__module__, cls.__qualname__


def selected_reason(path: str, matcher: Pattern, selected: Iterable[str]) -> str | None:
    """None when one of the values a path (JSONPath, XPath) selects holds ``matcher`` — or,
    when it selects nothing, when absence does; else why not, naming the path. Each value
    looked at ticks the request's budget."""
    clk = clock()
    first: str | None = None
    for value in selected:
        clk.tick()
        reason = matcher.check(Value(value))
        if reason is None:
            return None
        first = first or reason
    if first is not None:
        return f"{path}: {first}"
    reason = matcher.check(Value(None))
    return f"{path} selects nothing: {reason}" if reason else None


def scalar_text(raw: Any) -> str | None:
    """YAML reads `page: 1` as an int; a query or header value is text, so match its text."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str | int | float):
        return str(raw)
    return None


def is_matcher_mapping(raw: Any) -> bool:
    """``raw`` is a matcher mapping (``{regex: ...}``) rather than a JSON literal."""
    return (
        isinstance(raw, dict)
        and bool(raw)
        and all(key in _REGISTRY or key in MODIFIERS for key in raw)
        and any(key in _REGISTRY for key in raw)
    )


def path_mapping(raw: Any, at: KeyPath, out: Problems, usage: str) -> dict[Any, Any] | None:
    """``{path: expected}`` for json_path and xpath, a bare path meaning "something is there";
    None, with ``usage`` as the problem, for anything else."""
    if isinstance(raw, str):
        return {raw: {"absent": False}}
    if not isinstance(raw, dict) or not raw:
        out.add(at, usage)
        return None
    return raw


@dataclass(frozen=True, slots=True)
class _StringPattern(Pattern):
    case_aware: ClassVar[bool] = True
    expected: str
    case_insensitive: bool = False

    def _fold(self, text: str) -> str:
        return text.casefold() if self.case_insensitive else text

    def _suffix(self) -> str:
        return " (case-insensitive)" if self.case_insensitive else ""

    @classmethod
    def read(cls, raw: Any, at: KeyPath, reading: Reading) -> Pattern | None:
        text = scalar_text(raw)
        if text is None:
            reading.out.add(at, f"{cls.name} takes a string, got {type_name(raw)}")
            return None
        try:
            return cls(text, reading.case_insensitive)
        except ValueError as exc:  # an invalid regex
            reading.out.add(at, str(exc))
            return None


@dataclass(frozen=True, slots=True)
class Equals(_StringPattern, name="equals"):
    def check(self, value: Value) -> str | None:
        if value.text is None:
            return f"expected {show(self.expected)}, but it is absent"
        if self._fold(value.text) == self._fold(self.expected):
            return None
        return f"expected {show(self.expected)}{self._suffix()}, got {show(value.text)}"

    def describe(self) -> str:
        return f"equals {show(self.expected)}{self._suffix()}"


@dataclass(frozen=True, slots=True)
class Contains(_StringPattern, name="contains"):
    def check(self, value: Value) -> str | None:
        if value.text is None:
            return f"expected it to contain {show(self.expected)}, but it is absent"
        if self._fold(self.expected) in self._fold(value.text):
            return None
        return f"{show(value.text)} does not contain {show(self.expected)}{self._suffix()}"

    def describe(self) -> str:
        return f"contains {show(self.expected)}{self._suffix()}"


@dataclass(frozen=True, slots=True)
class Regex(_StringPattern, name="regex"):
    # Compiled from expected and case_insensitive, which alone make two regexes equal.
    compiled: Any = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        import regex  # on first use: 1.5 MB of memory that stub sets without a regex never need

        flags = regex.IGNORECASE if self.case_insensitive else 0
        try:
            compiled = regex.compile(self.expected, flags)
        except regex.error as exc:
            raise ValueError(f"invalid regex {self.expected!r}: {exc}") from None
        object.__setattr__(self, "compiled", compiled)

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


@dataclass(frozen=True, slots=True)
class Absent(Pattern, name="absent"):
    absent: bool

    @classmethod
    def read(cls, raw: Any, at: KeyPath, reading: Reading) -> Pattern | None:
        if not isinstance(raw, bool):
            reading.out.add(at, f"absent takes true or false, got {type_name(raw)}")
            return None
        return cls(raw)

    def check(self, value: Value) -> str | None:
        if value.present == (not self.absent):
            return None
        if self.absent:
            return f"expected it to be absent, got {show(value.text)}"
        return "expected it to be present, but it is absent"

    def describe(self) -> str:
        return "absent" if self.absent else "present"


@dataclass(frozen=True, slots=True)
class AnyOf(Pattern, name="any_of"):
    options: tuple[Pattern, ...]

    @classmethod
    def read(cls, raw: Any, at: KeyPath, reading: Reading) -> Pattern | None:
        if not isinstance(raw, list) or not raw:
            reading.out.add(at, "any_of takes a non-empty list of matchers")
            return None
        options = [reading.pattern(item, (*at, i)) for i, item in enumerate(raw)]
        if any(o is None for o in options):
            return None
        return cls(tuple(o for o in options if o is not None))

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


@dataclass(frozen=True, slots=True)
class Not(Pattern, name="not"):
    inner: Pattern

    @classmethod
    def read(cls, raw: Any, at: KeyPath, reading: Reading) -> Pattern | None:
        inner = reading.pattern(raw, at)
        return cls(inner) if inner is not None else None

    def check(self, value: Value) -> str | None:
        if self.inner.check(value) is None:
            return f"expected not ({self.inner.describe()}), got {show(value.text)}"
        return None

    def describe(self) -> str:
        return f"not ({self.inner.describe()})"


@dataclass(frozen=True, slots=True)
class AllOf(Pattern):
    """Several matcher keys in one mapping: each must hold (not a stub-file name of its own)."""

    parts: tuple[Pattern, ...]

    def check(self, value: Value) -> str | None:
        for part in self.parts:
            reason = part.check(value)
            if reason is not None:
                return reason
        return None

    def describe(self) -> str:
        return " and ".join(p.describe() for p in self.parts)
