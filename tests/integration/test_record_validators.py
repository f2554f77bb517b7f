"""A replay keeps the service's validators: a client holding an ETag the real service sent,
in whichever coding, gets 304 from the replay while the body is unchanged.

The service is a real aiohttp upstream tagging its gzip variant as services do (the same tag,
nginx's weak one, Apache's ``-gzip`` suffix); the recorder and the replay are the real
``mockserver record`` and ``mockserver serve``; the clients are requests, CacheControl and hishel.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
import requests
import yaml
from cachecontrol import CacheControl
from cachecontrol.cache import DictCache
from hishel import SqliteStorage
from hishel.httpx import CacheClient

from .upstream import GZIP_TAG_STYLES, Upstream, console, validated_body

pytestmark = pytest.mark.timeout(90)

IDENTITY, GZIP = {"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip"}


def record(upstream: Upstream, out: Path, path: str, headers: dict[str, str]) -> None:
    """One GET of ``path`` through ``mockserver record``; the stub file is in ``out``."""
    target = f"svc={upstream.url}"
    with console("record", "--target", target, "--out", str(out), "--port", "0") as url:
        requests.get(url + path, headers=headers, timeout=10).raise_for_status()


def held_tags(upstream: Upstream, path: str) -> dict[str, str]:
    """The ETag a client of the real service holds after a GET in each coding."""
    return {
        coding: requests.get(upstream.url + path, headers=headers, timeout=10).headers["ETag"]
        for coding, headers in (("identity", IDENTITY), ("gzip", GZIP))
    }


@pytest.mark.parametrize("recorded_with", ["gzip", "identity"])
@pytest.mark.parametrize("style", sorted(GZIP_TAG_STYLES))
def test_a_client_holding_the_services_etag_gets_304_from_the_replay(
    tmp_path: Path, style: str, recorded_with: str
) -> None:
    path = f"/validated/{style}"
    with Upstream() as upstream:
        held = held_tags(upstream, path)
        record(upstream, tmp_path, path, GZIP if recorded_with == "gzip" else IDENTITY)
    assert held["identity"] == '"v1"'
    assert held["gzip"] == GZIP_TAG_STYLES[style]('"v1"')
    with console("serve", str(tmp_path), "--port", "0") as url, requests.Session() as client:
        for coding, tag in held.items():
            for asked in (IDENTITY, GZIP):
                answer = client.get(url + path, headers=asked | {"If-None-Match": tag})
                where = f"held {tag} from {coding}, asked {asked}"
                assert (answer.status_code, answer.content) == (304, b""), where
                assert answer.headers["ETag"], where
        coded = client.get(url + path, headers=GZIP)
        plain = client.get(url + path, headers=IDENTITY)
        for other in ('"v2"', 'W/"v2"', '"v1-other"', '"v10"'):
            changed = client.get(url + path, headers=GZIP | {"If-None-Match": other})
            assert (changed.status_code, changed.content) == (200, validated_body(1)), other
        anything = client.get(url + path, headers=IDENTITY | {"If-None-Match": "*"})
    assert anything.status_code == 304
    assert coded.headers["Content-Encoding"] == "gzip"
    assert coded.content == plain.content == validated_body(1)  # requests decoded the gzip
    # The replay sends the service's tag, weakened on a coded variant as nginx does. Recorded
    # from nginx's weak gzip tag, the recorder asked for the identity answer and keeps the
    # strong tag the service sends with it (issue 16).
    recorded = yaml.safe_load((tmp_path / "svc.yaml").read_text(encoding="utf-8"))
    tag = recorded["stubs"][0]["response"]["etag"]
    assert tag == '"v1"'
    assert plain.headers["ETag"] == tag
    assert coded.headers["ETag"] == tag if tag.startswith("W/") else f"W/{tag}"


@pytest.mark.parametrize("recorded_with", ["gzip", "identity"])
def test_if_match_compares_strongly_with_the_services_tag_in_either_coding(
    tmp_path: Path, recorded_with: str
) -> None:
    path = "/validated/suffix"
    with Upstream() as upstream:
        record(upstream, tmp_path, path, GZIP if recorded_with == "gzip" else IDENTITY)
    with console("serve", str(tmp_path), "--port", "0") as url, requests.Session() as client:

        def status(if_match: str, asked: dict[str, str]) -> int:
            return client.get(url + path, headers=asked | {"If-Match": if_match}).status_code

        for asked in (IDENTITY, GZIP):
            # RFC 9110 §13.1.1: strong comparison; the service's strong tag holds whichever
            # coding the answer uses, a weak tag never matches, another tag fails.
            assert status('"v1"', asked) == 200, asked
            assert status('"v0", "v1"', asked) == 200, asked
            assert status("*", asked) == 200, asked
            assert status('W/"v1"', asked) == 412, asked
            assert status('"v2"', asked) == 412, asked
            # If-None-Match is evaluated after a holding If-Match (§13.2.2).
            both = {"If-Match": '"v1"', "If-None-Match": '"v1-gzip"'}
            assert client.get(url + path, headers=asked | both).status_code == 304


def test_a_weak_tag_recorded_from_a_gzip_answer_keeps_the_services_strong_tag(
    tmp_path: Path,
) -> None:
    # nginx sent W/"v1" with the gzip body and "v1" with the same body uncoded: If-Match with
    # the strong tag the service sent holds on the replay as on the service (issue 16; before,
    # the recording knew only the weak tag and answered 412).
    path = "/validated/weak"
    with Upstream() as upstream:
        with requests.Session() as direct:
            for asked in (IDENTITY, GZIP):
                held = direct.get(upstream.url + path, headers=asked | {"If-Match": '"v1"'})
                assert held.status_code == 200, asked
        record(upstream, tmp_path, path, GZIP)
    with console("serve", str(tmp_path), "--port", "0") as url, requests.Session() as client:
        for asked in (IDENTITY, GZIP):
            assert client.get(url + path, headers=asked | {"If-Match": '"v1"'}).status_code == 200
            assert client.get(url + path, headers=asked | {"If-Match": 'W/"v1"'}).status_code == 412
            assert client.get(url + path, headers=asked | {"If-Match": "*"}).status_code == 200
            kept = client.get(url + path, headers=asked | {"If-None-Match": 'W/"v1"'})
            assert kept.status_code == 304
        # Strong stays strong, weak stays weak, per representation, as the service sends them.
        assert client.get(url + path, headers=IDENTITY).headers["ETag"] == '"v1"'
        assert client.get(url + path, headers=GZIP).headers["ETag"] == 'W/"v1"'


Fetch = Callable[[str], tuple[int, bytes, bool]]  # URL → status, body, served by the cache


@contextmanager
def cachecontrol_client() -> Iterator[Fetch]:
    """requests with CacheControl; every fetch a new session on the same cache."""
    cache = DictCache()

    def fetch(url: str) -> tuple[int, bytes, bool]:
        with CacheControl(requests.Session(), cache=cache) as session:
            answer = session.get(url, timeout=10)
            return answer.status_code, answer.content, getattr(answer, "from_cache", False)

    yield fetch


@contextmanager
def hishel_client() -> Iterator[Fetch]:
    """httpx with hishel following RFC 9111 (it freshens a stored response from a 304 only
    when the 304's validator identifies it, §4.3.4)."""
    storage = SqliteStorage(connection=sqlite3.connect(":memory:", check_same_thread=False))
    with CacheClient(storage=storage, rfc=True, timeout=10) as client:

        def fetch(url: str) -> tuple[int, bytes, bool]:
            answer = client.get(url)
            return answer.status_code, answer.content, answer.extensions["caching"]["from_cache"]

        yield fetch


CLIENTS = [
    pytest.param(cachecontrol_client, id="CacheControl"),
    pytest.param(hishel_client, id="hishel"),
]


@pytest.mark.parametrize("caching", CLIENTS)
@pytest.mark.parametrize("style", sorted(GZIP_TAG_STYLES))
def test_a_cache_filled_by_the_real_service_revalidates_against_the_replay(
    tmp_path: Path, style: str, caching: Callable[[], AbstractContextManager[Fetch]]
) -> None:
    """The same test run against staging, then against the mock at the same address: the
    HTTP cache the client kept from staging revalidates with the replay and gets 304."""
    path = f"/validated/{style}"
    with caching() as fetch:
        with Upstream() as upstream:
            record(upstream, tmp_path, path, GZIP)
            address = upstream.url
            first, again = fetch(address + path), fetch(address + path)
            seen = [headers for seen_path, headers in upstream.state.seen if seen_path == path]
        # no-cache: the second was revalidated upstream, with the tag of the gzip answer.
        assert (first[::2], again) == ((200, False), (200, validated_body(1), True))
        assert seen[-1]["if-none-match"] == GZIP_TAG_STYLES[style]('"v1"')
        port = address.rsplit(":", 1)[1]
        with console("serve", str(tmp_path), "--port", port) as url:
            assert url == address
            replayed = fetch(address + path)
            journal = requests.get(address + "/__admin/requests", timeout=10).json()["requests"]
    assert replayed == (200, validated_body(1), True)
    assert [entry["status"] for entry in journal] == [304]


@pytest.mark.parametrize("caching", CLIENTS)
def test_a_cache_filled_by_the_replay_revalidates_with_a_304(
    tmp_path: Path, caching: Callable[[], AbstractContextManager[Fetch]]
) -> None:
    path = "/validated/same"
    with Upstream() as upstream:
        record(upstream, tmp_path, path, GZIP)
    with console("serve", str(tmp_path), "--port", "0") as url, caching() as fetch:
        answers = [fetch(url + path) for _ in range(3)]
        journal = requests.get(url + "/__admin/requests", timeout=10).json()["requests"]
    assert answers == [(200, validated_body(1), cached) for cached in (False, True, True)]
    assert [entry["status"] for entry in journal] == [200, 304, 304]
