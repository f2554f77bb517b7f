"""mockserver.scenario(name): a test reads and moves a scenario, with or without sockets."""

from __future__ import annotations

import pytest

from .conftest import Project

TODO = """
service: todo
stubs:
  - id: empty
    request: {method: GET, path: /todo}
    scenario: {name: todo, state: started}
    response: {json: []}
  - id: full
    request: {method: GET, path: /todo}
    scenario: {name: todo, state: added}
    response: {json: [milk]}
"""

TESTS = """
import os

import pytest
import requests


@pytest.mark.parametrize("round", [1, 2])  # the second starts afresh: a reset restores it
def test_read_and_move(mockserver, round):
    todo = mockserver.scenario("todo")
    assert todo.state == "started"
    assert requests.get(os.environ["TODO_URL"] + "/todo", timeout=5).json() == []
    todo.set("added")
    assert todo.state == "added"
    assert requests.get(os.environ["TODO_URL"] + "/todo", timeout=5).json() == ["milk"]


def test_offline(mock_requests):
    mock_requests.scenario("todo").set("added")
    assert requests.get(os.environ["TODO_URL"] + "/todo", timeout=5).json() == ["milk"]


def test_unknown(mockserver):
    with pytest.raises(KeyError, match="no stub names scenario 'nope'; the scenarios: todo"):
        mockserver.scenario("nope")
"""


def test_a_test_reads_and_moves_a_scenario(project: Project, pytester: pytest.Pytester) -> None:
    project({"test_todo.py": TESTS}, stubs={"stubs/todo.yaml": TODO})
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=4)
