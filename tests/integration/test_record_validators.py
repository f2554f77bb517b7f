"""A replay keeps the service's validators: a client holding an ETag the real service sent,
in whichever coding, gets 304 from the replay while the body is unchanged.

The service is a real aiohttp upstream tagging its gzip variant as services do (the same tag,
nginx's weak one, Apache's ``-gzip`` suffix); the recorder and the replay are the real
``mockserver record`` and ``mockserver serve``; the clients are requests and CacheControl.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import yaml
from cachecontrol import CacheControl
from cachecontrol.cache import DictCache

from ..console import DEADLINE, MOCKSERVER, Console
from .upstream import GZIP_TAG_STYLES, Upstream, validated_body

pytestmark = pytest.mark.timeout(90)

IDENTITY, GZIP = {"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip"}


@contextmanager
def mockserver(*args: str, service: str = "svc") -> Iterator[str]:
    """``mockserver ARGS`` running; yields ``service``'s URL from its banner; stops it with
    SIGTERM (a recorder writes its files then) and checks it exited cleanly."""
    with Console([MOCKSERVER, *args]) as process:
        line = process.next_line(lambda text: text.split()[:1] == [service])
        yield line.split()[1]
        process.process.send_signal(signal.SIGTERM)
        assert process.process.wait(timeout=DEADLINE) == 0, process.rest()


def record(upstream: Upstream, out: Path, path: str, headers: dict[str, str]) -> None:
    """One GET of ``path`` through ``mockserver record``; the stub file is in ``out``."""
    target = f"svc={upstream.url}"
    with mockserver("record", "--target", target, "--out", str(out), "--port", "0") as url:
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
    with mockserver("serve", str(tmp_path), "--port", "0") as url, requests.Session() as client:
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
    # The replay sends the service's tag, weakened on a coded variant as nginx does.
    recorded = yaml.safe_load((tmp_path / "svc.yaml").read_text(encoding="utf-8"))
    tag = recorded["stubs"][0]["response"]["etag"]
    assert tag == ('W/"v1"' if style == "weak" and recorded_with == "gzip" else '"v1"')
    assert plain.headers["ETag"] == tag
    assert coded.headers["ETag"] == tag if tag.startswith("W/") else f"W/{tag}"


@pytest.mark.parametrize("recorded_with", ["gzip", "identity"])
def test_if_match_compares_strongly_with_the_services_tag_in_either_coding(
    tmp_path: Path, recorded_with: str
) -> None:
    path = "/validated/suffix"
    with Upstream() as upstream:
        record(upstream, tmp_path, path, GZIP if recorded_with == "gzip" else IDENTITY)
    with mockserver("serve", str(tmp_path), "--port", "0") as url, requests.Session() as client:

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


def test_a_weak_tag_recorded_from_a_gzip_answer_never_passes_if_match(tmp_path: Path) -> None:
    # nginx sent W/"v1" with the gzip body: the replay knows no strong tag for this body, and
    # a weak one cannot satisfy If-Match (§13.1.1), though it still answers If-None-Match.
    path = "/validated/weak"
    with Upstream() as upstream:
        record(upstream, tmp_path, path, GZIP)
    with mockserver("serve", str(tmp_path), "--port", "0") as url, requests.Session() as client:
        for asked in (IDENTITY, GZIP):
            assert client.get(url + path, headers=asked | {"If-Match": '"v1"'}).status_code == 412
            assert client.get(url + path, headers=asked | {"If-Match": "*"}).status_code == 200
            kept = client.get(url + path, headers=asked | {"If-None-Match": '"v1"'})
            assert kept.status_code == 304


def cached_session(cache: DictCache) -> requests.Session:
    return CacheControl(requests.Session(), cache=cache)


@pytest.mark.parametrize("style", sorted(GZIP_TAG_STYLES))
def test_a_cache_filled_by_the_real_service_revalidates_against_the_replay(
    tmp_path: Path, style: str
) -> None:
    """The same test run against staging, then against the mock at the same address: the
    HTTP cache the client kept from staging revalidates with the replay and gets 304."""
    path = f"/validated/{style}"
    cache = DictCache()
    with Upstream() as upstream:
        record(upstream, tmp_path, path, GZIP)
        address = upstream.url
        with cached_session(cache) as client:
            first = client.get(address + path, timeout=10)
            again = client.get(address + path, timeout=10)  # no-cache: revalidated upstream
        seen = [headers for seen_path, headers in upstream.state.seen if seen_path == path]
    assert (first.status_code, getattr(first, "from_cache", False)) == (200, False)
    assert (again.status_code, again.from_cache) == (200, True)
    assert seen[-1]["if-none-match"] == GZIP_TAG_STYLES[style]('"v1"')  # the cache's tag
    port = address.rsplit(":", 1)[1]
    with mockserver("serve", str(tmp_path), "--port", port) as url, cached_session(cache) as client:
        assert url == address
        replayed = client.get(address + path, timeout=10)
        journal = requests.get(address + "/__admin/requests", timeout=10).json()["requests"]
    assert (replayed.status_code, replayed.from_cache) == (200, True)
    assert replayed.content == validated_body(1)
    assert [entry["status"] for entry in journal] == [304]


def test_a_cache_filled_by_the_replay_revalidates_with_a_304(tmp_path: Path) -> None:
    path = "/validated/same"
    with Upstream() as upstream:
        record(upstream, tmp_path, path, GZIP)
    with (
        mockserver("serve", str(tmp_path), "--port", "0") as url,
        cached_session(DictCache()) as client,
    ):
        answers = [client.get(url + path, timeout=10) for _ in range(3)]
        journal = requests.get(url + "/__admin/requests", timeout=10).json()["requests"]
    assert [a.content for a in answers] == [validated_body(1)] * 3
    assert [getattr(a, "from_cache", False) for a in answers] == [False, True, True]
    assert [entry["status"] for entry in journal] == [200, 304, 304]
