"""One error model: every exception derives from MockServerError; every error answer is an
HttpProblem, written byte for byte as the answers were before there was one."""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from aiohttp import web

import mockserver
from mockserver.cli.converters import BadValue
from mockserver.core.errors import HttpProblem, MockServerError, ProblemError
from mockserver.core.model import ResourceSpec
from mockserver.core.namespaces import NamespaceError
from mockserver.core.render import choose
from mockserver.core.request import RequestView
from mockserver.core.resources import ResourceState
from mockserver.core.store import DuplicateStubError
from mockserver.formats.har import HarError
from mockserver.formats.loader import load_paths
from mockserver.server.admin import AdminRefusal
from mockserver.server.bodies import BodyError
from mockserver.server.limits import ReceiptTimeout
from mockserver.server.problems import problem_response
from mockserver.stubfiles.stubfile import parse_service
from mockserver.testing.client import AdminError
from mockserver.testing.handle import UnknownService
from mockserver.testing.offline import OfflineDouble

from .builders import write

# Ways out of the process, not errors: a SystemExit that `except Exception` must not catch.
EXITS = {"mockserver.cli.main.Terminated"}
STUBS = "stubs:\n  - request: {method: GET, path: /}\n    response: {body: x}\n"


def package_exceptions() -> dict[str, type[BaseException]]:
    """Every exception class a module of the package defines, by its qualified name."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(mockserver.__path__, "mockserver."):
        if info.name == "mockserver.__main__":  # runs the command line when imported
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


def test_every_exception_class_derives_from_the_root() -> None:
    found = package_exceptions()
    # The walk reaches every layer (a walk that found nothing would pass the check below).
    for known in (BodyError, HarError, DuplicateStubError, AdminError, BadValue, NamespaceError):
        assert f"{known.__module__}.{known.__qualname__}" in found
    outside = sorted(
        name
        for name, cls in found.items()
        if not issubclass(cls, MockServerError) and name not in EXITS
    )
    assert outside == []
    assert {name for name in EXITS if issubclass(found[name], Exception)} == set()


def test_one_exception_class_per_name() -> None:
    names = sorted(cls.__name__ for cls in package_exceptions().values())
    assert [name for name in names if names.count(name) > 1] == []


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (DuplicateStubError, ValueError),
        (HarError, ValueError),
        (BadValue, argparse.ArgumentTypeError),
        (BadValue, ValueError),
        (ReceiptTimeout, TimeoutError),
        (UnknownService, KeyError),
    ],
)
def test_an_error_replacing_a_builtin_is_still_caught_as_it(
    cls: type[BaseException], builtin: type[BaseException]
) -> None:
    assert issubclass(cls, MockServerError)
    assert issubclass(cls, builtin)


def test_unknown_service_keeps_its_message_unquoted() -> None:
    assert str(UnknownService("no service 'x'")) == "no service 'x'"


# ---------------------------------------------------------------------------------------------
# HttpProblem


def test_problem_json_is_error_detail_then_extra() -> None:
    problem = HttpProblem(422, "invalid stub", "café", problems=[{"key": "request"}])
    assert problem.as_dict() == {
        "error": "invalid stub",
        "detail": "café",
        "problems": [{"key": "request"}],
    }
    assert list(problem.as_dict()) == ["error", "detail", "problems"]
    assert problem.body() == (
        b'{"error": "invalid stub", "detail": "caf\\u00e9", "problems": [{"key": "request"}]}'
    )


def test_problems_compare_by_value() -> None:
    assert HttpProblem(404, "not found", "x") == HttpProblem(404, "not found", "x")
    assert HttpProblem(404, "not found", "x") != HttpProblem(410, "not found", "x")
    assert HttpProblem(404, "not found", "x") != HttpProblem(404, "not found", "x", stub="a")
    assert repr(HttpProblem(404, "e", "d")) == "HttpProblem(404, 'e', 'd', **{})"


def test_the_shell_writes_the_bytes_aiohttp_wrote() -> None:
    problem = HttpProblem(409, "duplicate stub id", "stub id 'né' is taken", stub="né")
    written = problem_response(problem)
    by_hand = web.json_response(
        {"error": problem.error, "detail": problem.detail, "stub": "né"}, status=409
    )
    assert (written.status, written.body) == (by_hand.status, by_hand.body)
    assert written.content_type == "application/json"
    assert written.body == problem.body()


def test_raised_problems_carry_their_answer() -> None:
    refused = AdminRefusal(422, "invalid stub", "no request", problems=[])
    assert isinstance(refused, ProblemError)
    assert refused.problem == HttpProblem(422, "invalid stub", "no request", problems=[])
    assert (refused.status, refused.error, refused.detail) == (422, "invalid stub", "no request")
    assert str(refused) == "no request"
    assert refused.response().body == refused.problem.body()
    busy = NamespaceError(429, "too many namespaces", "at most 2", retry_after=5)
    assert (busy.problem.status, busy.retry_after) == (429, 5)


def test_the_offline_double_answers_a_refused_body_as_the_server_does(tmp_path: Path) -> None:
    double = OfflineDouble(load_paths([write(tmp_path, "svc.yaml", STUBS)]))
    coded = [("Content-Type", "application/json"), ("Content-Encoding", "snappy")]
    answer = double.answer("POST", "http://svc.mockserver.invalid/", coded, b"{}")
    assert answer.status == 415
    assert answer.body == (
        b'{"error": "unsupported content encoding", "detail": "request bodies may be coded '
        b'with gzip or deflate; got Content-Encoding: snappy"}'
    )


def test_the_core_writes_its_problems_as_compact_json() -> None:
    """Answers in a stub's place (resources, preconditions) are compact, as stub JSON is."""
    carts = ResourceState(ResourceSpec("/api/carts", "id", ()), "shop")
    missing = carts.handle(RequestView("GET", "/api/carts/7", "", ()))
    assert (missing.status, missing.body) == (
        404,
        b'{"error":"not found","detail":"no item with id \'7\' in /api/carts"}',
    )
    _, [stub], problems = parse_service(
        {"stubs": [{"request": {"method": "PUT"}, "response": {"body": "x", "etag": "v1"}}]},
        "t.yaml",
        "svc",
        lambda name: b"",
    )
    assert not problems
    stale = choose(stub.prepared, RequestView("PUT", "/", "", (("If-Match", '"v2"'),)))
    assert (stale.status, stale.body) == (
        412,
        b'{"error":"precondition failed","detail":"If-Match / If-Unmodified-Since did not hold"}',
    )
