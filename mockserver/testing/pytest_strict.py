"""The pytest hooks of strict mode, and what the serving fixtures call to be watched.

A check after each fixture's setup and teardown and after each phase (strictness.py): setup
and teardown requests fail the test as errors naming the phase and fixture, the call's as a
failure. A request that arrives after its test ended fails the next test's setup, saying so.
Other mocking libraries let the real server's URLs through (passthrough.py). Errors a user
meets in wider-scoped fixtures (a ``<NAME>_URL`` read at session scope, ``mockserver`` asked
for from one) get a pointer to what works there.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mockserver.core.errors import MockServerError
from mockserver.output.logs import RequestLine
from mockserver.output.unmatched import unmatched_text
from mockserver.testing.handle import Backend, UnknownService, env_name
from mockserver.testing.outcomes import fail
from mockserver.testing.passthrough import default_mocks, intercepted, let_through
from mockserver.testing.strictness import Ended, Ledger, Watch, leftover_threads

__all__ = ["SCOPE_POINTER", "late_arrivals", "previous_test", "watch"]

_LEDGER = pytest.StashKey[Ledger]()
_RUNNING = pytest.StashKey[Ledger | None]()  # on the config: the ledger of the running test
_ENDED = pytest.StashKey[dict[int, Ended]]()  # on the config: per backend (id), its last test
_UNDO = pytest.StashKey[list[Callable[[], None]]]()

# Fixtures that set <NAME>_URL for a test: the wider-scoped fixtures cannot ask for them.
_PER_TEST = ("mockserver", "mock_requests", "mock_aiohttp", "mock_httpx", "mockserver_container")

SCOPE_POINTER = (
    "mockserver: <NAME>_URL and the mockserver fixture are per test (the server is reset "
    "before each one). In a session- or module-scoped fixture, take URLs from the "
    "session-scoped mockserver_urls fixture (a dict: service name -> URL); declare stubs for a "
    "module or class with pytestmark = pytest.mark.mockserver(stubs=[{...}])"
)


class _InTheReport(logging.Filter):
    """Drops the server's log line of an unmatched request: the test's mockserver report
    shows each one (a failing test's report even when it is not strict), grouped; the log
    would repeat them one by one (100 retries: 600 more lines)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        line = args[0] if isinstance(args, tuple) and args else None
        return not (isinstance(line, RequestLine) and line.report is not None)


# Only while a test has a serving fixture: a test of mockserver's own log is not touched.
_FILTER = _InTheReport()


def _ledger(item: pytest.Item) -> Ledger:
    ledger = item.stash.get(_LEDGER, None)
    if ledger is None:
        ledger = item.stash[_LEDGER] = Ledger()
    return ledger


def watch(request: pytest.FixtureRequest, new: Watch) -> bool:
    """Watch a serving fixture for this test; True when its URLs go in the environment.

    A real server's URLs win over a socket-free double's, whatever the fixtures' order, and
    go through the double's mock; two real servers in one test are refused.
    """
    ledger = _ledger(request.node)
    if new.mock is not None:
        ledger.mocks.append(new.mock)
    if ledger.watching(new.backend) is not None:  # mock_requests and mock_aiohttp: one double
        _let_real_through(request.node, ledger, ledger.mocks)
        return not any(w.real for w in ledger.watches)
    for other in ledger.watches:
        if other.real and new.real:
            pattern = request.config.getini("mockserver_env_pattern")
            name = env_name(pattern, next(iter(new.handle.urls), "{NAME}"))
            fail(
                f"mockserver: {other.fixture} and {new.fixture} both set {name}, each to a "
                "server of its own: ask for one of them in a test"
            )
    if not ledger.watches:
        logging.getLogger("mockserver").addFilter(_FILTER)
    ledger.watches.append(new)
    new.handle.before_reset.append(lambda: ledger.keep_before_reset(new))
    _let_real_through(request.node, ledger, ledger.mocks)
    return new.real or not any(w.real for w in ledger.watches)


def _real_urls(ledger: Ledger) -> set[str]:
    return {u for w in ledger.watches if w.real for u in (w.handle.url, *w.handle.urls.values())}


def _let_real_through(item: pytest.Item, ledger: Ledger, mocks: list[Any]) -> None:
    urls = _real_urls(ledger)
    if not urls:
        return
    undo = item.stash.setdefault(_UNDO, [])
    for mock in mocks:
        if id(mock) in ledger.let_through:
            continue
        ledger.let_through.add(id(mock))
        taken_back = let_through(mock, urls)
        if taken_back is not None:
            undo.append(taken_back)


def previous_test(config: pytest.Config, backend: Backend) -> Ended | None:
    """The test that used ``backend`` last, if its end has not been checked yet."""
    return config.stash.setdefault(_ENDED, {}).pop(id(backend), None)


def late_arrivals(backend: Backend, ended: Ended | None, before: str) -> str | None:
    """The failure for unmatched requests that arrived after ``ended``'s test, before
    ``before`` ("this test began"); None when there were none (or it was not strict)."""
    if ended is None or not ended.strict:
        return None
    late = backend.unmatched_count() - ended.unmatched
    if late <= 0:
        return None
    why = "a thread or task that test started outlived it"
    if ended.threads:
        why += f"; {ended.running()} when it ended"
    where = f" after {ended.nodeid} ended, before {before} ({why})"
    return unmatched_text(backend.unmatched()[-late:], count=late, where=where)


def _finish(item: pytest.Item, phase: str, *, failed: bool) -> None:
    ledger = item.stash.get(_LEDGER, None)
    if ledger is None:
        return
    try:
        ledger.note()
    except (OSError, MockServerError):  # a remote server gone with the session: nothing to ask
        return
    if failed:
        text = ledger.report(phase, strict_only=False)
        if text:
            item.add_report_section(phase, "mockserver", text)
        return
    text = ledger.report(phase, strict_only=True)
    if text:
        fail(text)


def _point(item: pytest.Item, exc: BaseException) -> None:
    """A ScopeMismatch over a per-test fixture fails with the pointer instead; a KeyError of a
    service URL in a fixture gets a note with it."""
    message = str(getattr(exc, "msg", ""))
    mismatch = isinstance(exc, pytest.fail.Exception) and message.startswith("ScopeMismatch")
    if mismatch and any(f"fixture {name} with" in message for name in _PER_TEST):
        fail(f"{message}\n\n{SCOPE_POINTER}")
    if isinstance(exc, KeyError) and exc.args and isinstance(exc.args[0], str):
        pattern = item.config.getini("mockserver_env_pattern")
        shape = re.escape(pattern).replace(re.escape("{NAME}"), "[A-Z0-9_]+")
        if re.fullmatch(shape, exc.args[0]) and SCOPE_POINTER not in getattr(exc, "__notes__", []):
            exc.add_note(SCOPE_POINTER)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    ledger = _ledger(item)
    ledger.phase = "setup"
    item.config.stash[_RUNNING] = ledger
    try:
        yield
    except BaseException as exc:
        _finish(item, "setup", failed=True)
        _point(item, exc)
        raise
    _finish(item, "setup", failed=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail a passing test whose code made requests that matched no stub (strict mode)."""
    ledger = _ledger(item)
    ledger.phase = "call"
    funcargs = getattr(item, "funcargs", {})
    _let_real_through(item, ledger, [*funcargs.values(), *default_mocks()])
    try:
        yield
    except UnknownService as exc:  # a stubs/ not found: the message says where we looked
        fail(f"mockserver: {exc}")
    except BaseException as exc:
        _finish(item, "call", failed=True)
        line = intercepted(exc, _real_urls(ledger)) if ledger.watches else None
        if line is not None:
            fail(line)
        raise
    finally:
        for undo in item.stash.get(_UNDO, []):
            undo()
        item.stash[_UNDO] = []
    _finish(item, "call", failed=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    ledger = _ledger(item)
    ledger.phase = "teardown"
    try:
        yield
    except BaseException:
        _finish(item, "teardown", failed=True)
        raise
    finally:
        item.config.stash[_RUNNING] = None
        _end(item, ledger)
        if ledger.watches:
            logging.getLogger("mockserver").removeFilter(_FILTER)
    _finish(item, "teardown", failed=False)


def _end(item: pytest.Item, ledger: Ledger) -> None:
    """Mark each real server with this test's end, for what arrives after it."""
    ended = item.config.stash.setdefault(_ENDED, {})
    for w in ledger.watches:
        if not w.real:
            continue
        try:
            ledger.note()  # this test's last requests are its own, not late ones
            count = w.backend.unmatched_count()
        except (OSError, MockServerError):
            continue
        ended[id(w.backend)] = Ended(item.nodeid, count, w.strict, leftover_threads(w.threads))


def _note_fixture(request: pytest.FixtureRequest, name: str) -> None:
    ledger = request.config.stash.get(_RUNNING, None)
    if ledger is not None and ledger.watches:
        ledger.note(name, cheap_only=True)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Any:
    try:
        return (yield)
    finally:
        _note_fixture(request, fixturedef.argname)


def pytest_fixture_post_finalizer(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> None:
    _note_fixture(request, fixturedef.argname)
