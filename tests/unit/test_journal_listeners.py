"""The journal's listeners (the dashboard's live stream): told of each entry and each clear,
and nothing at all when nobody listens."""

from __future__ import annotations

import pytest

from mockserver.core.journal import Journal, JournalEntry
from mockserver.core.request import RequestView
from mockserver.server.dashboard import events
from mockserver.server.dashboard.events import FIELDS, Subscription, batches, row, thinned


def record(journal: Journal, path: str = "/x", stub: str | None = "s") -> JournalEntry | None:
    return journal.record(
        RequestView("GET", path, "token=abc&page=2", [("Host", "h")], b""),
        service="svc",
        stub_id=stub,
        status=200 if stub else 404,
        listener=None,
    )


def test_a_listener_hears_each_entry_and_each_clear_until_stopped() -> None:
    journal = Journal()
    heard: list[JournalEntry | None] = []
    stop = journal.listen(heard.append)
    assert journal.listening == 1
    first = record(journal)
    second = record(journal, "/y", None)
    journal.clear(hits=False)
    assert heard == [first, second, None]
    stop()
    assert journal.listening == 0
    record(journal)
    journal.clear()
    assert len(heard) == 3, "a stopped listener is not told"


def test_two_listeners_both_hear_and_stopping_one_keeps_the_other() -> None:
    journal = Journal()
    one: list[JournalEntry | None] = []
    two: list[JournalEntry | None] = []
    stop_one = journal.listen(one.append)
    journal.listen(two.append)
    record(journal)
    stop_one()
    stop_one()  # twice is no error
    record(journal)
    assert (len(one), len(two), journal.listening) == (1, 2, 1)


def test_with_the_journal_off_a_listener_hears_no_entry() -> None:
    journal = Journal(max_entries=0)
    heard: list[JournalEntry | None] = []
    journal.listen(heard.append)
    assert record(journal) is None
    assert heard == []
    assert journal.hits["s"] == 1  # counting goes on as before


def test_a_row_redacts_the_query_as_the_log_does_and_says_unmatched() -> None:
    journal = Journal()
    entry = record(journal, "/<script>", None)
    assert entry is not None
    shown = dict(zip(FIELDS, row(entry), strict=True))
    assert entry.query_string == "token=abc&page=2"
    assert shown["query"] == "token=<redacted>&page=2"  # as sent, the secret's value replaced
    assert (shown["path"], shown["stub"], shown["status"]) == ("/<script>", None, 404)
    assert shown["at"] == round(entry.at * 1000)


def test_a_page_that_falls_too_far_behind_is_told_and_a_batch_keeps_the_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(events, "QUEUE_SIZE", 3)
    journal = Journal()
    page = Subscription()
    journal.listen(page)
    first = record(journal, "/1")
    journal.clear(hits=False)
    record(journal, "/2")
    assert not page.lagged
    taken = page.take()
    assert taken[:2] == [first, None]
    sent = batches(taken).decode()
    assert sent.index('"/1"') < sent.index("event: cleared") < sent.index('"/2"')
    for n in range(4):
        record(journal, f"/{n}")
    assert page.lagged, "a fourth entry past a queue of three ends the stream"
    assert len(page.pending) == 3


def test_a_busy_flush_sends_the_newest_matched_rows_and_every_unmatched_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(events, "MAX_MATCHED_ROWS", 2)
    journal = Journal()
    page = Subscription()
    journal.listen(page)
    record(journal, "/m1")
    record(journal, "/miss1", None)
    record(journal, "/m2")
    journal.clear(hits=False)
    record(journal, "/m3")
    record(journal, "/miss2", None)
    record(journal, "/m4")
    kept, skipped = thinned(page.take())
    shown = [None if item is None else item.path for item in kept]
    assert shown == ["/miss1", None, "/m3", "/miss2", "/m4"]
    assert skipped == 2
    sent = batches(kept, skipped).decode()
    assert sent.rstrip().endswith('event: skipped\ndata: {"count":2}')


def test_a_quiet_flush_is_sent_whole() -> None:
    journal = Journal()
    page = Subscription()
    journal.listen(page)
    for n in range(5):
        record(journal, f"/{n}")
    items = page.take()
    assert thinned(items) == (items, 0)
    assert "skipped" not in batches(items).decode()
