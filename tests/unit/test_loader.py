"""Loading a stub file: every problem located (file, line, stub, key), nothing half-loaded."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest

from mockserver.core.errors import Problem, StubFileError
from mockserver.formats.loader import load_paths

from .builders import only_problem, problems_of, write


def stub_problem(tmp_path: Path, stub_yaml: str) -> Problem:
    """The single problem of a file holding one stub, written as ``  - <stub_yaml>`` on line 2."""
    return only_problem(write(tmp_path, "svc.yaml", f"stubs:\n  - {stub_yaml}\n"))


# ---------------------------------------------------------------------------------------------
# Malformed documents


@pytest.mark.parametrize(
    ("text", "fragment", "line", "column"),
    [
        pytest.param(
            "stubs:\n  - request:\n      path: /a\n     response: {}\n",
            "did not find expected key",
            4,
            6,
            id="bad-indent",
        ),
        pytest.param("stubs:\n\t- request: {}\n", "cannot start any token", 2, 1, id="tab"),
        pytest.param("stubs:\n  - id: 'abc\n", "quoted scalar", 3, 1, id="unclosed-quote"),
    ],
)
def test_malformed_yaml_is_located(
    tmp_path: Path, text: str, fragment: str, line: int, column: int
) -> None:
    path = write(tmp_path, "svc.yaml", text)
    problem = only_problem(path)
    assert problem.message.startswith("not valid YAML: ")
    assert fragment in problem.message
    assert (problem.file, problem.line, problem.column) == (str(path), line, column)


def test_malformed_json_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, "svc.json", '{\n  "stubs": [\n    {"id": "x",}\n  ]\n}\n')
    problem = only_problem(path)
    assert problem.message == "not valid JSON: Expecting property name enclosed in double quotes"
    assert (problem.file, problem.line, problem.column) == (str(path), 3, 16)


def test_duplicate_yaml_key_names_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "svc.yaml", "stubs:\n  - id: a\n    id: b\n")
    problem = only_problem(path)
    assert "duplicate key 'id' (first defined on line 2)" in problem.message
    assert (problem.file, problem.line, problem.column) == (str(path), 3, 5)


def test_duplicate_json_key_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "svc.json", '{"stubs": [], "stubs": [{"id": "x"}]}')
    problem = only_problem(path)
    assert problem.message == "not valid JSON: duplicate key 'stubs'"
    assert problem.file == str(path)


def test_python_tag_is_refused_and_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    text = f"stubs: !!python/object/apply:os.system ['touch {marker}']\n"
    path = write(tmp_path, "svc.yaml", text)
    problem = only_problem(path)
    assert "tags that build objects are refused" in problem.message
    assert "python/object/apply:os.system" in problem.message
    assert (problem.file, problem.line, problem.column) == (str(path), 1, 8)
    assert not marker.exists()


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    names = "abcdefghi"
    for previous, name in itertools.pairwise(names):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    path = write(tmp_path, "svc.yaml", "\n".join([*lines, "stubs: []", ""]))
    started = time.perf_counter()
    problem = only_problem(path)
    elapsed = time.perf_counter() - started
    assert "an alias bomb?" in problem.message
    assert problem.file == str(path)
    assert elapsed < 1.0  # it is refused before expansion, in well under a millisecond


def test_alias_inside_itself_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path, "svc.yaml", "&x [*x]\n"))
    assert problem.message == "not valid YAML: an alias inside itself"


# ---------------------------------------------------------------------------------------------
# Unknown keys, types and ranges


def test_unknown_keys_at_every_level_suggest_and_list(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "svc.yaml",
        "servce: x\n"
        "stubs:\n"
        "  - idd: get-user\n"
        "    request: {metod: GET}\n"
        "    response: {staus: 200}\n",
    )
    found = [(p.stub, p.key, p.line, p.column) for p in problems_of(path)]
    assert found == [
        (None, "servce", 1, 1),
        ("#0", "idd", 3, 5),
        ("#0", "request.metod", 4, 15),
        ("#0", "response.staus", 5, 16),
    ]
    messages = [p.message for p in problems_of(path)]
    assert messages[0].startswith("unknown key 'servce' (did you mean 'service'?); valid keys: ")
    assert "port, upstream" in messages[0]
    assert "(did you mean 'id'?); valid keys: id, description, priority" in messages[1]
    assert "(did you mean 'method'?); valid keys: method, path, path_regex" in messages[2]
    assert "(did you mean 'status'?); valid keys: status, headers, json" in messages[3]


def test_unknown_key_far_from_any_has_no_suggestion(tmp_path: Path) -> None:
    problem = stub_problem(tmp_path, "{zzzz: 1}")
    assert problem.message.startswith("unknown key 'zzzz'; valid keys: id,")


def test_stub_with_an_id_is_labelled_by_it(tmp_path: Path) -> None:
    problem = stub_problem(tmp_path, "{id: get-user, response: {status: 2000}}")
    assert problem.stub == "'get-user'"
    assert str(problem) == (
        f"{tmp_path / 'svc.yaml'}:2:31: stub 'get-user': response.status: "
        "expected a whole number from 100 to 599, got 2000"
    )


@pytest.mark.parametrize(
    ("stub_yaml", "key", "message", "column"),
    [
        (
            "response: {status: abc}",
            "response.status",
            "expected a whole number from 100 to 599, got a string 'abc'",
            16,
        ),
        ("response: {status: 999}", "response.status", "got 999", 16),
        ("response: {delay_ms: -1}", "response.delay_ms", "from 0 to 600000, got -1", 16),
        (
            "response: {fault: timeout}",
            "response.fault",
            "fault is one of connection_reset, empty_response, malformed_response, "
            "truncated_body, got 'timeout'",
            16,
        ),
        (
            "response: {fault: {kind: connection_reset, rate: 0}}",
            "response.fault.rate",
            "rate is a share from 0 (excluded) to 1, got 0",
            48,
        ),
        (
            "response: {fault: {kind: connection_reset, rate: 1.5}}",
            "response.fault.rate",
            "got 1.5",
            48,
        ),
        (
            "response: {fault: {kind: reset}}",
            "response.fault.kind",
            "fault is one of connection_reset, empty_response",
            24,
        ),
        (
            "response: {fault: truncated_body}",
            "response.fault",
            "truncated_body cuts the response body in half: give a body",
            16,
        ),
        (
            "response: {delay_ms: {min: 50, max: 10}}",
            "response.delay_ms",
            "min (50) is greater than max (10)",
            16,
        ),
        (
            "request: {query: {page: {regex: '('}}}",
            "request.query.page.regex",
            "invalid regex '(': missing )",
            30,
        ),
        (
            "request: {body: {json_path: {'$.[': 1}}}",
            "request.body.json_path.$.[",
            "invalid JSONPath '$.['",
            34,
        ),
        (
            "request: {path: /a, path_regex: ^/a}",
            "request.path_regex",
            "give path or path_regex, not both",
            25,
        ),
        (
            "response: {json: 1, body: x}",
            "response.body",
            "give one body: json | body | body_file | body_base64 (found json, body)",
            25,
        ),
        (
            "response: {body: {a: 1}}",
            "response.body",
            "body is text; for a JSON body use json: instead of body:",
            16,
        ),
        (
            "response: {json: {a: .nan}}",
            "response.json",
            "not representable as JSON: Out of range float values",
            16,
        ),
        ("response: {body_base64: '!!!'}", "response.body_base64", "not valid base64", 16),
        (
            'response: {headers: {X-A: "a\\r\\nb"}}',
            "response.headers.X-A",
            "header value contains control characters",
            26,
        ),
        (
            "response: {headers: {Content-Length: 3}}",
            "response.headers.Content-Length",
            "Content-Length is set by the server",
            26,
        ),
    ],
)
def test_invalid_value_is_located(
    tmp_path: Path, stub_yaml: str, key: str, message: str, column: int
) -> None:
    problem = stub_problem(tmp_path, stub_yaml)
    assert message in problem.message
    assert (problem.file, problem.stub, problem.key) == (str(tmp_path / "svc.yaml"), "#0", key)
    assert (problem.line, problem.column) == (2, column)


# ---------------------------------------------------------------------------------------------
# The file as a whole


def test_empty_file_is_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "svc.yaml", "")
    problem = only_problem(path)
    assert problem.message == "the file is empty; a stub file is a mapping with a 'stubs:' list"
    assert problem.file == str(path)


def test_version_2_is_refused(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path, "svc.yaml", "version: 2\nstubs: []\n"))
    assert problem.message == "this mockserver reads stub format version 1, got 2"
    assert (problem.key, problem.line) == ("version", 1)


def test_version_1_is_accepted(tmp_path: Path) -> None:
    write(tmp_path, "svc.yaml", "version: 1\nstubs: []\n")
    assert list(load_paths([tmp_path]).services) == ["svc"]


# ---------------------------------------------------------------------------------------------
# All at once, nothing half-loaded


def test_every_problem_of_a_file_is_reported_in_line_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "svc.yaml",
        "stubs:\n"
        "  - response: {status: 999}\n"
        "  - request: {method: [GET, 5]}\n"
        "    response: {delay_ms: -1}\n",
    )
    with pytest.raises(StubFileError) as info:
        load_paths([path])
    found = [(p.stub, p.key, p.line) for p in info.value.problems]
    assert found == [
        ("#0", "response.status", 2),
        ("#1", "request.method[1]", 3),
        ("#1", "response.delay_ms", 4),
    ]
    assert str(info.value).startswith("3 problems in the stub files:\n")


def test_one_bad_file_refuses_the_whole_set(tmp_path: Path) -> None:
    write(tmp_path, "good.yaml", "stubs: [{id: fine}]\n")
    bad = write(tmp_path, "bad.yaml", "stubs: [{response: {status: 1}}]\n")
    assert [p.file for p in problems_of(tmp_path)] == [str(bad)]


def test_a_missing_path_is_a_problem(tmp_path: Path) -> None:
    problem = only_problem(tmp_path / "nowhere")
    assert (problem.file, problem.message) == (
        str(tmp_path / "nowhere"),
        "no such file or directory",
    )


# ---------------------------------------------------------------------------------------------
# What loads


def test_yaml_timestamps_stay_the_text_written(tmp_path: Path) -> None:
    write(
        tmp_path,
        "svc.yaml",
        "stubs:\n"
        "  - request: {query: {since: 2021-06-29}}\n"
        "    response: {json: {modified: 2021-06-29T21:32:25Z}}\n",
    )
    (stub,) = load_paths([tmp_path]).stubs
    assert stub.response.body == b'{"modified":"2021-06-29T21:32:25Z"}'
    assert stub.request.query[0][1].describe() == 'equals "2021-06-29"'
