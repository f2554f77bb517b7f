"""Two matchers recordings write, so a replay answers only what the service was asked.

``values: [1, 2]`` holds when a query parameter (or header) has exactly these values, in any
order, each as often as listed: ``?x=1&x=2`` and ``?x=2&x=1`` match, ``?x=1&x=999`` and
``?x=1`` do not (every other matcher holds when any one value does). ``accepts_coding: br``
holds when an ``Accept-Encoding`` value lets that content coding through (RFC 9110 §12.5.3):
a body recorded in a coding the recorder could not decode is sent only to clients that can.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from mockserver.core.errors import KeyPath
from mockserver.core.http import select_encoding
from mockserver.core.patterns import Pattern, Reading, Value, show

__all__ = ["AcceptsCoding", "Values"]


@dataclass(frozen=True, slots=True)
class Values(Pattern, name="values"):
    """Every value of a name, as a multiset (matching.values_reason hands them all over)."""

    expected: tuple[str, ...]

    @classmethod
    def read(cls, raw: Any, at: KeyPath, reading: Reading) -> Pattern | None:
        items = raw if isinstance(raw, list) else None
        if items is None or any(isinstance(v, bool | dict | list) or v is None for v in items):
            reading.out.add(at, "values takes a list of strings, e.g. values: ['1', '2']")
            return None
        return cls(tuple(str(v) for v in items))

    def check(self, value: Value) -> str | None:
        return self.check_values([] if value.text is None else [value.text])

    def check_values(self, values: list[str]) -> str | None:
        if Counter(values) == Counter(self.expected):
            return None
        got = ", ".join(show(v) for v in values) or "<absent>"
        return f"expected exactly {self._shown()} (in any order), got {got}"

    def _shown(self) -> str:
        return ", ".join(show(v) for v in self.expected) or "<absent>"

    def describe(self) -> str:
        return f"values {self._shown()}"


@dataclass(frozen=True, slots=True)
class AcceptsCoding(Pattern, name="accepts_coding"):
    """An ``Accept-Encoding`` that lets ``coding`` through (RFC 9110 §12.5.3)."""

    coding: str

    @classmethod
    def read(cls, raw: Any, at: KeyPath, reading: Reading) -> Pattern | None:
        if not isinstance(raw, str) or not raw.strip():
            reading.out.add(at, "accepts_coding takes a content coding, e.g. accepts_coding: br")
            return None
        return cls(raw.strip().lower())

    def check(self, value: Value) -> str | None:
        if value.text is not None and select_encoding(value.text, (self.coding,)) == self.coding:
            return None
        return f"the answer is {self.coding}-coded; {show(value.text)} does not accept it"

    def describe(self) -> str:
        return f"accepts_coding {self.coding}"
