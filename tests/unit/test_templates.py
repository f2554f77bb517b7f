"""template: true responses, rendered by respond() without a socket: context, types, bounds."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgpack
import pytest

from mockserver.core.request import RequestView
from mockserver.core.respond import Answer, respond
from mockserver.core.store import StubStore
from mockserver.stubfiles.stubfile import combine, parse_service

from .builders import problems_of, write

FILES = {"hello.txt": b"hello {{ request.path_params.name }}\n", "bin": b"\xff{{"}


def store_of(*responses: Mapping[str, Any], seed: int | None = 7) -> StubStore:
    """One templated stub per response, on GET|POST /t/{name}, /t1/{name}, ..."""
    stubs = [
        {
            "id": f"s{i}",
            "request": {"path": f"/t{i or ''}/{{name}}"},
            **({"responses": r["responses"]} if "responses" in r else {"response": dict(r)}),
        }
        for i, r in enumerate(responses)
    ]
    service, parsed, problems = parse_service({"stubs": stubs}, "t.yaml", "svc", _no_files)
    assert not problems, [str(p) for p in problems]
    assert service is not None
    return StubStore(combine([(service, parsed)]), seed=seed)


def _no_files(relative: str) -> bytes:
    if relative in FILES:
        return FILES[relative]
    raise ValueError(relative)


def ask(
    store: StubStore,
    path: str = "/t/ada",
    query: str = "",
    headers: tuple[tuple[str, str], ...] = (),
    body: bytes = b"",
    method: str = "POST",
) -> Answer:
    return respond(store, None, RequestView(method, path, query, headers, body))


def rendered_json(response: Mapping[str, Any], **request: Any) -> Any:
    answer = ask(store_of({"template": True, "json": response}), **request)
    assert answer.status == 200, answer.body
    return json.loads(answer.body)


def test_every_context_value_reaches_the_template() -> None:
    got = rendered_json(
        {
            "method": "{{ request.method }}",
            "path": "{{ request.path }}",
            "name": "{{ request.path_params.name }}",
            "q": "{{ request.query.q }}",
            "all": "{{ request.query_all.q }}",
            "trace": "{{ request.headers['X-TRACE'] }}",
            "trace_attr": "{{ request.headers.get('x-trace') }}",
            "cookie": "{{ request.cookies.sid }}",
            "body": "{{ request.body }}",
            "json": "{{ request.json.who }}",
        },
        query="q=1&q=2",
        headers=(("x-Trace", "t-1"), ("Cookie", "sid=abc; other=1")),
        body=b'{"who": "ada"}',
    )
    assert got == {
        "method": "POST",
        "path": "/t/ada",
        "name": "ada",
        "q": "1",
        "all": ["1", "2"],
        "trace": "t-1",
        "trace_attr": "t-1",
        "cookie": "abc",
        "body": '{"who": "ada"}',
        "json": "ada",
    }


def test_a_single_expression_keeps_its_type_and_text_stays_text() -> None:
    got = rendered_json(
        {
            "n": "{{ request.json.count + 1 }}",
            "ok": "{{ request.json.count > 1 }}",
            "list": "{{ request.json.tags }}",
            "missing": "{{ request.query.nope }}",
            "text": "n={{ request.json.count + 1 }}",
            "two": "{{ 1 }}{{ 2 }}",
            "fixed": 3,
            "nested": [{"deep": "{{ request.json.count * 2 }}"}],
        },
        body=b'{"count": 41, "tags": ["a", "b"]}',
    )
    assert got == {
        "n": 42,
        "ok": True,
        "list": ["a", "b"],
        "missing": None,
        "text": "n=42",
        "two": "12",
        "fixed": 3,
        "nested": [{"deep": 82}],
    }


def test_a_messagepack_body_is_request_json() -> None:
    packed = msgpack.packb({"count": 1})
    got = rendered_json(
        {"n": "{{ request.json.count + 1 }}"},
        headers=(("Content-Type", "application/msgpack"),),
        body=packed,
    )
    assert got == {"n": 2}


def test_body_headers_and_status_are_templates() -> None:
    store = store_of(
        {
            "template": True,
            "status": "{{ 201 if request.method == 'POST' else 200 }}",
            "headers": {"Location": "/u/{{ request.path_params.name }}", "X-Fixed": "1"},
            "body": "hello {{ request.path_params.name }}",
        }
    )
    answer = ask(store)
    assert answer.status == 201
    assert ("Location", "/u/ada") in answer.headers
    assert ("X-Fixed", "1") in answer.headers
    assert answer.body == b"hello ada"
    assert ask(store, method="GET").status == 200


def test_uuid4_and_random_int_follow_the_seed() -> None:
    draws = {"id": "{{ uuid4() }}", "n": "{{ random_int(1, 10**9) }}"}
    response = {"template": True, "json": draws}
    first = [json.loads(ask(store_of(response, seed=3)).body) for _ in range(2)]
    again = [json.loads(ask(store_of(response, seed=3)).body) for _ in range(2)]
    other = json.loads(ask(store_of(response, seed=4)).body)
    assert first == again
    assert other != first[0]
    assert uuid.UUID(first[0]["id"]).version == 4
    store = store_of(response, seed=3)
    assert json.loads(ask(store).body) == first[0]
    store.reset()  # a reset starts the seeded draws again
    assert json.loads(ask(store).body) == first[0]


def test_now_is_rfc3339_utc_and_shifts() -> None:
    got = rendered_json({"at": "{{ now() }}", "tomorrow": "{{ now('%Y-%m-%d', days=1) }}"})
    at = datetime.fromisoformat(got["at"])
    assert got["at"].endswith("Z")
    assert abs(at - datetime.now(UTC)) < timedelta(minutes=1)
    assert got["tomorrow"] == (at + timedelta(days=1)).strftime("%Y-%m-%d")


def test_request_values_are_data_never_rendered_again() -> None:
    store = store_of({"template": True, "body": "{{ request.query.q }}|{{ request.body }}"})
    answer = ask(store, query="q=%7B%7B7*7%7D%7D", body=b"{% for x in y %}{{ 7*7 }}")
    assert answer.body == b"{{7*7}}|{% for x in y %}{{ 7*7 }}"


def test_a_body_file_is_a_template_and_keeps_its_media_type() -> None:
    answer = ask(store_of({"template": True, "body_file": "hello.txt"}))
    assert answer.body == b"hello ada\n"
    assert ("Content-Type", "text/plain") in answer.headers


def test_responses_in_turn_are_rendered_each() -> None:
    store = store_of(
        {
            "responses": [
                {"template": True, "body": "first {{ request.path_params.name }}"},
                {"body": "second {{ request.path_params.name }}"},  # no template: literal
            ]
        }
    )
    assert [ask(store).body for _ in range(3)] == [
        b"first ada",
        b"second {{ request.path_params.name }}",
        b"second {{ request.path_params.name }}",
    ]


def test_a_rendered_body_is_prepared_like_a_static_one() -> None:
    store = store_of({"template": True, "body": "{{ 'x' * 1000 }}"})
    accept = (("Accept-Encoding", "gzip"),)
    answer = ask(store, method="GET", headers=accept)
    assert ("Content-Encoding", "gzip") in answer.headers
    etag = dict(answer.headers)["ETag"]
    again = ask(store, method="GET", headers=(*accept, ("If-None-Match", etag)))
    assert again.status == 304


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("{{ ''.__class__.__mro__ }}", "SecurityError"),
        ("{{ cycler.__init__.__globals__ }}", "SecurityError"),
        ("{{ (range(10)|attr('__class__')).__mro__ }}", "SecurityError"),
        ("{{ 'x' * 10**9 }}", "past 1,048,576"),
        ("{{ 2 ** 100000 }}", "a power of more than"),
        ("{{ 'x'.ljust(10**9) }}", "ljust width"),
        ("{{ '{:>999999999}'.format(1) }}", "format width"),
        ("{{ '%*s' % (10**9, 'x') }}", "format width"),
        ("{{ ('x' * 1000)|replace('', 'y' * 10000) }}", "past 1,048,576"),
        ("{{ (['x' * 100000] * 1000)|join }}", "past 1,048,576"),
        ("{{ range(100000)|map('center', 100000)|join }}", "work limit"),
        ("{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}", "output is past"),
        ("{% macro f(s) %}{{ f(s ~ s) }}{% endmacro %}{{ f('x') }}", "an argument of"),
        ("{{ request.json.name }}", "request.json is undefined: the body is empty"),
    ],
)
def test_a_refused_or_failing_render_answers_500_naming_stub_and_template(
    source: str, why: str
) -> None:
    store = store_of({"template": True, "json": {"id": 1, "v": source}})
    started = time.monotonic()
    answer = ask(store)
    assert time.monotonic() - started < 2
    assert answer.status == 500
    body = json.loads(answer.body)
    assert (body["error"], body["stub"], body["template"]) == ("template failed", "s0", "json.v")
    assert why in body["detail"]
    (entry,) = store.journal.entries()
    assert entry.error is not None
    assert why in entry.error
    assert "'s0'" in entry.error
    assert store.journal.unmatched_total == 1  # counted as a failure: strict mode reports it


def test_a_loop_of_loops_stops_at_the_time_limit() -> None:
    source = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    store = store_of({"template": True, "body": source})
    started = time.monotonic()
    answer = ask(store)
    assert answer.status == 500
    assert b"time limit" in answer.body
    assert time.monotonic() - started < 3


def test_a_rendered_header_with_control_characters_is_refused() -> None:
    store = store_of({"template": True, "headers": {"X-Echo": "{{ request.query.v }}"}})
    answer = ask(store, query="v=a%0d%0aX-Injected:%201")
    assert answer.status == 500
    assert json.loads(answer.body)["template"] == "headers.X-Echo"
    assert b"X-Echo contains control characters" in answer.body
    assert not any(name == "X-Echo" for name, _ in answer.headers)


def test_a_stub_without_template_is_never_rendered() -> None:
    store = store_of({"body": "{{ 7*7 }}", "headers": {"X-A": "{% raw %}"}})
    answer = ask(store)
    assert (answer.body, ("X-A", "{% raw %}") in answer.headers) == (b"{{ 7*7 }}", True)
    assert store.snapshot.index_for(None).match(RequestView("GET", "/t/a")) is not None


@pytest.mark.parametrize(
    ("response", "key", "message"),
    [
        ({"template": True, "body": "{{ oops"}, "response.body", "template syntax error"),
        ({"template": True, "json": {"a": ["{% for %}"]}}, "response.json.a[0]", "syntax"),
        ({"template": True, "headers": {"X": "{{ }}"}}, "response.headers.X", "syntax"),
        ({"template": True, "status": "abc"}, "response.status", "or a template"),
        ({"template": True, "body_base64": "AA=="}, "response.body_base64", "not a template"),
        ({"template": "yes"}, "response.template", "true or false"),
        ({"template": True, "body": "{{ reqest.path }}"}, "response.body", "'request'?"),
        ({"template": True, "json": {"s": "{{ scenaro('t') }}"}}, "response.json.s", "'scenario'?"),
        ({"template": True, "body_file": "bin"}, "response.body_file", "UTF-8 text"),
        (
            {"template": True, "body": "{% for x in y recursive %}{% endfor %}"},
            "response.body",
            "recursive loops",
        ),
    ],
)
def test_a_template_that_does_not_compile_is_a_located_load_error(
    tmp_path: Path, response: dict[str, Any], key: str, message: str
) -> None:
    stub = {"id": "bad", "request": {"path": "/x"}, "response": response}
    for name, data in FILES.items():
        (tmp_path / name).write_bytes(data)
    path = write(tmp_path, "s.json", json.dumps({"stubs": [stub]}))
    (problem,) = problems_of(path)
    assert (problem.stub, problem.key) == ("'bad'", key)
    assert message in problem.message
    assert str(problem).startswith(str(path))
