"""Which stub answers a request, and, when none does, which came nearest and why not."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.core import matching
from mockserver.core.matching import StubIndex, differences
from mockserver.core.model import Stub
from mockserver.core.report import NearStub
from mockserver.core.request import RequestView

from .builders import index_of, stub_of


def winner(index: StubIndex, method: str, path: str, **kwargs: Any) -> str | None:
    found = index.match(RequestView(method, path, **kwargs))
    return found.stub.id if found else None


def params(index: StubIndex, path: str) -> dict[str, str] | None:
    found = index.match(RequestView("GET", path))
    return found.params if found else None


# ---------------------------------------------------------------------------------------------
# Paths


def test_exact_path_matches_only_itself() -> None:
    index = index_of({"id": "a", "request": {"path": "/api/user"}})
    assert winner(index, "GET", "/api/user") == "a"
    assert winner(index, "GET", "/api/user/") is None
    assert winner(index, "GET", "/api/users") is None


def test_template_captures_parameters() -> None:
    index = index_of({"id": "t", "request": {"path": "/api/{kind}/{id}"}})
    assert params(index, "/api/user/7") == {"kind": "user", "id": "7"}


@pytest.mark.parametrize("path", ["/api/user", "/api/user/7/x", "/api/user/"])
def test_template_needs_the_same_segment_count(path: str) -> None:
    index = index_of({"id": "t", "request": {"path": "/api/user/{id}"}})
    assert winner(index, "GET", path) is None


def test_template_parameter_does_not_match_an_empty_segment() -> None:
    index = index_of({"id": "t", "request": {"path": "/{a}/{b}"}})
    assert params(index, "/x/y") == {"a": "x", "b": "y"}
    assert params(index, "//y") is None
    assert params(index, "/x/") is None
    (miss,) = index.near_misses(RequestView("GET", "//y"))
    assert [d.field for d in miss.differences] == ["path"]


def test_template_parameter_inside_a_segment() -> None:
    index = index_of({"id": "f", "request": {"path": "/files/{name}.json"}})
    assert params(index, "/files/a.b.json") == {"name": "a.b"}
    assert params(index, "/files/.json") is None
    assert params(index, "/files/a.txt") is None


def test_path_regex_captures_named_groups() -> None:
    index = index_of({"id": "r", "request": {"path_regex": "^/user/(?P<id>[0-9]+)$"}})
    assert params(index, "/user/12") == {"id": "12"}
    assert params(index, "/user/x") is None


@pytest.mark.timeout(10)
def test_catastrophic_path_regex_counts_as_no_match() -> None:
    index = index_of({"id": "r", "request": {"path_regex": "^/(a|aa)+$"}})
    assert params(index, "/" + "a" * 5000 + "b") is None


def test_stub_without_path_matches_any_path() -> None:
    index = index_of({"id": "any"})
    assert winner(index, "DELETE", "/anything/at/all") == "any"


# ---------------------------------------------------------------------------------------------
# Methods and fields

METHODS = (
    {"id": "get", "request": {"method": "get", "path": "/a"}},
    {"id": "write", "request": {"method": ["PUT", "patch"], "path": "/a"}},
)


@pytest.mark.parametrize(
    ("method", "expected"),
    [("GET", "get"), ("HEAD", "get"), ("PUT", "write"), ("PATCH", "write"), ("POST", None)],
)
def test_method_string_or_list(method: str, expected: str | None) -> None:
    assert winner(index_of(*METHODS), method, "/a") == expected


def test_method_absent_means_any() -> None:
    index = index_of({"id": "any", "request": {"path": "/a"}})
    assert winner(index, "OPTIONS", "/a") == "any"


def test_query_parameter_sent_twice_matches_either_value() -> None:
    index = index_of({"id": "q", "request": {"path": "/a", "query": {"tag": "b", "n": 1}}})
    assert winner(index, "GET", "/a", query_string="tag=a&tag=b&n=1") == "q"
    assert winner(index, "GET", "/a", query_string="tag=a&n=1") is None


def test_header_names_are_case_insensitive() -> None:
    spec = {"path": "/a", "headers": {"X-Token": "t", "accept": {"contains": "json"}}}
    index = index_of({"id": "h", "request": spec})
    sent = [("x-token", "t"), ("ACCEPT", "application/json")]
    assert winner(index, "GET", "/a", headers=sent) == "h"
    assert winner(index, "GET", "/a", headers=[("X-TOKEN", "u"), ("Accept", "json")]) is None


def test_cookies() -> None:
    spec = {"path": "/a", "cookies": {"session": "abc", "debug": {"absent": True}}}
    index = index_of({"id": "c", "request": spec})
    assert winner(index, "GET", "/a", headers=[("Cookie", 'x=1; session="abc"')]) == "c"
    assert winner(index, "GET", "/a", headers=[("Cookie", "session=abc; debug=1")]) is None
    assert winner(index, "GET", "/a") is None


def test_every_body_matcher_in_a_list_must_hold() -> None:
    spec = {"path": "/a", "body": [{"json_subset": {"n": 1}}, {"contains": "x"}]}
    index = index_of({"id": "b", "request": spec})
    assert winner(index, "POST", "/a", body=b'{"n": 1, "x": 2}') == "b"
    assert winner(index, "POST", "/a", body=b'{"n": 1}') is None
    assert winner(index, "POST", "/a", body=b'{"x": 2}') is None


# ---------------------------------------------------------------------------------------------
# Which of several


def test_priority_beats_file_order() -> None:
    index = index_of(
        {"id": "first", "request": {"path": "/a"}},
        {"id": "preferred", "priority": 5, "request": {"path": "/{x}"}},
    )
    assert winner(index, "GET", "/a") == "preferred"


def test_file_order_breaks_ties() -> None:
    index = index_of(
        {"id": "first", "request": {"path": "/a"}},
        {"id": "second", "request": {"path": "/a"}, "response": {"status": 201}},
    )
    assert winner(index, "GET", "/a") == "first"


@pytest.mark.parametrize(("first", "second"), [("exact", "template"), ("template", "exact")])
def test_exact_and_template_at_equal_priority_earlier_wins(first: str, second: str) -> None:
    paths = {"exact": "/user/1", "template": "/user/{id}"}
    index = index_of(
        {"id": first, "request": {"path": paths[first]}},
        {"id": second, "request": {"path": paths[second]}},
    )
    assert winner(index, "GET", "/user/1") == first


def test_regex_stub_earlier_in_file_beats_exact_path() -> None:
    index = index_of(
        {"id": "regex", "request": {"path_regex": "^/a$"}},
        {"id": "exact", "request": {"path": "/a"}},
    )
    assert winner(index, "GET", "/a") == "regex"


def test_a_failing_field_falls_through_to_the_next_candidate() -> None:
    index = index_of(
        {"id": "v2", "request": {"path": "/a", "query": {"v": "2"}}},
        {"id": "default", "request": {"path": "/a"}},
    )
    assert winner(index, "GET", "/a", query_string="v=2") == "v2"
    assert winner(index, "GET", "/a", query_string="v=1") == "default"


def test_ten_thousand_stubs_still_find_the_right_one() -> None:
    stubs = []
    for i in range(10_000):
        path = f"/api/item{i}/{{id}}" if i % 2 else f"/api/other/{i}"
        stubs.append({"id": f"s{i}", "request": {"method": "GET", "path": path}})
    index = index_of(*stubs)
    assert len(index) == 10_000
    assert winner(index, "GET", "/api/item9999/7") == "s9999"
    assert winner(index, "GET", "/api/other/9998") == "s9998"
    assert winner(index, "GET", "/api/other/9999") is None
    assert params(index, "/api/item1/abc") == {"id": "abc"}


# ---------------------------------------------------------------------------------------------
# Near misses


def test_stub_differing_in_one_query_param_ranks_first() -> None:
    index = index_of(
        {"id": "far", "request": {"method": "POST", "path": "/api/other"}},
        {"id": "near", "request": {"method": "GET", "path": "/api/items", "query": {"page": "2"}}},
    )
    misses = index.near_misses(RequestView("GET", "/api/items", "page=3"))
    assert [m.stub.id for m in misses] == ["near", "far"]
    assert misses[0].distance < misses[1].distance
    first = NearStub.of(misses[0]).to_json()["first_difference"]
    assert first == {
        "field": "query.page",
        "expected": 'equals "2"',
        "actual": '"3"',
        "why": 'expected "2", got "3"',
    }


def test_a_wrong_path_weighs_more_than_a_wrong_method_more_than_a_parameter() -> None:
    index = index_of(
        {"id": "wrong-path", "request": {"method": "GET", "path": "/api/orders"}},
        {"id": "wrong-method", "request": {"method": "POST", "path": "/api/items"}},
        {"id": "wrong-param", "request": {"path": "/api/items", "query": {"page": "2"}}},
    )
    misses = index.near_misses(RequestView("GET", "/api/items"))
    assert [m.stub.id for m in misses] == ["wrong-param", "wrong-method", "wrong-path"]


def test_a_route_called_again_is_not_ranked_against_every_stub_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index = index_of(
        *({"id": f"s{i}", "request": {"path": f"/api/items/{i}"}} for i in range(50)),
        {"id": "near", "request": {"path": "/api/items", "query": {"page": "2"}}},
    )
    ranked: list[str] = []
    original = matching._first  # the ranking's key: called once per stub ranked

    def counting(pair: tuple[float, Stub]) -> float:
        ranked.append(pair[1].id)
        return original(pair)

    monkeypatch.setattr(matching, "_first", counting)
    first = index.near_misses(RequestView("GET", "/api/items", "page=3"))
    assert len(ranked) == 51
    # The same route with other fields: only the field-by-field pass runs again.
    again = index.near_misses(RequestView("GET", "/api/items", "page=4"))
    assert len(ranked) == 51
    assert [m.stub.id for m in again] == [m.stub.id for m in first]
    difference = NearStub.of(again[0]).to_json()["first_difference"]
    assert isinstance(difference, dict)
    assert difference["actual"] == '"4"'
    index.near_misses(RequestView("POST", "/api/items", "page=3"))  # another route
    assert len(ranked) == 102


@pytest.mark.parametrize(
    ("request_args", "field"),
    [
        ({"method": "POST", "path": "/a"}, "method"),
        ({"method": "GET", "path": "/b"}, "path"),
        ({"method": "GET", "path": "/a", "query_string": "v=2"}, "query.v"),
        ({"method": "GET", "path": "/a", "query_string": "v=1"}, "headers.accept"),
    ],
)
def test_first_difference_names_the_field(request_args: dict[str, Any], field: str) -> None:
    spec = {"method": "GET", "path": "/a", "query": {"v": "1"}, "headers": {"Accept": "json"}}
    (miss,) = index_of({"id": "s", "request": spec}).near_misses(RequestView(**request_args))
    assert miss.differences[0].field == field


def test_differences_are_listed_in_request_order() -> None:
    spec = {
        "method": "POST",
        "path": "/x",
        "query": {"a": "1"},
        "headers": {"h": "1"},
        "cookies": {"c": "1"},
        "body": "b",
    }
    request = RequestView("GET", "/y", "a=2", [("h", "2"), ("cookie", "c=2")], b"z")
    found = differences(stub_of({"request": spec}), request)
    fields = [d.field for d in found]
    assert fields == ["method", "path", "query.a", "headers.h", "cookies.c", "body"]
    # A cookie's value is a secret on both sides (issue 13): neither is shown.
    assert [d.actual for d in found] == ["GET", "/y", '"2"', '"2"', "<redacted>", "z"]
    assert found[4].expected == "<redacted>"


def test_path_difference_explains_trailing_slash_and_segments() -> None:
    exact = stub_of({"request": {"path": "/a/b"}})
    template = stub_of({"request": {"path": "/a/{id}"}})
    assert differences(exact, RequestView("GET", "/a/b/"))[0].why == (
        "differs only in the trailing slash"
    )
    assert differences(template, RequestView("GET", "/a/1/2"))[0].why == (
        "the template has 2 segments, the path 3"
    )


def test_near_misses_limit_is_respected() -> None:
    index = index_of(*({"id": f"s{i}", "request": {"path": f"/p{i}"}} for i in range(10)))
    request = RequestView("GET", "/nope")
    assert len(index.near_misses(request)) == 3
    assert len(index.near_misses(request, limit=5)) == 5
    assert index.near_misses(request, limit=0) == []


def test_a_matching_stub_is_not_a_near_miss() -> None:
    index = index_of(
        {"id": "hit", "request": {"path": "/a"}}, {"id": "miss", "request": {"path": "/b"}}
    )
    assert [m.stub.id for m in index.near_misses(RequestView("GET", "/a"))] == ["miss"]


def test_no_stubs_no_near_misses() -> None:
    index = StubIndex([])
    assert index.match(RequestView("GET", "/")) is None
    assert index.near_misses(RequestView("GET", "/")) == []


def test_a_request_answered_on_this_thread_leaves_no_match_budget_behind() -> None:
    from mockserver.core import budget
    from mockserver.core.respond import respond
    from mockserver.core.store import StubStore
    from mockserver.stubfiles.stubfile import combine, parse_service

    document = {"stubs": [{"request": {"path": "/a", "query": {"v": {"regex": "^x$"}}}}]}
    service, stubs, _ = parse_service(document, "test.yaml", "svc", lambda name: b"")
    assert service is not None
    store = StubStore(combine([(service, stubs)]))
    assert respond(store, None, RequestView("GET", "/b", "", (), b"")).status == 404
    # The next request (or a test) on this thread starts afresh, with no deadline at all.
    assert budget.clock().deadline == float("inf")
