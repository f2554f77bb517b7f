"""The pytest11 entry point: checks the installed package is ours, then loads the fixtures.

mockserver-client ships a ``mockserver/pytest_plugin.py`` and a pytest11 entry point of its
own named ``mockserver``; ours has another name and names this module, which they do not ship,
so it loads and says what is wrong (ownership.py) before anything imports their plugin or ours.
"""

from __future__ import annotations

import pytest

from .ownership import problem

_PROBLEM = problem()
if _PROBLEM is not None:
    raise pytest.UsageError(_PROBLEM)

pytest_plugins = [
    "mockserver.pytest_plugin",
    "mockserver.testing.pytest_strict",
    "mockserver.testing.pytest_record",
]
