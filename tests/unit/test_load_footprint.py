"""What loading keeps: responses prepared on first use, equal small values shared, and the
parsed document let go stub by stub."""

from __future__ import annotations

import json
from pathlib import Path

from mockserver.core.render import prepare
from mockserver.core.shapes import forget_shared, shared
from mockserver.formats.loader import load_paths
from mockserver.stubfiles.stubfile import parse_service


def _write(tmp_path: Path, stubs: list[dict[str, object]]) -> Path:
    (tmp_path / "svc.json").write_text(json.dumps({"service": "svc", "stubs": stubs}))
    return tmp_path


def test_a_response_is_prepared_on_first_use_then_kept(tmp_path: Path) -> None:
    loaded = load_paths([_write(tmp_path, [{"request": {"path": "/a"}, "response": {"json": 1}}])])
    stub = loaded.stubs[0]
    assert stub._prepared is None  # nothing prepared at load
    first = stub.prepared
    assert stub.prepared is first  # prepared once
    again = prepare(stub.response, methods=stub.request.methods)
    assert (first.status, first.headers, first.body, first.etag) == (
        again.status,
        again.headers,
        again.body,
        again.etag,
    )


def test_a_sequence_is_prepared_on_first_use(tmp_path: Path) -> None:
    responses = [{"status": 200}, {"status": 503}]
    loaded = load_paths([_write(tmp_path, [{"request": {"path": "/a"}, "responses": responses}])])
    stub = loaded.stubs[0]
    assert stub._sequence is None
    assert [p.status for p in stub.sequence] == [200, 503]
    assert stub.sequence is stub.sequence


def test_equal_method_sets_and_delays_are_one_object(tmp_path: Path) -> None:
    stubs: list[dict[str, object]] = [
        {"request": {"method": "GET", "path": f"/a/{i}/{{id}}"}, "response": {"delay_ms": 5}}
        for i in range(3)
    ]
    a, b, c = load_paths([_write(tmp_path, stubs)]).stubs
    assert a.request.methods is b.request.methods is c.request.methods
    assert a.response.delay_ms is b.response.delay_ms == (5, 5)
    assert a.request.path is not None
    assert b.request.path is not None
    assert a.request.path.segments[-1] is b.request.path.segments[-1]  # the {id} segment


def test_the_shared_table_starts_afresh() -> None:
    forget_shared()
    one = shared(("x", 1))
    assert shared(("x", 1)) is one
    forget_shared()
    two = ("x", 1)
    assert shared(two) is two


def test_release_lets_go_of_each_parsed_stub_and_only_when_asked() -> None:
    def document() -> dict[str, object]:
        return {"stubs": [{"request": {"path": f"/{i}"}, "response": {}} for i in range(3)]}

    kept = document()
    _, stubs, problems = parse_service(kept, "t.json", "svc", lambda name: b"")
    assert not problems
    assert len(stubs) == 3
    assert kept == document()  # untouched without release

    released = document()
    _, stubs, problems = parse_service(released, "t.json", "svc", lambda name: b"", release=True)
    assert not problems
    assert [s.request.path.text for s in stubs if s.request.path] == [
        "/0",
        "/1",
        "/2",
    ]
    assert released["stubs"] == [None, None, None]
