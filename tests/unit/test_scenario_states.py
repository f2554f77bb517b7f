"""The scenario states one store holds: moved, put back, replaced by a shared store's."""

from __future__ import annotations

from mockserver.core.scenarios import STARTED, ScenarioStates


def test_put_moves_one_puts_one_back_or_puts_every_one_back() -> None:
    states = ScenarioStates()
    states.put("todo", "added")
    states.put("cart", "full")
    assert (states.state("todo"), states.state("cart")) == ("added", "full")
    states.put("todo", None)
    assert (states.state("todo"), states.state("cart")) == (STARTED, "full")
    states.put(None, None)
    assert states.listing(["todo"]) == [{"name": "todo", "state": STARTED}]


def test_load_replaces_what_was_held() -> None:
    states = ScenarioStates()
    states.put("todo", "added")
    states.load({"cart": "full"})
    assert states.listing(["todo"]) == [
        {"name": "cart", "state": "full"},
        {"name": "todo", "state": STARTED},
    ]
