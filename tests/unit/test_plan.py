"""The shell's decisions, without a socket: what becomes of a request (handler.plan) and the
record mode each way of asking for one gives."""

from __future__ import annotations

import pytest

from mockserver import RecordMode
from mockserver.core.model import Fault
from mockserver.core.respond import Answer
from mockserver.server.handler import Plan, plan

MATCHED = Answer(200, (), b"ok", stub_id="one")
FAULTY = Answer(200, (), b"ok", stub_id="one", fault=Fault.CONNECTION_RESET, fault_rate=0.5)
MISSED = Answer(404, (), b"{}", report={"nearest": []})


@pytest.mark.parametrize(
    ("answer", "spying", "expected"),
    [
        (MATCHED, False, Plan.ANSWER),
        (MATCHED, True, Plan.ANSWER),  # spy mode forwards misses only
        (MISSED, False, Plan.ANSWER),  # the near-miss report
        (MISSED, True, Plan.FORWARD),
        (FAULTY, False, Plan.FAULT),
        (FAULTY, True, Plan.FAULT),
        (None, True, Plan.FORWARD),  # record mode: the stubs were not asked
    ],
)
def test_plan(answer: Answer | None, spying: bool, expected: Plan) -> None:
    assert plan(answer, spying) is expected


@pytest.mark.parametrize(
    ("spy", "record_new", "mode"),
    [
        (False, False, RecordMode.NONE),
        (True, False, RecordMode.SPY),
        (True, True, RecordMode.NEW_EPISODES),
        (False, True, RecordMode.NONE),  # nothing forwarded, so nothing to record
    ],
)
def test_serves_spy_and_record_new_options_give_one_mode(
    spy: bool, record_new: bool, mode: RecordMode
) -> None:
    assert RecordMode.of_options(spy, record_new) is mode


def test_the_pytest_options_values_are_the_modes_values() -> None:
    assert [RecordMode(value) for value in ("none", "new", "all")] == [
        RecordMode.NONE,
        RecordMode.NEW_EPISODES,
        RecordMode.ALL,
    ]


def test_what_each_mode_forwards_and_writes() -> None:
    assert [(m.spies, m.writes) for m in RecordMode] == [
        (False, False),  # none
        (True, False),  # spy
        (True, True),  # new
        (False, True),  # all: everything is forwarded, not only misses
    ]
