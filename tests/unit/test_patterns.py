"""Value matchers: each holds or fails, and a failure says what was expected and what came."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError, fields
from typing import Any

import pytest

from mockserver.core import budget
from mockserver.core.budget import (
    REGEX_TIMEOUT_S,
    BudgetExceeded,
    end_match_budget,
    regex_timeout,
    start_match_budget,
)
from mockserver.core.errors import Problems
from mockserver.core.jsonmatch import json_equal
from mockserver.core.patterns import MATCHER_NAMES, Pattern, Value
from mockserver.core.patternspec import parse_pattern
from mockserver.core.request import RequestView
from mockserver.core.stubspec import parse_request


def pattern(raw: Any) -> Pattern:
    errors = Problems("<test>")
    built = parse_pattern(raw, ("m",), errors)
    assert errors.items == []
    assert built is not None
    return built


def reason(raw: Any, text: str | None) -> str | None:
    return pattern(raw).check(Value(text))


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        pytest.param("abc", "abc", id="bare-string"),
        pytest.param(1, "1", id="bare-int"),
        pytest.param(True, "true", id="bare-bool"),
        pytest.param(1.5, "1.5", id="bare-float"),
        pytest.param({"equals": "abc"}, "abc", id="equals"),
        pytest.param({"equals": 5}, "5", id="equals-int"),
        pytest.param({"contains": "bc"}, "abcd", id="contains"),
        pytest.param({"regex": "^[0-9]+$"}, "123", id="regex"),
        pytest.param({"regex": "[0-9]"}, "page 2 of 3", id="regex-searches"),
        pytest.param({"absent": True}, None, id="absent-true"),
        pytest.param({"absent": False}, "", id="absent-false-empty-value"),
        pytest.param({"json": {"a": 1, "b": [1, 2]}}, '{"b": [1, 2], "a": 1}', id="json"),
        pytest.param({"json_subset": {"a": {"b": 1}}}, '{"a": {"b": 1, "c": 2}, "z": 0}', id="sub"),
        pytest.param({"json_subset": {"l": [3, 1]}}, '{"l": [1, 2, 3]}', id="subset-any-order"),
        pytest.param(
            {"json_subset": {"l": [{"id": 2}]}},
            '{"l": [{"id": 1, "x": 1}, {"id": 2, "y": 3}]}',
            id="subset-objects-in-array",
        ),
        pytest.param(
            {"json_any_order": {"l": [1, [2, 3], 1]}}, '{"l": [[3, 2], 1, 1.0]}', id="any-order"
        ),
        pytest.param({"json_path": {"$.a.b": 1}}, '{"a": {"b": 1}}', id="json-path-literal"),
        pytest.param({"json_path": {"$.a.b": {"regex": "^S"}}}, '{"a": {"b": "Simon"}}', id="jp-m"),
        pytest.param({"json_path": {"$.n": {"equals": "5"}}}, '{"n": 5}', id="jp-number-as-text"),
        pytest.param({"json_path": {"$.items[*].id": 2}}, '{"items": [{"id": 1}, {"id": 2}]}'),
        pytest.param({"json_path": {"$.x": {"absent": True}}}, "{}", id="jp-selects-nothing-ok"),
        pytest.param({"json_path": "$.a"}, '{"a": null}', id="jp-bare-path"),
        # A body that is a JSON string is that string, whatever its text looks like.
        pytest.param({"json_path": {"$": "["}}, '"["', id="jp-string-body-with-bracket"),
        pytest.param(
            {"json_path": {"$": '{"a": 1}'}}, '"{\\"a\\": 1}"', id="jp-string-body-json-text"
        ),
        pytest.param({"any_of": ["a", {"regex": "^b"}]}, "bc", id="any-of"),
        pytest.param({"not": "a"}, "b", id="not"),
        pytest.param({"not": {"absent": True}}, "x", id="not-absent"),
        pytest.param({"equals": "ABC", "case_insensitive": True}, "abc", id="ci-equals"),
        pytest.param({"contains": "B", "case_insensitive": True}, "abc", id="ci-contains"),
        pytest.param({"regex": "^B", "case_insensitive": True}, "bc", id="ci-regex"),
        pytest.param({"contains": "a", "regex": "b$"}, "ab", id="all-keys"),
    ],
)
def test_matcher_holds(raw: Any, text: str | None) -> None:
    assert reason(raw, text) is None


@pytest.mark.parametrize(
    ("raw", "text", "expected"),
    [
        ("abc", "abd", 'expected "abc", got "abd"'),
        (1, "2", 'expected "1", got "2"'),
        (True, "1", 'expected "true", got "1"'),
        ("abc", None, 'expected "abc", but it is absent'),
        ({"contains": "x"}, "abcd", '"abcd" does not contain "x"'),
        ({"regex": "^[0-9]+$"}, "12a", '"12a" does not match regex ^[0-9]+$'),
        ({"absent": True}, "x", 'expected it to be absent, got "x"'),
        ({"absent": False}, None, "expected it to be present, but it is absent"),
        ({"json": {"a": 1}}, '{"a": true}', 'expected JSON {"a": 1}, got {"a": true}'),
        ({"json": 1}, "nope", "not JSON (Expecting value"),
        ({"json_subset": {"a": {"b": 2}}}, '{"a": {"b": 1}}', "$.a.b: expected 2, got 1"),
        ({"json_subset": {"a": {"c": 2}}}, '{"a": {"b": 1}}', "$.a.c: missing (expected 2)"),
        ({"json_subset": {"l": [4]}}, '{"l": [1, 2]}', "$.l[0]: no element contains 4, got [1, 2]"),
        ({"json_subset": {"a": 1}}, "[1]", "$: expected an object, got [1]"),
        ({"json_any_order": [1, 2]}, "[2, 1, 3]", "(arrays in any order), got [2, 1, 3]"),
        ({"json_any_order": [1, 1, 2]}, "[1, 2, 2]", "expected JSON [1, 1, 2] (arrays in any"),
        ({"json_any_order": {"a": 1}}, '{"a": 1, "b": 2}', 'any order), got {"a": 1, "b": 2}'),
        ({"json_path": {"$.a.b": 1}}, '{"a": {"b": 2}}', "$.a.b: expected 1, got 2"),
        ({"json_path": {"$.a.b": {"regex": "^S"}}}, '{"a": {"b": "Ada"}}', '"Ada" does not match'),
        ({"json_path": {"$.x": 1}}, '{"a": 1}', "$.x selects nothing (expected 1)"),
        ({"json_path": {"$.x": {"regex": "y"}}}, "{}", "$.x selects nothing: expected a value"),
        (
            {"any_of": ["a", {"regex": "^b"}]},
            "cc",
            'none of the alternatives holds: expected "a", got "cc"; "cc" does not match regex ^b',
        ),
        ({"not": "a"}, "a", 'expected not (equals "a"), got "a"'),
        ({"equals": "ABC", "case_insensitive": True}, "abd", '"ABC" (case-insensitive), got "abd"'),
        ({"contains": "a", "regex": "b$"}, "ac", '"ac" does not match regex b$'),
        ({"contains": "z", "regex": "c$"}, "ac", '"ac" does not contain "z"'),
    ],
)
def test_matcher_fails_and_says_why(raw: Any, text: str | None, expected: str) -> None:
    found = reason(raw, text)
    assert found is not None
    assert expected in found


def test_case_matters_without_case_insensitive() -> None:
    assert reason({"equals": "ABC"}, "abc") == 'expected "ABC", got "abc"'


def test_json_path_checks_every_path() -> None:
    raw = {"json_path": {"$.a": 1, "$.b": {"contains": "x"}}}
    assert reason(raw, '{"a": 1, "b": "xyz"}') is None
    assert reason(raw, '{"a": 1, "b": "yz"}') == '$.b: "yz" does not contain "x"'


def test_body_json_is_read_from_the_request() -> None:
    request = RequestView("POST", "/", body=b'{"name": "Simon", "tags": ["a"]}')
    assert pattern({"json_subset": {"tags": ["a"]}}).check(Value.of_body(request)) is None
    assert request.json() == {"name": "Simon", "tags": ["a"]}


def test_empty_body_counts_as_absent() -> None:
    request = RequestView("POST", "/", body=b"")
    assert pattern({"absent": True}).check(Value.of_body(request)) is None
    assert pattern({"json": {}}).check(Value.of_body(request)) == "the body is empty"


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (True, 1, False),
        (1, True, False),
        (False, 0, False),
        ("1", 1, False),
        (None, False, False),
        (1, 1.0, True),
        ({"a": 1, "b": [1, {"c": None}]}, {"b": [1, {"c": None}], "a": 1}, True),
        ([1, 2], [2, 1], False),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        ({"a": True}, {"a": True}, True),
    ],
)
def test_json_equal(a: Any, b: Any, equal: bool) -> None:
    assert json_equal(a, b) is equal
    assert json_equal(b, a) is equal


@pytest.mark.timeout(10)
def test_a_spent_budget_stops_every_regex_and_ends_with_its_request() -> None:
    token = start_match_budget(0.0)
    try:
        with pytest.raises(BudgetExceeded):  # past any `not` around it, up to the stub
            reason({"not": {"regex": "^b$"}}, "a")
    finally:
        end_match_budget(token)
    # A thread that answers a request (the socket-free doubles do) does not keep its budget.
    assert regex_timeout() == REGEX_TIMEOUT_S
    assert budget.clock().deadline == float("inf")
    assert reason({"regex": "^a$"}, "a") is None


@pytest.mark.timeout(10)
def test_a_spent_budget_stops_an_array_compared_in_any_order() -> None:
    # 20,000 elements no two alike, reversed: the pairing would look at 200 million pairs.
    body = json.dumps(list(range(20_000)))
    token = start_match_budget(0.05)
    try:
        with pytest.raises(BudgetExceeded):
            reason({"json_any_order": list(range(20_000))[::-1]}, body)
    finally:
        end_match_budget(token)


def test_catastrophic_regex_gives_up_and_counts_as_no_match() -> None:
    found = reason({"regex": "(a|aa)+$"}, "a" * 5000 + "b")
    assert found is not None
    assert "gave up after 50 ms" in found
    assert "counts as no match" in found


@pytest.mark.parametrize(
    ("raw", "key", "message"),
    [
        ({"regx": "a"}, "m.regx", "unknown matcher 'regx'; valid: absent, accepts_coding, any_of,"),
        ({}, "m", "empty matcher; use one of absent"),
        ([1], "m", "expected a string or a matcher mapping (absent, accepts_coding, any_of"),
        (None, "m", "got null"),
        ({"equals": [1]}, "m.equals", "equals takes a string, got a list"),
        ({"absent": "yes"}, "m.absent", "absent takes true or false, got a string"),
        ({"absent": 1}, "m.absent", "absent takes true or false, got a number"),
        ({"any_of": []}, "m.any_of", "any_of takes a non-empty list of matchers"),
        ({"any_of": ["a", {"regex": "("}]}, "m.any_of[1].regex", "invalid regex '('"),
        ({"not": {"zz": 1}}, "m.not.zz", "unknown matcher 'zz'"),
        ({"json_path": {"$[": 1}}, "m.json_path.$[", "invalid JSONPath '$['"),
        ({"json_path": []}, "m.json_path", "json_path takes a mapping of JSONPath"),
        (
            {"json_path": {"$.a": {"regex": ")"}}},
            "m.json_path.$.a.regex",
            "invalid regex ')'",
        ),
        (
            {"case_insensitive": True},
            "m",
            "case_insensitive needs a matcher beside it",
        ),
        (
            {"json": 1, "case_insensitive": True},
            "m.case_insensitive",
            "case_insensitive applies to equals, contains and regex",
        ),
        (
            {"equals": "a", "case_insensitive": "yes"},
            "m.case_insensitive",
            "case_insensitive takes true or false",
        ),
    ],
)
def test_parse_errors_carry_key_paths(raw: Any, key: str, message: str) -> None:
    errors = Problems("<test>")
    assert parse_pattern(raw, ("m",), errors) is None
    assert len(errors.items) == 1
    assert errors.items[0].key == key
    assert message in errors.items[0].message


def test_describe_names_matcher_and_value() -> None:
    assert (
        pattern({"regex": "^a", "case_insensitive": True}).describe()
        == "regex ^a (case-insensitive)"
    )
    assert pattern({"any_of": ["a", {"absent": True}]}).describe() == 'any_of [equals "a", absent]'
    assert pattern({"json_path": {"$.a": 1}}).describe() == "json_path $.a 1"


# One stub-file form of each matcher, by its name.
EXAMPLES: dict[str, Any] = {
    "equals": {"equals": "a"},
    "contains": {"contains": "a", "case_insensitive": True},
    "regex": {"regex": "^a+$"},
    "absent": {"absent": True},
    "json": {"json": {"a": [1, {"b": None}]}},
    "json_subset": {"json_subset": {"a": 1}},
    "json_any_order": {"json_any_order": {"a": [2, 1]}},
    "json_path": {"json_path": {"$.a": 1, "$.b": {"regex": "x"}}},
    "any_of": {"any_of": ["a", {"contains": "b"}]},
    "not": {"not": {"contains": "b"}},
    "xpath": {"xpath": {"/a/@id": 7}},
    "form": {"form": {"user": "ada"}},
    "multipart": {"multipart": {"file": {"filename": "a.txt", "body": {"contains": "x"}}}},
    "sha256": {"sha256": "0" * 64},
    # The recorder's (recordmatchers.py): every value of a repeated query name, and a coding.
    "values": {"values": ["1", "2"]},
    "accepts_coding": {"accepts_coding": "br"},
}


@pytest.mark.parametrize("raw", [*EXAMPLES.values(), {"equals": "a", "contains": "a"}])
def test_patterns_are_values_equal_when_written_alike(raw: Any) -> None:
    one, other = pattern(raw), pattern(raw)
    assert one is not other
    assert one == other
    assert hash(one) == hash(other)
    assert {one: 1}[other] == 1
    assert repr(one).startswith(type(one).__name__ + "(")
    with pytest.raises(FrozenInstanceError):
        setattr(one, fields(one)[0].name, "changed")


def test_patterns_written_differently_differ() -> None:
    assert pattern({"equals": "a"}) != pattern({"equals": "b"})
    assert pattern({"equals": "a"}) != pattern({"equals": "a", "case_insensitive": True})
    assert pattern({"json": {"a": 1}}) != pattern({"json_subset": {"a": 1}})
    assert pattern({"json_path": {"$.a": 1}}) != pattern({"json_path": {"$.a": 2}})
    assert pattern({"xpath": {"/a": "x"}}) != pattern(
        {"xpath": {"/a": "x", "namespaces": {"s": "urn:s"}}}
    )


def test_repr_reads_as_the_value() -> None:
    assert repr(pattern({"regex": "^a", "case_insensitive": True})) == (
        "Regex(expected='^a', case_insensitive=True)"
    )
    assert repr(pattern({"not": "a"})) == "Not(inner=Equals(expected='a', case_insensitive=False))"


def test_every_stub_file_matcher_is_registered_by_its_class() -> None:
    assert sorted(MATCHER_NAMES) == sorted(EXAMPLES)
    for name, cls in MATCHER_NAMES.items():
        assert cls.name == name
        assert type(pattern(EXAMPLES[name])) is cls


def test_a_matcher_name_is_taken_once() -> None:
    with pytest.raises(TypeError, match="matcher name 'equals' is taken by Equals"):

        class Other(Pattern, name="equals"):
            def check(self, value: Value) -> str | None:
                return None

            def describe(self) -> str:
                return "other"

    assert MATCHER_NAMES["equals"].__name__ == "Equals"


def test_a_named_matcher_must_say_how_it_is_read() -> None:
    with pytest.raises(TypeError, match=r"matcher 'unread' \(Unread\) does not say how it is read"):

        class Unread(Pattern, name="unread"):
            def check(self, value: Value) -> str | None:
                return None

            def describe(self) -> str:
                return "unread"

    assert "unread" not in MATCHER_NAMES


def test_equal_request_specs_compare_equal() -> None:
    stub = {
        "request": {
            "method": "POST",
            "path_regex": "^/a/[0-9]+$",
            "query": {"q": {"regex": "^x"}},
            "body": {"json_path": {"$.a": {"any_of": [1, 2]}}},
        }
    }
    first = parse_request(stub["request"], ("request",), Problems("<a>"))
    second = parse_request(stub["request"], ("request",), Problems("<b>"))
    assert first is not None
    assert second is not None
    assert first == second
    assert hash(first) == hash(second)
    assert first != parse_request({"method": "PUT"}, ("request",), Problems("<c>"))


def test_reading_stub_files_knows_every_matcher_in_a_fresh_process() -> None:
    # In this process the tests have imported every matcher module already; a program that
    # only loads stubs must know them too (the move's import fixer once dropped form,
    # multipart and sha256 by removing an import kept for its side effect).
    import subprocess
    import sys

    code = (
        "from mockserver.stubfiles.stubfile import parse_service\n"
        "from mockserver.core.patterns import MATCHER_NAMES\n"
        "_, _, problems = parse_service({'stubs': [{'request': {'body': {'form': {'a': 'b'}}}}]},"
        " 'x.yaml', 'x', bytes)\n"
        "assert not problems, problems\n"
        "print(','.join(sorted(MATCHER_NAMES)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip().split(",") == sorted(EXAMPLES)
