"""Scenarios: state machines across stubs, over real sockets, moved atomically."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from mockserver.server.runner import MockServer

from .admin_helpers import Admin, serve, write_stubs

TODO = """\
service: todo
stubs:
  - id: empty-list
    request: {method: GET, path: /todo}
    scenario: {name: todo, state: started}
    response: {json: []}
  - id: add
    request: {method: POST, path: /todo}
    scenario: {name: todo, state: started, next: added}
    response: {status: 201}
  - id: full-list
    request: {method: GET, path: /todo}
    scenario: {name: todo, state: added}
    response: {json: [{title: milk}]}
  - id: add-again
    request: {method: POST, path: /todo}
    scenario: {name: todo, state: added}
    response: {status: 409, json: {error: already added}}
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[MockServer]:
    with serve(write_stubs(tmp_path, {"todo.yaml": TODO})) as running:
        yield running


def test_the_design_example_moves_from_started_to_added(server: MockServer) -> None:
    with requests.Session() as client:
        assert client.get(server.url + "/todo", timeout=10).json() == []
        assert client.post(server.url + "/todo", timeout=10).status_code == 201
        assert client.get(server.url + "/todo", timeout=10).json() == [{"title": "milk"}]
        assert client.post(server.url + "/todo", timeout=10).status_code == 409


def test_of_many_concurrent_requests_exactly_one_moves_the_scenario(server: MockServer) -> None:
    def post(_: int) -> int:
        return requests.post(server.url + "/todo", timeout=30).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(post, range(48)))
    assert sorted(statuses) == [201] + [409] * 47


def test_the_admin_api_lists_sets_and_resets_scenarios(server: MockServer) -> None:
    with Admin(server.url) as admin:
        assert admin.ok("GET", "/scenarios") == {
            "scenarios": [{"name": "todo", "state": "started"}]
        }
        assert admin.ok("PUT", "/scenarios/todo", json={"state": "added"}) == {
            "name": "todo",
            "state": "added",
        }
        assert admin.mock("GET", "/todo").json() == [{"title": "milk"}]
        missing = admin.put("/scenarios/nope", json={"state": "x"})
        assert missing.status_code == 404
        assert "the scenarios: todo" in missing.json()["detail"]
        admin.ok("POST", "/scenarios/reset")
        assert admin.mock("GET", "/todo").json() == []
        admin.ok("PUT", "/scenarios/todo", json={"state": "added"})
        admin.ok("POST", "/reset")  # a reset puts every scenario back too
        assert admin.ok("GET", "/scenarios")["scenarios"] == [{"name": "todo", "state": "started"}]


def test_a_stub_that_misses_only_on_its_state_says_so(server: MockServer) -> None:
    with Admin(server.url) as admin:
        admin.ok("PUT", "/scenarios/todo", json={"state": "done"})
        miss = admin.mock("GET", "/todo")
        assert miss.status_code == 404
        reasons = [d["why"] for n in miss.json()["nearest"] for d in n["differences"]]
        assert "needs scenario todo in 'started'; it is 'done'" in reasons
        assert "needs scenario todo in 'added'; it is 'done'" in reasons


def test_each_namespace_has_scenarios_of_its_own(server: MockServer) -> None:
    with Admin(server.url + "/__ns/a") as a, Admin(server.url + "/__ns/b") as b:
        a.ok("GET", "/scenarios")  # begins each namespace
        b.ok("GET", "/scenarios")
        assert a.mock("POST", "/todo").status_code == 201
        assert a.mock("GET", "/todo").json() == [{"title": "milk"}]
        assert b.mock("GET", "/todo").json() == []  # b's todo is still started
        with Admin(server.url) as plain:
            assert plain.mock("GET", "/todo").json() == []


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        ("{state: started}", "a scenario name is"),
        ("{name: todo, nxt: b}", "unknown key 'nxt'"),
        ('{name: "a\\nb"}', "a scenario name is"),
        ("todo", "a scenario must be a mapping"),
    ],
)
def test_a_bad_scenario_is_a_located_load_error(
    tmp_path: Path, scenario: str, message: str
) -> None:
    from mockserver.core.errors import StubFileError
    from mockserver.formats.loader import load_paths

    text = f"stubs:\n  - id: s\n    request: {{path: /s}}\n    scenario: {scenario}\n"
    with pytest.raises(StubFileError) as raised:
        load_paths([write_stubs(tmp_path, {"s.yaml": text})])
    assert "s.yaml:4:" in str(raised.value)
    assert "stub 's': scenario" in str(raised.value)
    assert message in str(raised.value)


def test_a_template_reads_a_scenarios_state(tmp_path: Path) -> None:
    text = (
        TODO
        + """\
  - id: where
    request: {method: GET, path: /where}
    response: {template: true, json: {todo: "{{ scenario('todo') }}"}}
"""
    )
    with serve(write_stubs(tmp_path, {"todo.yaml": text})) as server, Admin(server.url) as admin:
        assert admin.mock("GET", "/where").json() == {"todo": "started"}
        admin.mock("POST", "/todo")
        assert admin.mock("GET", "/where").json() == {"todo": "added"}
