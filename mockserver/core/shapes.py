"""What every reader of the stub-file form shares: the checks of a value's shape (a mapping,
known keys, a whole number in range), the type names its messages use, and the table of shared
values it interns into.

A leaf: it imports nothing of mockserver's but the problem sink (errors.py), so the model, the
paths, the patterns and the spec readers all build on it without importing one another.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any, Final, TypeVar

from mockserver.core.errors import KeyPath, Problems

__all__ = ["check_keys", "expect_int", "expect_mapping", "forget_shared", "shared", "type_name"]

H = TypeVar("H", bound=Hashable)
_SHARED: dict[Any, Any] = {}
_SHARED_MAX: Final = 65_536


def shared(value: H) -> H:
    """One object for equal immutable values from stub files (method sets, path segments,
    delays): 10,000 stubs of ``method: GET`` then hold one frozenset, not 10,000. Bounded,
    so stubs posted at runtime cannot grow it without limit."""
    found = _SHARED.get(value)
    if found is not None:
        return found  # type: ignore[no-any-return]
    if len(_SHARED) < _SHARED_MAX:
        _SHARED[value] = value
    return value


def forget_shared() -> None:
    """Start the table of shared values afresh (each full load does): values the previous
    stub set held stay valid, they are only no longer handed out."""
    _SHARED.clear()


_TYPE_NAMES: Final[Mapping[type, str]] = {
    dict: "a mapping",
    list: "a list",
    bool: "a boolean",
    str: "a string",
    int: "a number",
}


def type_name(raw: Any) -> str:
    """How a message names the type of a value read from YAML or JSON: ``a mapping``,
    ``a number``, ``null``."""
    if raw is None:
        return "null"
    return _TYPE_NAMES.get(type(raw), f"a {type(raw).__name__}")


def check_keys(
    raw: Mapping[Any, Any], allowed: tuple[str, ...], at: KeyPath, out: Problems
) -> None:
    for key in raw:
        if key not in allowed:
            hint = _did_you_mean(str(key), allowed)
            out.add((*at, key), f"unknown key {key!r}{hint}; valid keys: {', '.join(allowed)}")


def _did_you_mean(key: str, allowed: tuple[str, ...]) -> str:
    from difflib import get_close_matches

    close = get_close_matches(key, allowed, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def expect_mapping(raw: Any, at: KeyPath, out: Problems, what: str) -> dict[Any, Any] | None:
    if isinstance(raw, dict):
        return raw
    out.add(at, f"{what} must be a mapping, got {type_name(raw)}")
    return None


def expect_int(raw: Any, at: KeyPath, out: Problems, lo: int, hi: int) -> int | None:
    if isinstance(raw, bool) or not isinstance(raw, int):
        out.add(at, f"expected a whole number from {lo} to {hi}, got {type_name(raw)} {raw!r}")
        return None
    if not lo <= raw <= hi:
        out.add(at, f"expected a whole number from {lo} to {hi}, got {raw}")
        return None
    return raw
