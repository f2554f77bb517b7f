"""The session server under load, and a running server driven through --mockserver-url."""

from __future__ import annotations

import textwrap

import pytest
import requests

from mockserver.core.config import Settings
from mockserver.server.runner import MockServer

from .conftest import Project

pytestmark = pytest.mark.timeout(60)

DELAY_MS = 500


def test_slow_stubs_are_served_concurrently_across_tests(
    project: Project, pytester: pytest.Pytester
) -> None:
    project(
        {
            "stubs/slow.yaml": f"""
            stubs:
              - request: {{path: /slow}}
                response: {{delay_ms: {DELAY_MS}, json: {{ok: true}}}}
            """,
            "test_slow.py": f"""
            import asyncio
            import os
            import time
            from concurrent.futures import ThreadPoolExecutor

            import aiohttp
            import requests

            DELAY = {DELAY_MS} / 1000


            def check(elapsed):
                print(f"10 requests in {{elapsed:.3f}} s")
                assert DELAY <= elapsed < 5 * DELAY  # in parallel: 10 in series take 10 x


            def test_aiohttp(mockserver):
                async def ten():
                    async with aiohttp.ClientSession() as session:

                        async def one():
                            async with session.get(os.environ["SLOW_URL"] + "/slow") as response:
                                return await response.json()

                        return await asyncio.gather(*(one() for _ in range(10)))

                start = time.perf_counter()
                assert asyncio.run(ten()) == [{{"ok": True}}] * 10
                check(time.perf_counter() - start)
                mockserver.service("slow").assert_called("GET", "/slow", times=10)


            def test_requests_in_threads(mockserver):
                def one(_):
                    return requests.get(os.environ["SLOW_URL"] + "/slow", timeout=5).json()

                start = time.perf_counter()
                with ThreadPoolExecutor(10) as pool:
                    assert list(pool.map(one, range(10))) == [{{"ok": True}}] * 10
                check(time.perf_counter() - start)
                mockserver.service("slow").assert_called("GET", "/slow", times=10)
            """,
        }
    )
    result = pytester.runpytest("-s")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*10 requests in *", "*10 requests in *"])


REMOTE_STUBS = {
    "users.yaml": """
    service: users
    stubs:
      - id: get-user-1
        request: {method: GET, path: /api/user/1}
        response: {json: {id: "1", name: Remote}}
      - id: create-user
        request: {method: POST, path: /api/user, body: {json_subset: {role: member}}}
        response: {status: 201, json: {id: "3"}}
    """,
    "catalog.yaml": """
    port: 8081
    stubs: [{request: {path: /ping}, response: {body: pong}}]
    """,
}

INNER_TESTS = """
import os

import pytest
import requests
import requests


def get(path):
    return requests.get(os.environ["USERS_URL"] + path, timeout=5)


def test_remote_stubs_and_urls(mockserver):
    # The session's own namespace on the shared server, in every service's URL.
    namespace = os.environ["USERS_URL"].rsplit("/", 1)[1]
    assert namespace.startswith("main-")
    assert os.environ["USERS_URL"] == os.environ["EXPECTED_USERS_URL"] + "/__ns/" + namespace
    assert os.environ["CATALOG_URL"] == os.environ["EXPECTED_CATALOG_URL"] + "/__ns/" + namespace
    assert requests.get(os.environ["CATALOG_URL"] + "/ping", timeout=5).text == "pong"
    assert get("/api/user/1").json()["name"] == "Remote"
    mockserver.service("users").stub({"request": {"path": "/added"}, "response": {"body": "+"}})
    assert get("/added").text == "+"
    mockserver.service("users").assert_called("GET", "/api/user/{id}", times=1)


@pytest.mark.mockserver(stubs="extra.yaml", strict=False)
def test_reset_and_marker_stubs(mockserver):
    assert mockserver.requests == []
    assert get("/added").status_code == 404
    assert get("/extra").text == "extra"
    assert [e["path"] for e in mockserver.unmatched] == ["/added"]


def test_strict(mockserver):
    requests.post(os.environ["USERS_URL"] + "/api/user", json={"role": "admin"}, timeout=5)
"""


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_running_server_is_used_through_its_admin_api(
    project: Project, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    remote = pytester.path / "remote"
    for name, text in REMOTE_STUBS.items():
        (remote / name).parent.mkdir(parents=True, exist_ok=True)
        (remote / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    extra = "service: users\nstubs: [{request: {path: /extra}, response: {body: extra}}]\n"
    # No stubs/ in the inner project: whatever it serves comes from the outer server.
    project({"test_remote.py": INNER_TESTS, "extra.yaml": extra}, stubs={})
    settings = Settings(
        paths=(str(remote),), port=0, ephemeral_service_ports=True, log_level="warning"
    )
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)  # when this run is a worker
    with MockServer(settings) as server:
        assert not server.urls["catalog"].endswith(":8081")
        monkeypatch.setenv("EXPECTED_USERS_URL", server.urls["users"])
        monkeypatch.setenv("EXPECTED_CATALOG_URL", server.urls["catalog"])
        if how == "option":
            result = pytester.runpytest_subprocess(f"--mockserver-url={server.url}")
        else:
            monkeypatch.setenv("MOCKSERVER_URL", server.url)
            result = pytester.runpytest_subprocess()
        default_journal = server.store.journal.entries()
        held = server.state.namespaces.describe()["namespaces"]  # type: ignore[union-attr]
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_strict _*",
            "mockserver: 1 request matched no stub:",
            "No stub matched POST /api/user",
            "  1. stub create-user [[]POST /api/user[]] from *users.yaml (stub #1)",
            '       body: $.role: expected "member", got "admin"',
        ]
    )
    # The session worked in its namespace, and ended it when it ended.
    assert (default_journal, held) == ([], [])


def test_a_running_server_counts_unmatched_requests_past_its_journal_ring(
    project: Project, pytester: pytest.Pytester
) -> None:
    # Issue 14 item 3 against a remote server: its journal keeps 5, the typo is counted anyway.
    remote = pytester.path / "remote"
    remote.mkdir()
    (remote / "users.yaml").write_text(
        "service: users\nstubs: [{request: {path: /ok}, response: {body: ok}}]\n"
    )
    project(
        {
            "test_ring.py": """
            import os

            import requests


            def test_one_typo_then_ten_good_ones(mockserver):
                with requests.Session() as session:
                    session.get(os.environ["USERS_URL"] + "/typo", timeout=5)
                    for _ in range(10):
                        assert session.get(os.environ["USERS_URL"] + "/ok", timeout=5).ok
            """
        },
        stubs={},
    )
    settings = Settings(paths=(str(remote),), port=0, journal_size=5, log_level="warning")
    with MockServer(settings) as server:
        # The default namespace, whose count the server can be asked about afterwards.
        result = pytester.runpytest_subprocess(
            f"--mockserver-url={server.url}", "--mockserver-namespace=none"
        )
        total = requests.get(server.url + "/__admin/requests/unmatched", timeout=5).json()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["mockserver: 1 request matched no stub:"])
    assert (total["total"], total["requests"]) == (1, [])  # counted, no longer journaled
