"""Which file's stub answers when two files describe one route: found at load, said once per
route, and noted in the near-miss report; checked against what the matcher really does."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockserver.core.matching import StubIndex
from mockserver.core.report import unmatched_report
from mockserver.core.request import RequestView
from mockserver.formats.loader import load_paths, load_tree

from .builders import write

HAND = """\
service: users
stubs:
  - id: get-user-1
    {priority}request: {{method: GET, path: /api/user/1}}
    response: {{json: {{name: hand}}}}
  - id: get-user
    request: {{method: GET, path: "/api/user/{{id}}"}}
    response: {{json: {{name: template}}}}
"""
RECORDED = """\
# Recorded by mockserver from http://users.internal on 2026-12-06 08:00:00 UTC.
service: users
stubs:
  - id: users-get-api-user-1
    request: {method: GET, path: /api/user/1}
    response: {json: {name: recorded}}
"""


def answer(root: Path, method: str, path: str, query: str = "") -> str | None:
    found = StubIndex(load_paths([root]).stubs).match(RequestView(method, path, query, (), b""))
    return found.stub.id if found else None


def test_a_recorded_stub_that_answers_in_place_of_a_hand_written_one_is_named(
    tmp_path: Path,
) -> None:
    write(tmp_path, "users.yaml", HAND.format(priority=""))
    write(tmp_path, "users.recorded.yaml", RECORDED)
    whole, partial = load_tree([tmp_path]).shadows
    hand, recorded = tmp_path / "users.yaml", tmp_path / "users.recorded.yaml"
    assert whole.line() == (
        f"GET /api/user/1: stub 'users-get-api-user-1' in {recorded} answers; stub 'get-user-1' "
        f"in {hand} never does (equal priority, and users.recorded.yaml loads before "
        "users.yaml: files load in path order)"
    )
    assert partial.line() == (
        f"GET /api/user/1: stub 'users-get-api-user-1' in {recorded} answers; stub 'get-user' "
        f"[GET /api/user/{{id}}] in {hand} does not on this path (equal priority, and "
        "users.recorded.yaml loads before users.yaml: files load in path order)"
    )
    # What the lines say is what the matcher does.
    assert answer(tmp_path, "GET", "/api/user/1") == "users-get-api-user-1"
    assert answer(tmp_path, "GET", "/api/user/2") == "get-user"


def test_priority_decides_before_file_order_and_the_line_says_so(tmp_path: Path) -> None:
    write(tmp_path, "users.yaml", HAND.format(priority="priority: 1\n    "))
    write(tmp_path, "users.recorded.yaml", RECORDED)
    (shadow,) = load_tree([tmp_path]).shadows
    assert (shadow.winner.id, shadow.loser.id, shadow.whole) == (
        "get-user-1",
        "users-get-api-user-1",
        True,
    )
    assert shadow.why() == "priority 1 over 0"
    assert answer(tmp_path, "GET", "/api/user/1") == "get-user-1"


@pytest.mark.parametrize(
    ("first", "second", "shadowed"),
    [
        # The first file's stub asks less (no query): it answers every request the second would.
        ("{path: /a}", "{path: /a, query: {x: '1'}}", True),
        # It asks more: the second still answers requests without x=1.
        ("{path: /a, query: {x: '1'}}", "{path: /a}", False),
        # Any method covers GET; GET does not cover any method.
        ("{path: /a}", "{method: GET, path: /a}", True),
        ("{method: GET, path: /a}", "{path: /a}", False),
        ("{method: GET, path: /a}", "{method: [GET, POST], path: /a}", False),
        # A template first covers the exact path after it; no path covers every path.
        ('{path: "/a/{id}"}', "{path: /a/1}", True),
        ("{method: GET}", "{method: GET, path: /a}", True),
        # Another path, another listener's business: nothing to say.
        ("{path: /a}", "{path: /b}", False),
    ],
)
def test_what_counts_as_shadowed(tmp_path: Path, first: str, second: str, shadowed: bool) -> None:
    write(tmp_path, "a.yaml", f"service: s\nstubs:\n  - request: {first}\n")
    write(tmp_path, "b.yaml", f"service: s\nstubs:\n  - request: {second}\n")
    shadows = load_tree([tmp_path]).shadows
    assert [s.whole for s in shadows] == ([True] if shadowed else [])


def test_one_file_and_separate_ports_are_not_shadows(tmp_path: Path) -> None:
    write(
        tmp_path,
        "one.yaml",
        "stubs:\n  - request: {path: /a}\n  - request: {path: /a, query: {x: '1'}}\n",
    )
    write(tmp_path, "other.yaml", "port: 9001\nstubs:\n  - request: {path: /a}\n")
    assert load_tree([tmp_path]).shadows == ()


def test_the_near_miss_report_says_a_shadowed_stub_is_shadowed_and_by_what(
    tmp_path: Path,
) -> None:
    write(tmp_path, "users.yaml", HAND.format(priority=""))
    write(tmp_path, "users.recorded.yaml", RECORDED)
    index = StubIndex(load_paths([tmp_path]).stubs)
    request = RequestView("DELETE", "/api/user/1", "", (), b"")
    near = index.near_misses(request, limit=3)
    notes = {miss.stub.id: miss.shadowed for miss in near}
    assert notes["get-user-1"] == (
        f"shadowed on GET /api/user/1 by stub 'users-get-api-user-1' in "
        f"{tmp_path / 'users.recorded.yaml'} (stub #0), which answers first (equal priority, "
        "and users.recorded.yaml loads before users.yaml: files load in path order)"
    )
    assert notes["users-get-api-user-1"] is None
    typed = unmatched_report(request, near, len(index))
    shown = [m for m in typed.to_json()["nearest"] if m["stub"] == "get-user-1"]
    assert shown[0]["shadowed"] == notes["get-user-1"]
    assert f"       {notes['get-user-1']}" in typed.text().splitlines()
    # On another path the template is not shadowed: no note.
    other = index.near_misses(RequestView("DELETE", "/api/user/2", "", (), b""), limit=3)
    assert all(miss.shadowed is None for miss in other if miss.stub.id == "get-user")


def test_load_paths_logs_one_warning_per_shadowed_route(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path, "users.yaml", HAND.format(priority=""))
    write(tmp_path, "users.recorded.yaml", RECORDED)
    with caplog.at_level("WARNING", logger="mockserver.load"):
        load_paths([tmp_path])
    lines = [r.getMessage() for r in caplog.records if r.name == "mockserver.load"]
    assert [line.split(": stub")[0] for line in lines] == ["shadowed: GET /api/user/1"] * 2
    assert "never does" in lines[0]
    assert "does not on this path" in lines[1]


@pytest.mark.parametrize(("priority", "said"), [(0, [False]), (-1, [])])
def test_an_exact_path_over_a_template_of_another_file_is_said_at_equal_priority_only(
    tmp_path: Path, priority: int, said: list[bool]
) -> None:
    write(tmp_path, "a.yaml", "service: s\nstubs:\n  - request: {path: /a/1}\n")
    template = f'  - priority: {priority}\n    request: {{path: "/a/{{id}}"}}\n'
    write(tmp_path, "b.yaml", "service: s\nstubs:\n" + template)
    assert [s.whole for s in load_tree([tmp_path]).shadows] == said
