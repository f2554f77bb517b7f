"""Arbitrary requests never crash matching, near misses, the unmatched report or rendering.

The stubs use every matcher and path kind; the requests are random in every field (method,
path, query, headers, body bytes, JSON and MessagePack bodies). Beyond not crashing: a match
is a stub whose request holds, no near miss matches, and the report is JSON.
"""

from __future__ import annotations

import json
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver.core.matching import StubIndex, request_holds
from mockserver.core.model import Stub
from mockserver.core.render import choose
from mockserver.core.report import unmatched_report
from mockserver.core.request import RequestView
from mockserver.stubfiles.stubfile import combine, parse_service

STUBS: list[dict[str, Any]] = [
    {"request": {"method": "GET", "path": "/api/user/1"}, "response": {"json": {"id": "1"}}},
    {"request": {"path": "/api/user/{id}"}, "response": {"status": 404, "body": "nope"}},
    {"request": {"path": "/files/{name}.json"}, "response": {"body": "f" * 300}},
    {"request": {"path_regex": "^/re/(?P<n>[0-9]+)$"}, "response": {"body": "re"}},
    {
        "request": {
            "method": ["POST", "PUT"],
            "path": "/users",
            "headers": {"Content-Type": {"contains": "json"}},
            "body": {"json_subset": {"name": "Ada"}},
        },
        "response": {"status": 201},
    },
    {
        "request": {
            "path": "/search",
            "query": {"q": {"regex": "^a+$", "case_insensitive": True}, "page": {"absent": True}},
        },
        "response": {"body": "search", "etag": "literal"},
    },
    {
        "request": {
            "path": "/jp",
            "body": {"json_path": {"$.a.b": {"any_of": [1, {"regex": "x"}]}, "$.items[*].id": 7}},
        },
        "response": {"body": "jp", "last_modified": "2021-06-29T21:32:25Z"},
    },
    {
        "request": {
            "path": "/eq",
            "body": [{"json": {"k": [1, 2]}}, {"not": {"contains": "z"}}],
            "cookies": {"session": {"equals": "abc"}},
        },
        "response": {"json": {"big": "j" * 400}},
    },
    {
        "request": {"headers": {"X-Any": {"absent": False}}},
        "responses": [{"body": "first"}, {"status": 503}],
    },
    {"priority": 5, "request": {"method": "DELETE"}, "response": {"status": 204}},
]


def no_files(relative: str) -> bytes:
    raise ValueError(relative)


@pytest.fixture(scope="module")
def stubs() -> list[Stub]:
    service, parsed, problems = parse_service({"stubs": STUBS}, "svc.yaml", "svc", no_files)
    assert not problems, [str(p) for p in problems]
    assert service is not None
    return list(combine([(service, parsed)]).stubs)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=15,
)
tokens = st.text(alphabet=st.characters(codec="latin-1"), max_size=20)
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    json_values.map(msgpack.packb),
    st.just(b"[" * 5000),
)
paths = st.one_of(
    st.text(max_size=40).map(lambda p: "/" + p),
    st.lists(
        st.sampled_from(["api", "user", "1", "files", "x.json", "re", "12", ""]), max_size=5
    ).map(lambda parts: "/" + "/".join(parts)),
)
header_names = (
    st.sampled_from(
        [
            "Content-Type",
            "Accept",
            "Accept-Encoding",
            "Cookie",
            "X-Any",
            "If-None-Match",
            "If-Match",
            "If-Modified-Since",
            "If-Unmodified-Since",
        ]
    )
    | tokens
)
views = st.builds(
    RequestView,
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]) | tokens,
    path=paths,
    query_string=st.text(max_size=40),
    headers=st.lists(st.tuples(header_names, tokens), max_size=8),
    body=bodies,
)


@given(view=views)
def test_any_request_is_matched_or_explained_without_error(
    stubs: list[Stub], view: RequestView
) -> None:
    index = StubIndex(stubs)
    found = index.match(view)
    if found is not None:
        assert request_holds(found.stub.request, view)
        for prepared in (found.stub.prepared, *found.stub.sequence):
            choice = choose(prepared, view)
            assert 100 <= choice.status <= 599
            if choice.status == 304:
                assert choice.body == b""
        return
    misses = index.near_misses(view, 3)
    assert len(misses) <= 3
    for miss in misses:
        assert miss.differences  # a stub that matched would not be a near miss
        assert not request_holds(miss.stub.request, view)
    report = unmatched_report(view, misses, len(index))
    json.dumps(report.to_json(), ensure_ascii=False).encode("utf-8", "surrogateescape")
    report.text()


@given(view=views)
def test_rendering_any_stub_for_any_request_gives_a_valid_status(
    stubs: list[Stub], view: RequestView
) -> None:
    for stub in stubs:
        choice = choose(stub.prepared, view)
        assert choice.status in (stub.prepared.status, 304, 406, 412)
        if choice.status in (304, 406, 412):
            assert 200 <= stub.prepared.status < 300
        names = [name.lower() for name, _ in choice.headers]
        assert len(names) == len(set(names)) or "set-cookie" in names
