"""A matcher's stub-file form → Pattern, through the registry of matcher names (patterns.py).

A bare scalar means ``equals``; a mapping names one matcher or more (all must hold), with
``case_insensitive: true`` beside a string matcher. Every problem is added to the sink with its
key path, and reading goes on after one, so a stub file shows all that is wrong at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Every module of matchers, imported so that each has registered its names before a
# stub file is read (MATCHER_NAMES lists them all once this module is imported).
from mockserver.core import (  # noqa: F401  (each registers its matchers)
    bodymatchers,
    jsonpatterns,
    recordmatchers,
    xpathmatcher,
)
from mockserver.core.errors import KeyPath, Problems
from mockserver.core.patterns import (
    MATCHER_NAMES,
    MODIFIERS,
    AllOf,
    Equals,
    Pattern,
    scalar_text,
)
from mockserver.core.shapes import type_name

__all__ = ["parse_pattern", "valid_matchers"]


class _Reading:
    """What a matcher class reads its value with (patterns.Reading)."""

    __slots__ = ("case_insensitive", "out")

    def __init__(self, out: Problems, case_insensitive: bool) -> None:
        self.out = out
        self.case_insensitive = case_insensitive

    def pattern(self, raw: Any, at: KeyPath) -> Pattern | None:
        return parse_pattern(raw, at, self.out)


def valid_matchers() -> str:
    return ", ".join([*sorted(MATCHER_NAMES), *sorted(MODIFIERS)])


def parse_pattern(raw: Any, at: KeyPath, out: Problems) -> Pattern | None:
    """Build a pattern from its stub-file form, adding located problems to ``out``.

    Returns None when ``raw`` is invalid (the reasons are in ``out``).
    """
    text = scalar_text(raw)
    if text is not None:
        return Equals(text)
    if not isinstance(raw, Mapping):
        out.add(
            at,
            f"expected a string or a matcher mapping ({valid_matchers()}), got {type_name(raw)}",
        )
        return None
    if not raw:
        out.add(at, f"empty matcher; use one of {valid_matchers()}")
        return None
    before = len(out)
    unknown = [k for k in raw if k not in MATCHER_NAMES and k not in MODIFIERS]
    for key in unknown:
        out.add((*at, key), f"unknown matcher {key!r}; valid: {valid_matchers()}")
    ci_raw = raw.get("case_insensitive", False)
    if not isinstance(ci_raw, bool):
        out.add((*at, "case_insensitive"), "case_insensitive takes true or false")
        ci_raw = False
    names = [k for k in raw if k in MATCHER_NAMES]
    if not names:
        if not unknown:
            out.add(at, f"case_insensitive needs a matcher beside it ({valid_matchers()})")
        return None
    if ci_raw and not any(MATCHER_NAMES[n].case_aware for n in names):
        out.add((*at, "case_insensitive"), "case_insensitive applies to equals, contains and regex")
    if unknown:
        return None
    reading = _Reading(out, ci_raw)
    built = [MATCHER_NAMES[name].read(raw[name], (*at, name), reading) for name in names]
    if len(out) != before:
        return None
    parts = tuple(p for p in built if p is not None)
    return parts[0] if len(parts) == 1 else AllOf(parts)
