"""The one way the plugin fails a test or a fixture: the message alone, in a user's words.

No traceback and no chained exception: every message names the problem and the fix, and the
plugin's own frames would only hide it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import pytest

__all__ = ["fail", "failing"]


def fail(text: str) -> NoReturn:
    """Fail the test, or the fixture being set up, with ``text`` alone."""
    raise pytest.fail.Exception(text, pytrace=False) from None


@contextmanager
def failing(prefix: str, *errors: type[Exception]) -> Iterator[None]:
    """Any of ``errors`` raised inside fails with ``prefix`` and its message."""
    try:
        yield
    except errors as exc:
        fail(f"{prefix}{exc}")
