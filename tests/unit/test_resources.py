"""Stateful resources: JSON merge patch (RFC 7396) and every operation and condition."""

from __future__ import annotations

import copy
import json
from typing import Any

import msgpack
import pytest

from mockserver.core.model import ResourceSpec
from mockserver.core.request import RequestView
from mockserver.core.resources import ResourceOutcome, ResourceState, merge_patch, states_for

# ---------------------------------------------------------------------------------------------
# merge_patch: every example of RFC 7396 Appendix A, then the one of section 3


@pytest.mark.parametrize(
    ("original", "patch", "result"),
    [
        pytest.param({"a": "b"}, {"a": "c"}, {"a": "c"}, id="A1 replace"),
        pytest.param({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}, id="A2 add"),
        pytest.param({"a": "b"}, {"a": None}, {}, id="A3 remove"),
        pytest.param({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}, id="A4 remove one"),
        pytest.param({"a": ["b"]}, {"a": "c"}, {"a": "c"}, id="A5 array to string"),
        pytest.param({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}, id="A6 string to array"),
        pytest.param(
            {"a": {"b": "c"}},
            {"a": {"b": "d", "c": None}},
            {"a": {"b": "d"}},
            id="A7 nested",
        ),
        pytest.param({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}, id="A8 arrays replace"),
        pytest.param(["a", "b"], ["c", "d"], ["c", "d"], id="A9 array by array"),
        pytest.param({"a": "b"}, ["c"], ["c"], id="A10 object by array"),
        pytest.param({"a": "foo"}, None, None, id="A11 null patch"),
        pytest.param({"a": "foo"}, "bar", "bar", id="A12 string patch"),
        pytest.param({"e": None}, {"a": 1}, {"e": None, "a": 1}, id="A13 target null kept"),
        pytest.param([1, 2], {"a": "b", "c": None}, {"a": "b"}, id="A14 array by object"),
        pytest.param({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}, id="A15 deep null"),
        pytest.param(
            {
                "title": "Goodbye!",
                "author": {"givenName": "John", "familyName": "Doe"},
                "tags": ["example", "sample"],
                "content": "This will be unchanged",
            },
            {
                "title": "Hello!",
                "phoneNumber": "+01-123-456-7890",
                "author": {"familyName": None},
                "tags": ["example"],
            },
            {
                "title": "Hello!",
                "author": {"givenName": "John"},
                "tags": ["example"],
                "content": "This will be unchanged",
                "phoneNumber": "+01-123-456-7890",
            },
            id="section 3 example",
        ),
    ],
)
def test_merge_patch(original: Any, patch: Any, result: Any) -> None:
    before, patch_before = copy.deepcopy(original), copy.deepcopy(patch)
    assert merge_patch(original, patch) == result
    assert (original, patch) == (before, patch_before)  # neither input is modified


# ---------------------------------------------------------------------------------------------
# ResourceState

CARTS = "/api/carts"
DECLARED = ({"id": "1", "owner": "Simon", "lines": [{"sku": "ABC-123", "quantity": 2}]},)


def fresh(items: tuple[dict[str, Any], ...] = DECLARED) -> ResourceState:
    return ResourceState(ResourceSpec(CARTS, "id", items), "shop")


def call(
    state: ResourceState,
    method: str,
    path: str = CARTS + "/1",
    body: Any = None,
    content_type: str = "application/json",
    **headers: str,
) -> ResourceOutcome:
    """One request; ``body`` is sent as JSON, ``if_match="..."`` becomes If-Match."""
    sent = [(k.replace("_", "-"), v) for k, v in headers.items()]
    raw = b""
    if body is not None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent.append(("Content-Type", content_type))
    return state.handle(RequestView(method, path, headers=sent, body=raw))


def etag(outcome: ResourceOutcome) -> str:
    return dict(outcome.headers)["ETag"]


def read(outcome: ResourceOutcome) -> Any:
    return json.loads(outcome.body)


def test_owns_the_collection_and_one_level_of_items() -> None:
    state = fresh()
    owned = [CARTS, CARTS + "/1", CARTS + "/anything"]
    not_owned = [CARTS + "/", CARTS + "/1/lines", "/api/cartsx", "/api/carts2/1", "/api"]
    assert [state.owns(p) for p in owned] == [True] * 3
    assert [state.owns(p) for p in not_owned] == [False] * 5


def test_get_collection_and_item() -> None:
    state = fresh()
    listing = call(state, "GET", CARTS)
    assert (listing.status, read(listing)) == (200, list(DECLARED))
    item = call(state, "GET")
    assert (item.status, read(item)) == (200, DECLARED[0])
    assert etag(item).startswith('"v1-')
    assert call(state, "HEAD").headers == item.headers
    assert call(state, "GET", CARTS + "/9").status == 404


def test_post_creates_with_201_location_and_etag() -> None:
    state = fresh()
    created = call(state, "POST", CARTS, {"owner": "Ada"})
    assert created.status == 201
    assert read(created) == {"owner": "Ada", "id": "2"}  # the next number
    headers = dict(created.headers)
    assert headers["Location"] == CARTS + "/2"
    assert headers["ETag"] == etag(call(state, "GET", CARTS + "/2"))
    chosen = call(state, "POST", CARTS, {"id": "abc", "owner": "Bob"})
    assert (chosen.status, dict(chosen.headers)["Location"]) == (201, CARTS + "/abc")


def test_post_of_messagepack_is_read_as_json() -> None:
    packed = msgpack.packb({"owner": "Ada"})
    created = call(state := fresh(), "POST", CARTS, packed, "application/msgpack")
    assert created.status == 201
    assert read(call(state, "GET", CARTS + "/2"))["owner"] == "Ada"


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        pytest.param({"id": "1"}, 409, "conflict", id="existing id"),
        pytest.param({"id": "a/b"}, 422, "invalid id", id="slash in id"),
        pytest.param({"id": ""}, 422, "invalid id", id="empty id"),
        pytest.param(["not", "an", "object"], 422, "not an object", id="array"),
        pytest.param(b"{not json", 400, "malformed JSON", id="malformed"),
        pytest.param(b"", 400, "malformed JSON", id="empty body"),
    ],
)
def test_post_refusals(body: Any, status: int, error: str) -> None:
    state = fresh()
    refused = call(state, "POST", CARTS, body)
    assert (refused.status, read(refused)["error"]) == (status, error)
    assert len(state.items) == 1


def test_put_replaces_or_creates() -> None:
    state = fresh()
    before = etag(call(state, "GET"))
    replaced = call(state, "PUT", body={"owner": "Ada"})
    assert (replaced.status, read(replaced)) == (200, {"owner": "Ada", "id": "1"})
    assert etag(replaced).startswith('"v2-')
    assert etag(replaced) != before
    created = call(state, "PUT", CARTS + "/7", {"owner": "Bob"})
    assert (created.status, read(created)) == (201, {"owner": "Bob", "id": "7"})
    mismatch = call(state, "PUT", body={"id": "2", "owner": "Eve"})
    assert (mismatch.status, read(mismatch)["error"]) == (422, "id mismatch")


def test_put_keeps_a_declared_numeric_id_typed() -> None:
    state = fresh(({"id": 1, "owner": "Simon"},))
    assert read(call(state, "PUT", body={"owner": "Ada"})) == {"owner": "Ada", "id": 1}


def test_patch_is_a_merge_patch_and_keeps_the_id() -> None:
    state = fresh()
    patched = call(state, "PATCH", body={"owner": "Ada", "lines": None, "note": {"gift": True}})
    assert patched.status == 200
    assert read(patched) == {"id": "1", "owner": "Ada", "note": {"gift": True}}
    assert read(call(state, "GET")) == read(patched)
    assert call(state, "PATCH", CARTS + "/9", {"owner": "x"}).status == 404


def test_delete() -> None:
    state = fresh()
    deleted = call(state, "DELETE")
    assert (deleted.status, deleted.body) == (204, b"")
    assert call(state, "GET").status == 404
    assert call(state, "DELETE").status == 404
    assert read(call(state, "GET", CARTS)) == []


def test_etag_changes_on_every_write_even_one_that_changes_nothing() -> None:
    state = fresh()
    tags = [etag(call(state, "GET"))]
    tags.append(etag(call(state, "PATCH", body={})))
    tags.append(etag(call(state, "PUT", body=DECLARED[0])))
    tags.append(etag(call(state, "PATCH", body={"owner": "Simon"})))
    assert len(set(tags)) == 4
    assert [t.split("-")[0] for t in tags] == ['"v1', '"v2', '"v3', '"v4']


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_writes_with_if_match(method: str) -> None:
    state = fresh()
    current = etag(call(state, "GET"))
    body = None if method == "DELETE" else {"owner": "Ada"}
    stale = call(state, method, body=body, if_match='"v0-000000000000"')
    assert (stale.status, read(stale)["error"]) == (412, "precondition failed")
    weak = call(state, method, body=body, if_match="W/" + current)  # strong comparison
    assert weak.status == 412
    assert etag(call(state, "GET")) == current  # nothing was written
    assert call(state, method, body=body, if_match=current).status in (200, 204)
    assert call(state, method, body=body, if_match=current).status in (412, 404)


def test_put_create_conditions() -> None:
    state = fresh()
    assert call(state, "PUT", CARTS + "/8", {"a": 1}, if_match="*").status == 412
    assert call(state, "PUT", CARTS + "/8", {"a": 1}, if_none_match="*").status == 201
    refused = call(state, "PUT", CARTS + "/8", {"a": 2}, if_none_match="*")
    assert refused.status == 412
    assert "exists" in read(refused)["detail"]
    assert read(call(state, "GET", CARTS + "/8")) == {"a": 1, "id": "8"}


def test_if_none_match_gives_304_for_reads_and_412_for_writes() -> None:
    state = fresh()
    current = etag(call(state, "GET"))
    for method in ("GET", "HEAD"):
        not_modified = call(state, method, if_none_match=f'"x", W/{current}')
        assert (not_modified.status, not_modified.body) == (304, b"")
        assert dict(not_modified.headers)["ETag"] == current
    assert call(state, "GET", if_none_match='"v0-x"').status == 200
    assert call(state, "PATCH", body={"a": 1}, if_none_match=current).status == 412


def test_collection_etag_follows_its_content() -> None:
    state = fresh()
    first = etag(call(state, "GET", CARTS))
    assert call(state, "GET", CARTS, if_none_match=first).status == 304
    assert call(state, "GET", CARTS, if_match='"other"').status == 412
    call(state, "PATCH", body={"owner": "Ada"})
    after = call(state, "GET", CARTS, if_none_match=first)
    assert after.status == 200
    assert etag(after) != first


def test_no_lost_update() -> None:
    state = fresh()
    seen = etag(call(state, "GET"))  # both writers read the same version
    outcomes = [
        call(state, "PATCH", body={"owner": owner}, if_match=seen) for owner in ("Ada", "Bob")
    ]
    assert sorted(o.status for o in outcomes) == [200, 412]
    assert read(call(state, "GET"))["owner"] == "Ada"  # the first writer's change survives


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        pytest.param("POST", CARTS + "/1", "GET, HEAD, PUT, PATCH, DELETE", id="POST item"),
        pytest.param("PUT", CARTS, "GET, HEAD, POST", id="PUT collection"),
        pytest.param("DELETE", CARTS, "GET, HEAD, POST", id="DELETE collection"),
        pytest.param("OPTIONS", CARTS + "/1", "GET, HEAD, PUT, PATCH, DELETE", id="OPTIONS"),
    ],
)
def test_other_methods_get_405_with_allow(method: str, path: str, allowed: str) -> None:
    refused = call(fresh(), method, path, {"a": 1})
    assert (refused.status, dict(refused.headers)["Allow"]) == (405, allowed)


def test_a_fresh_state_restores_the_declared_items() -> None:
    spec = ResourceSpec(CARTS, "id", DECLARED)
    state = ResourceState(spec)
    call(state, "PATCH", body={"owner": "Ada", "lines": [{"sku": "X", "quantity": 9}]})
    call(state, "POST", CARTS, {"owner": "Bob"})
    (again,) = states_for({"shop": (spec,)})["shop"]
    assert read(call(again, "GET", CARTS)) == list(DECLARED)
    assert spec.items == DECLARED  # writes never reach the declared items
    assert DECLARED[0]["lines"] == [{"sku": "ABC-123", "quantity": 2}]


def test_a_restored_copy_answers_as_the_dumped_state_did() -> None:
    state = fresh()
    call(state, "PATCH", body={"owner": "Ada"})
    call(state, "POST", CARTS, {"owner": "Bob"})
    copy_ = state.restored(state.dumped())
    for path in (CARTS, CARTS + "/1", CARTS + "/2"):
        assert call(copy_, "GET", path) == call(state, "GET", path)  # items, order, ETags
    assert copy_.size == state.size
    call(copy_, "DELETE", CARTS + "/2")
    assert call(state, "GET", CARTS + "/2").status == 200  # the copy's writes are its own
