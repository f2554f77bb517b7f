"""Two matchers recordings write, so a replay answers only what the service was asked.

``values: [1, 2]`` holds when a query parameter (or header) has exactly these values, in any
order, each as often as listed: ``?x=1&x=2`` and ``?x=2&x=1`` match, ``?x=1&x=999`` and
``?x=1`` do not (every other matcher holds when any one value does). ``accepts_coding: br``
holds when an ``Accept-Encoding`` value lets that content coding through (RFC 9110 §12.5.3):
a body recorded in a coding the recorder could not decode is sent only to clients that can.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from mockserver.core.http import select_encoding
from mockserver.core.patterns import ErrorSink, KeyPath, Pattern, Value, register_matcher, show

__all__ = ["AcceptsCoding", "Values"]


class Values(Pattern):
    """Every value of a name, as a multiset (matching.values_reason hands them all over)."""

    name = "values"
    __slots__ = ("_counted", "expected")

    def __init__(self, expected: tuple[str, ...]) -> None:
        self.expected = expected
        self._counted = Counter(expected)

    def check(self, value: Value) -> str | None:
        return self.check_values([] if value.text is None else [value.text])

    def check_values(self, values: list[str]) -> str | None:
        if Counter(values) == self._counted:
            return None
        got = ", ".join(show(v) for v in values) or "<absent>"
        return f"expected exactly {self._shown()} (in any order), got {got}"

    def _shown(self) -> str:
        return ", ".join(show(v) for v in self.expected) or "<absent>"

    def describe(self) -> str:
        return f"values {self._shown()}"


class AcceptsCoding(Pattern):
    name = "accepts_coding"
    __slots__ = ("coding",)

    def __init__(self, coding: str) -> None:
        self.coding = coding

    def check(self, value: Value) -> str | None:
        if value.text is not None and select_encoding(value.text, (self.coding,)) == self.coding:
            return None
        return f"the answer is {self.coding}-coded; {show(value.text)} does not accept it"

    def describe(self) -> str:
        return f"accepts_coding {self.coding}"


@register_matcher("values")
def _build_values(raw: Any, at: KeyPath, errors: ErrorSink, ci: bool) -> Pattern | None:
    items = raw if isinstance(raw, list) else None
    if items is None or any(isinstance(v, bool | dict | list) or v is None for v in items):
        errors.append((at, "values takes a list of strings, e.g. values: ['1', '2']"))
        return None
    return Values(tuple(str(v) for v in items))


@register_matcher("accepts_coding")
def _build_accepts(raw: Any, at: KeyPath, errors: ErrorSink, ci: bool) -> Pattern | None:
    if not isinstance(raw, str) or not raw.strip():
        errors.append((at, "accepts_coding takes a content coding, e.g. accepts_coding: br"))
        return None
    return AcceptsCoding(raw.strip().lower())
