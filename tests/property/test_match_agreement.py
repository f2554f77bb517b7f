"""The two readings of a stub against a request agree: matching (``StubIndex.match``, the fast
loop that stops at the first failing field) and the explanation (``differences``, which lists
every field) say the same thing for generated stubs, requests and scenario states.

Both loops are kept for speed: matching runs per request and must not build a report. This is
what keeps them from drifting apart: a stub matches exactly when it has no difference.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import given
from hypothesis import strategies as st

from mockserver.core.budget import end_match_budget, start_match_budget
from mockserver.core.matching import StubIndex, differences, request_holds
from mockserver.core.request import RequestView
from mockserver.stubfiles.stubfile import parse_service

T = TypeVar("T")
# Few distinct words, so that generated requests often hold what generated stubs ask.
words = st.sampled_from(["a", "A", "b", "ab", "1", "", "x y", "é"])
names = st.sampled_from(["q", "v", "x-id", "session"])
string_matchers = st.one_of(
    words,
    st.builds(dict, equals=words),
    st.builds(dict, contains=words),
    st.builds(dict, regex=st.sampled_from(["^a", "b$", "[0-9]", ".*"])),
    st.builds(dict, absent=st.booleans()),
)
matchers = st.recursive(
    string_matchers
    | string_matchers.filter(lambda m: isinstance(m, dict) and "absent" not in m).map(
        lambda m: {**m, "case_insensitive": True} if not isinstance(m, str) else m
    ),
    lambda inner: (
        st.builds(dict, any_of=st.lists(inner, min_size=1, max_size=3))
        | st.builds(dict, **{"not": inner})
    ),
    max_leaves=4,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 2) | words,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
    max_leaves=6,
)
body_matchers = st.one_of(
    matchers,
    st.builds(dict, json=json_values),
    st.builds(dict, json_subset=json_values),
    st.builds(
        dict,
        json_path=st.dictionaries(
            st.sampled_from(["$.q", "$.v[*]", "$..x-id"]), json_values, min_size=1
        ),
    ),
    st.builds(dict, form=st.dictionaries(names, matchers, min_size=1, max_size=2)),
)
paths = st.sampled_from(["/a", "/a/b", "/a/{id}", "/{x}/b", "/f/{stem}.{ext}"])
request_specs = st.fixed_dictionaries(
    {},
    optional={
        "method": st.sampled_from(["GET", "POST"])
        | st.lists(st.sampled_from(["GET", "PUT"]), min_size=1),
        "path": paths,
        "path_regex": st.sampled_from(["^/a/(?P<id>[0-9]+)$", "b"]),
        "query": st.dictionaries(names, matchers, max_size=2),
        "headers": st.dictionaries(names, matchers, max_size=2),
        "cookies": st.dictionaries(names, matchers, max_size=2),
        "body": body_matchers | st.lists(body_matchers, min_size=1, max_size=2),
    },
).filter(lambda spec: not ("path" in spec and "path_regex" in spec))
scenarios = st.none() | st.fixed_dictionaries(
    {"name": st.just("s")}, optional={"state": st.sampled_from(["started", "two"])}
)


def stub_of(request: dict[str, Any], scenario: dict[str, Any] | None) -> Any:
    raw: dict[str, Any] = {"request": request}
    if scenario is not None:
        raw["scenario"] = scenario
    _, stubs, problems = parse_service({"stubs": [raw]}, "p.yaml", "p", lambda _: b"")
    assert not problems, [str(p) for p in problems]
    return stubs[0]


def query_of(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{name}={value}" for name, value in pairs)


bodies = st.one_of(
    st.just(b""),
    words.map(str.encode),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.lists(st.tuples(names, words), max_size=3).map(lambda p: query_of(p).encode()),
)
views = st.builds(
    RequestView,
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT"]),
    path=st.sampled_from(["/a", "/a/b", "/a/7", "/z/b", "/f/x.json", "/b", "/a/b/c"]),
    query_string=st.lists(st.tuples(names, words), max_size=3).map(query_of),
    headers=st.lists(
        st.tuples(names, words)
        | st.tuples(st.just("Cookie"), st.tuples(names, words).map("=".join))
        | st.just(("Content-Type", "application/x-www-form-urlencoded")),
        max_size=4,
    ),
    body=bodies,
)


def budgeted(run: Callable[[], T]) -> T:
    """``run()`` with a request's budget of its own, ample enough never to run out here."""
    budget = start_match_budget(60.0)
    try:
        return run()
    finally:
        end_match_budget(budget)


@given(
    request=request_specs, scenario=scenarios, view=views, state=st.sampled_from(["started", "two"])
)
def test_a_stub_matches_exactly_when_it_has_no_difference(
    request: dict[str, Any], scenario: dict[str, Any] | None, view: RequestView, state: str
) -> None:
    stub = stub_of(request, scenario)
    found = budgeted(lambda: StubIndex([stub]).match(view, lambda _name: state))
    found_diffs = budgeted(lambda: differences(stub, view, lambda _name: state))
    holds = budgeted(lambda: request_holds(stub.request, view))
    assert (found is not None) == (found_diffs == []), found_diffs
    # request_holds reads the request alone: every field but the scenario.
    assert holds == all(d.field == "scenario" for d in found_diffs), found_diffs
