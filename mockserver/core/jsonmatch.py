"""JSON comparisons for the body matchers, each bounded by the request's match budget.

``json_equal`` and ``json_difference`` tick the request's clock (budget.py) once per value they
look at, and ``budgeted`` gives JSONPath a view of a document that ticks as the library walks
it: a 10 MB body against ``$..name`` or a ``json_subset`` list stops at the budget instead of
holding the event loop for tens of seconds (issue 13).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

from mockserver.core.budget import Clock, clock

__all__ = [
    "TOO_DEEP",
    "budgeted",
    "json_difference",
    "json_equal",
    "json_equal_any_order",
    "plain",
    "same_text",
    "show_json",
]

# A request body nested thousands deep must be a non-match with a reason, never a 500.
TOO_DEEP: Final = "the JSON is nested too deeply to compare"


def same_text(a: Any, b: Any) -> bool:
    """Equal as canonical JSON text: the C encoder reaches depths our recursion cannot."""
    try:
        return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    except (RecursionError, ValueError):
        return False


_SHOWN_JSON: Final = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


def show_json(value: Any, limit: int = 200) -> str:
    # Encoded lazily and only as far as is shown: a large body costs what its start costs.
    pieces: list[str] = []
    size = 0
    try:
        for piece in _SHOWN_JSON.iterencode(plain(value)):
            pieces.append(piece)
            size += len(piece)
            if size > limit:
                break
    except RecursionError:
        return "<nested too deeply to show>"
    shown = "".join(pieces)
    return shown if len(shown) <= limit else shown[:limit] + "..."


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: key order ignored, but true is not 1 and "1" is not 1."""
    return _equal(a, b, clock())


def _equal(a: Any, b: Any, clk: Clock) -> bool:
    clk.tick()
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k], clk) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y, clk) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def json_equal_any_order(a: Any, b: Any) -> bool:
    """JSON equality with every array read as a multiset: the same elements, as many of each,
    in any order (JsonUnit's IGNORING_ARRAY_ORDER); objects keep their exact keys."""
    return _equal_any_order(a, b, clock())


def _equal_any_order(a: Any, b: Any, clk: Clock) -> bool:
    clk.tick()
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return False
        # Greedy pairing is exact: equality in any order is an equivalence, so an element
        # equal to the first free match is equal to every other it could have taken.
        free = list(b)
        for item in a:
            at = next((i for i, x in enumerate(free) if _equal_any_order(item, x, clk)), None)
            if at is None:
                return False
            del free[at]
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal_any_order(a[k], b[k], clk) for k in a)
    return _equal(a, b, clk)


def _contains(expected: Any, actual: Any, clk: Clock) -> bool:
    """``actual`` contains ``expected`` as json_subset reads it (no reason built: this runs
    once per element of an array that may hold millions)."""
    clk.tick()
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and _contains(sub, actual[key], clk) for key, sub in expected.items()
        )
    if isinstance(expected, list):
        return isinstance(actual, list) and all(
            any(_contains(sub, item, clk) for item in actual) for sub in expected
        )
    return _equal(expected, actual, clk)


def json_difference(expected: Any, actual: Any, where: str = "$") -> str | None:
    """First place where ``actual`` does not contain ``expected`` (None when it does)."""
    clk = clock()
    clk.tick()
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{where}: expected an object, got {show_json(actual)}"
        for key, sub in expected.items():
            if key not in actual:
                return f"{where}.{key}: missing (expected {show_json(sub)})"
            diff = json_difference(sub, actual[key], f"{where}.{key}")
            if diff:
                return diff
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return f"{where}: expected an array, got {show_json(actual)}"
        # Each expected element must be contained in some element of the actual array,
        # in any order: "the request contains this", as users read json_subset.
        for i, sub in enumerate(expected):
            if not any(_contains(sub, item, clk) for item in actual):
                return (
                    f"{where}[{i}]: no element contains {show_json(sub)}, got {show_json(actual)}"
                )
        return None
    if _equal(expected, actual, clk):
        return None
    return f"{where}: expected {show_json(expected)}, got {show_json(actual)}"


# ---------------------------------------------------------------------------------------------
# A document JSONPath walks through Sequence and Mapping views (python-jsonpath's documented
# input): the library's own loops then tick the clock, with no change to the library.


class _ListView(Sequence[Any]):
    __slots__ = ("_clock", "items")

    def __init__(self, items: list[Any], clk: Clock) -> None:
        self.items = items
        self._clock = clk

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return _ListView(self.items[index], self._clock)
        return _view(self.items[index], self._clock)

    def __iter__(self) -> Iterator[Any]:
        clk = self._clock
        for item in self.items:
            clk.tick()
            yield _view(item, clk)

    def __eq__(self, other: object) -> bool:  # filters compare nodes with literals
        return bool(self.items == plain(other))

    __hash__ = None  # type: ignore[assignment]


class _DictView(Mapping[str, Any]):
    __slots__ = ("_clock", "items_")

    def __init__(self, items: dict[str, Any], clk: Clock) -> None:
        self.items_ = items
        self._clock = clk

    def __len__(self) -> int:
        return len(self.items_)

    def __getitem__(self, key: str) -> Any:
        return _view(self.items_[key], self._clock)

    def __iter__(self) -> Iterator[str]:
        clk = self._clock
        for key in self.items_:
            clk.tick()
            yield key

    def __eq__(self, other: object) -> bool:
        return bool(self.items_ == plain(other))

    __hash__ = None  # type: ignore[assignment]


def _view(value: Any, clk: Clock) -> Any:
    if isinstance(value, list):
        return _ListView(value, clk)
    if isinstance(value, dict):
        return _DictView(value, clk)
    return value


def budgeted(document: Any) -> Any:
    """``document`` as JSONPath should walk it under the current request's budget."""
    return _view(document, clock())


def plain(value: Any) -> Any:
    """The JSON value behind a view (a value that is none, itself)."""
    if isinstance(value, _ListView):
        return value.items
    if isinstance(value, _DictView):
        return value.items_
    return value
