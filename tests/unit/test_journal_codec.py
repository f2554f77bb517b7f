"""Journal entries packed for the Redis stream come back as the same entries (codec only: the
stream itself is tested with a real redis-server in tests/integration/test_state_journal.py)."""

from __future__ import annotations

import pytest

from mockserver.core.journal import Journal
from mockserver.core.report import NearStub, ReportedDifference
from mockserver.core.request import RequestView
from mockserver.state.journal_codec import decode_entry, encode_entry


def test_an_entry_with_a_binary_body_odd_headers_and_near_misses_comes_back_equal() -> None:
    near = NearStub(
        "get-user",
        "users",
        "GET /api/user/{id}",
        "users.yaml (stub #1)",
        (ReportedDifference("method", "GET", "POST", "the method differs"),),
        shadowed="other.yaml",
    )
    view = RequestView(
        "POST",
        "/api/user/1",
        "a=1&token=s",
        # A header value aiohttp could not decode as UTF-8 carries surrogate escapes.
        (("Content-Type", "application/octet-stream"), ("X-Odd", "caf\udce9")),
        bytes(range(256)),
    )
    journal = Journal(body_cap=100)
    entry = journal.record(
        view,
        service="users",
        stub_id=None,
        status=404,
        listener=8081,
        near_misses=(near,),
        error="rejected: too_large",
        fault="reset",
    )
    assert entry is not None
    again = decode_entry(encode_entry(entry))
    assert again == entry  # every field but the near misses (compare=False)
    assert again.near_misses == (near,)
    assert again.body == bytes(range(100))
    assert again.body_truncated
    assert again.as_dict() == entry.as_dict()


def test_a_field_that_is_no_entry_is_refused() -> None:
    with pytest.raises(ValueError, match="not a journal entry"):
        decode_entry(b"\x93\x01\x02\x03")  # a msgpack array of three
