"""delay_ms: {lognormal: ...} and dribble: answers paced as slow services pace them."""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path

import pytest
import requests

from mockserver.core.respond import Answer
from mockserver.server.handler import _delay_ms

from ..console import run_console
from .admin_helpers import serve, write_stubs

STUBS = """\
stubs:
  - id: slow
    request: {path: /slow}
    response: {body: slow, delay_ms: {lognormal: {median: 300, sigma: 0.01}}}
  - id: drip
    request: {path: /drip}
    response: {body: "%s", dribble: {chunks: 4, duration_ms: 800}}
""" % ("x" * 1000)


def test_lognormal_draws_have_their_median_and_follow_the_seed() -> None:
    answer = Answer(200, (), b"", timing=_timing(50, 0.5))
    first, again = random.Random(7), random.Random(7)
    assert [_delay_ms(answer, first) for _ in range(5)] == [
        _delay_ms(answer, again) for _ in range(5)
    ]
    rng = random.Random(1)
    many = [_delay_ms(answer, rng) for _ in range(4000)]
    assert 45 < statistics.median(many) < 55
    assert max(many) > 100  # a long tail, unlike a uniform range


def _timing(median: int, sigma: float) -> object:
    from mockserver.core.model import Timing

    return Timing(lognormal=(median, sigma))


def test_a_lognormal_delay_holds_the_answer(tmp_path: Path) -> None:
    with serve(write_stubs(tmp_path, {"t.yaml": STUBS})) as server:
        began = time.monotonic()
        assert requests.get(server.url + "/slow", timeout=30).text == "slow"
        assert time.monotonic() - began >= 0.28  # the median, 300 ms, with sigma 0.01


def test_a_dribbled_body_trips_a_short_read_timeout_and_arrives_whole(tmp_path: Path) -> None:
    with serve(write_stubs(tmp_path, {"t.yaml": STUBS})) as server:
        # 200 ms between chunks: a 50 ms read timeout fires between two of them.
        identity = {"Accept-Encoding": "identity"}  # the 1,000 bytes as written, not gzip's 11
        with pytest.raises(requests.exceptions.ConnectionError):
            _ = requests.get(server.url + "/drip", headers=identity, timeout=(5, 0.05)).content
        began = time.monotonic()
        answer = requests.get(server.url + "/drip", headers=identity, timeout=30)
        assert (answer.status_code, answer.text) == (200, "x" * 1000)
        assert answer.headers["Content-Length"] == "1000"
        assert time.monotonic() - began >= 0.6  # at least three of the four pauses


def test_a_stub_s_reason_phrase_is_sent_whole_or_dribbled(tmp_path: Path) -> None:
    stubs = """\
    stubs:
      - request: {path: /whole}
        response: {status: 202, reason: Queued Up, body: x}
      - request: {path: /drip}
        response: {status: 202, reason: Queued Up, body: xy, dribble: {chunks: 2, duration_ms: 20}}
    """
    with serve(write_stubs(tmp_path, {"t.yaml": stubs})) as server:
        got = [requests.get(server.url + path, timeout=30) for path in ("/whole", "/drip")]
    assert [(a.status_code, a.reason, a.text) for a in got] == [
        (202, "Queued Up", "x"),
        (202, "Queued Up", "xy"),
    ]


@pytest.mark.parametrize(
    ("response", "message"),
    [
        ("{delay_ms: {lognormal: {median: 50}}}", "sigma is a number above 0"),
        ("{delay_ms: {lognormal: {median: 0, sigma: 1}}}", "from 1 to 600000"),
        ("{dribble: {chunks: 1, duration_ms: 100}}", "from 2 to 1000"),
        ("{dribble: {chunks: 4}}", "duration_ms"),
    ],
)
def test_bad_pacing_is_a_located_load_error(tmp_path: Path, response: str, message: str) -> None:
    text = f"stubs:\n  - id: s\n    request: {{path: /s}}\n    response: {response}\n"
    result = run_console("validate", str(write_stubs(tmp_path, {"s.yaml": text})))
    assert result.returncode == 1
    assert "s.yaml:4:" in result.stderr
    assert message in result.stderr, result.stderr
