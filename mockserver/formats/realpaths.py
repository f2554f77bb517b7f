"""Paths resolved (links followed) as ``Path.resolve`` does, remembered for one load.

A load resolves the same directories again and again: every stub file, its WireMock root, the
stubs root and every body file, each one ``lstat`` per component. A WireMock root of 1,000
mappings and 1,000 ``__files/`` bodies resolved 13,000 paths (half of its 1 s load). Inside
``remembering()`` a path's resolution is its directory's, remembered, and its own name (one
``lstat`` to see it is no link); outside it (the admin API's body files, between loads),
every call resolves afresh, so a link changed after a load is seen.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Final

__all__ = ["remembering", "resolved"]

_MEMO: ContextVar[dict[Path, Path] | None] = ContextVar("mockserver_resolved", default=None)
# Bounded: a load of many thousands of files keeps only so many directories and files.
_KEPT: Final = 100_000


@contextmanager
def remembering() -> Iterator[None]:
    """Resolutions made inside are remembered until it ends (one load)."""
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def resolved(path: Path) -> Path:
    """``path.resolve()``: the same path, or the same error."""
    memo = _MEMO.get()
    if memo is None:
        return path.resolve()
    found = memo.get(path)
    if found is not None:
        return found
    parent = path.parent
    if not path.is_absolute():
        found = resolved(Path.cwd() / path)  # as resolve reads it
    elif parent == path or path.name in ("", ".", ".."):
        found = path.resolve()  # the root; a ".." (it applies to what a link names)
    else:
        base = resolved(parent)
        try:
            mode = os.lstat(base / path.name).st_mode
        except OSError:
            mode = None
        # A link, or a name that is not there (resolve then keeps what follows as written):
        # Path.resolve's own answer.
        found = path.resolve() if mode is None or stat.S_ISLNK(mode) else base / path.name
    if len(memo) < _KEPT:
        memo[path] = found
    return found
