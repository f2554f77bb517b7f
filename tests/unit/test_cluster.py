"""serve --workers, the parts without sockets: merging answers, refusals, settings on the wire."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mockserver.core.config import Settings
from mockserver.formats.loader import load_paths
from mockserver.workers.cluster import Call, _refuse_sequences, _sum_hits, merge_journals
from mockserver.workers.privatesockets import Reply
from mockserver.workers.worker import settings_as_json, settings_from_json, stateful_parts


def part(rows: list[tuple[float, int]], **page: Any) -> dict[str, Any]:
    """A worker's journal answer: (time, seq) rows."""
    entries = [{"t": t, "entry": {"seq": seq, "at": t}} for t, seq in rows]
    return (
        {"entries": entries, "total": len(rows), "journal_size": 1000}
        | {
            "offset": 0,
            "limit": None,
        }
        | page
    )


def test_journals_merge_by_time_then_worker_and_the_page_is_cut_after() -> None:
    zero = part([(1.0, 1), (3.0, 2), (3.0, 3)])
    one = part([(2.0, 1), (3.0, 2), (4.0, 3)])
    merged = merge_journals([zero, one], unmatched=False)
    assert [(e["at"], e["seq"]) for e in merged["requests"]] == [
        (1.0, 1),
        (2.0, 1),
        (3.0, 2),  # worker 0's two entries at 3.0 keep their order, before worker 1's
        (3.0, 3),
        (3.0, 2),
        (4.0, 3),
    ]
    assert (merged["total"], merged["journal_size"]) == (6, 2000)
    paged = merge_journals(
        [part(r, offset=2, limit=3) for r in ([(1.0, 1), (3.0, 2)], [(2.0, 1), (4.0, 2)])],
        unmatched=False,
    )
    assert [e["at"] for e in paged["requests"]] == [3.0, 4.0]
    assert paged["offset"] == 2
    # Unmatched: every worker's total since the reset is summed, whatever its journal keeps.
    assert merge_journals([part([(2.0, 1)]), part([(1.0, 1)])], unmatched=True) == {
        "requests": [{"seq": 1, "at": 1.0}, {"seq": 1, "at": 2.0}],
        "total": 2,
    }


def test_hits_are_summed_by_stub_and_a_failure_wins() -> None:
    first = Reply.of(200, {"stubs": [{"id": "a", "hits": 1}, {"id": "b", "hits": 0}]})
    second = Reply.of(200, {"stubs": [{"id": "b", "hits": 4}, {"id": "a", "hits": 2}]})
    assert _sum_hits([first, second]).json() == {
        "stubs": [{"id": "a", "hits": 3}, {"id": "b", "hits": 4}]
    }
    one = [Reply.of(200, {"id": "a", "hits": n}) for n in (1, 5)]
    assert _sum_hits(one).json() == {"id": "a", "hits": 6}
    reset = Reply.of(200, {"status": "reset", "stubs": 3})  # "stubs" is a count here
    assert _sum_hits([reset, reset]) is reset
    missing = Reply.of(404, {"error": "no such stub", "detail": "..."})
    assert _sum_hits([one[0], missing]) is missing


def test_sequences_are_refused_in_any_form_and_nothing_else() -> None:
    def call(method: str, path: str, body: Any) -> Call:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return Call(method, path, path, raw, {}, 0)

    sequence = {"request": {"path": "/s"}, "responses": [{"json": 1}]}
    for refused in (
        call("POST", "/stubs", sequence),
        call("POST", "/stubs", [{"request": {}}, sequence]),
        call("PUT", "/stubs/s", sequence),
    ):
        answer = _refuse_sequences(refused, 3)
        assert answer is not None
        assert answer.status == 422
        assert "3 worker processes" in answer.json()["detail"]
    for allowed in (
        call("POST", "/stubs", {"request": {}, "response": {"json": 1}}),
        call("POST", "/stubs", b"{not json"),  # the workers answer 400 for it
        call("POST", "/requests/count", {"responses": 1}),
    ):
        assert _refuse_sequences(allowed, 3) is None


def test_settings_travel_to_the_workers_unchanged() -> None:
    settings = Settings(
        paths=("a", "b"),
        host="::1",
        port=0,
        admin_token="t",
        redact=("x-secret", "$.password"),
        watch=True,
        journal_size=0,
    )
    wire = json.loads(json.dumps(settings_as_json(settings)))
    assert settings_from_json(wire) == settings


def test_stateful_parts_name_resource_files_and_sequence_stubs(tmp_path: Path) -> None:
    (tmp_path / "carts.yaml").write_text("resources:\n  - path: /carts\n")
    (tmp_path / "app.yaml").write_text(
        "stubs:\n"
        "  - id: plain\n    request: {path: /p}\n"
        "  - id: turns\n    request: {path: /t}\n    responses: [{json: 1}, {json: 2}]\n"
    )
    parts = stateful_parts(load_paths([str(tmp_path)]))
    assert parts == [
        f"stateful resources in {tmp_path / 'carts.yaml'}",
        "'responses:' sequences in 'turns'",
    ]
    (tmp_path / "carts.yaml").unlink()
    (tmp_path / "app.yaml").write_text("stubs:\n  - request: {path: /p}\n")
    assert stateful_parts(load_paths([str(tmp_path)])) == []
