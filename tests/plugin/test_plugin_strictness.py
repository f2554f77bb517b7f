"""Strict mode that never misses (issue 14 items 2, 3, 4, 7): every phase, every fixture,
however many requests follow, and requests that outlive their test."""

from __future__ import annotations

import pytest

from .conftest import Project

pytestmark = pytest.mark.timeout(60)


# The same checks in xdist's workers (the file on one worker: the tests run in its order).
XDIST = pytest.mark.parametrize(
    "workers", [(), ("-n", "4", "--dist", "loadfile")], ids=["", "xdist"]
)


@XDIST
def test_item_2_requests_in_fixture_setup_and_teardown_fail_naming_the_phase(
    project: Project, pytester: pytest.Pytester, workers: tuple[str, ...]
) -> None:
    project(
        {
            "test_phases.py": """
            import os

            import pytest
            import requests


            def get(path):
                return requests.get(os.environ["USERS_URL"] + path, timeout=5)


            @pytest.fixture
            def logged_in(mockserver):
                get("/login-typo")
                yield


            @pytest.fixture
            def session(mockserver):
                url = os.environ["USERS_URL"]
                yield
                requests.get(url + "/logout", timeout=5)


            def test_setup_request(logged_in):
                pass


            def test_teardown_request(session):
                pass


            def test_clean(mockserver):
                get("/api/user/1")
            """
        }
    )
    result = pytester.runpytest(*workers)
    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR at setup of test_setup_request _*",
            "mockserver: 1 request matched no stub during setup (fixture 'logged_in'):",
            "No stub matched GET /login-typo",
            "*_ ERROR at teardown of test_teardown_request _*",
            "mockserver: 1 request matched no stub during teardown (fixture 'session'):",
            "No stub matched GET /logout",
        ]
    )
    # The clean test's teardown runs after the dirty one's: nothing of it is blamed there.
    result.stdout.no_fnmatch_line("*ERROR at teardown of test_clean*")


def test_item_3_an_unmatched_request_counts_however_many_requests_follow(
    project: Project, pytester: pytest.Pytester
) -> None:
    project(
        {
            "test_ring.py": """
            import os

            import requests


            def test_one_typo_then_a_thousand_good_ones(mockserver):
                with requests.Session() as session:
                    session.get(os.environ["USERS_URL"] + "/typo", timeout=5)
                    for _ in range(1000):
                        session.get(os.environ["USERS_URL"] + "/api/user/1", timeout=5)
                assert len(mockserver.requests) == 1000  # the journal kept the last 1,000
            """
        }
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "mockserver: 1 request matched no stub:",
            "(the journal no longer holds it: it keeps the last 1000 requests; "
            "raise journal_size in mockserver_settings to see it)",
        ]
    )


def test_item_4_offline_fixtures_share_one_double_and_combine_with_mockserver(
    project: Project, pytester: pytest.Pytester
) -> None:
    project(
        {
            "test_combined.py": """
            import asyncio
            import os

            import aiohttp
            import requests


            def aiohttp_get(url):
                async def main():
                    async with aiohttp.ClientSession() as session:
                        async with session.get(url) as response:
                            return response.status

                return asyncio.run(main())


            def test_requests_offline_unmatched(mock_requests, mockserver):
                requests.get("http://users.mockserver.invalid/nope", timeout=5)


            def test_real_server_unmatched(mockserver, mock_requests):
                requests.get(os.environ["USERS_URL"] + "/nope-real", timeout=5)


            def test_real_urls_win_whatever_the_order(mock_aiohttp, mockserver, mock_requests):
                assert os.environ["USERS_URL"] == mockserver.service("users").url
                assert mock_requests.urls["users"] == "http://users.mockserver.invalid"
                # the real server passes through both socket-free mocks
                assert requests.get(os.environ["USERS_URL"] + "/api/user/1", timeout=5).ok
                assert aiohttp_get(os.environ["USERS_URL"] + "/api/user/1") == 200
                assert aiohttp_get("http://users.mockserver.invalid/api/user/1") == 200
                mockserver.service("users").assert_called("GET", "/api/user/1", times=2)


            def test_offline_fixtures_share_one_double(mock_requests, mock_aiohttp):
                assert mock_requests is mock_aiohttp
                mock_requests.service("users").stub(
                    {"request": {"path": "/shared"}, "response": {"status": 204}}
                )
                answer = requests.get(os.environ["USERS_URL"] + "/shared", timeout=5)
                assert answer.status_code == 204
                assert aiohttp_get(os.environ["USERS_URL"] + "/shared") == 204
            """
        }
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ test_requests_offline_unmatched _*",
            "mockserver: 1 request to mock_requests matched no stub:",
            "No stub matched GET /nope",
            "*_ test_real_server_unmatched _*",
            "mockserver: 1 request to mockserver matched no stub:",
            "No stub matched GET /nope-real",
        ]
    )


def test_item_4_two_servers_in_one_test_are_refused(
    project: Project, pytester: pytest.Pytester
) -> None:
    project(
        {
            "conftest.py": """
            import pytest

            from mockserver.testing.handle import LocalBackend
            from mockserver.server.runner import MockServer
            from mockserver.core.config import Settings


            @pytest.fixture(scope="session")
            def mockserver_container_backend(mockserver_settings):
                with MockServer(mockserver_settings) as server:
                    yield LocalBackend(server.store, server)
            """,
            "test_two.py": """
            def test_both(mockserver, mockserver_container):
                pass
            """,
        }
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "mockserver: mockserver and mockserver_container both set USERS_URL, each to a "
            "server of its own: ask for one of them in a test",
        ]
    )


@XDIST
def test_item_7_a_request_after_its_test_ended_is_reported_as_such(
    project: Project, pytester: pytest.Pytester, workers: tuple[str, ...]
) -> None:
    project(
        {
            "test_late.py": """
            import os
            import threading

            import requests

            go = threading.Event()
            done = threading.Event()


            def test_starts_a_thread(mockserver):
                url = os.environ["USERS_URL"]

                def late():
                    go.wait(10)
                    requests.get(url + "/late-thread", timeout=5)
                    done.set()

                threading.Thread(target=late, name="late-worker").start()


            def test_between():  # no mockserver: the request arrives between mockserver tests
                go.set()
                assert done.wait(10)


            def test_next(mockserver):
                pass


            def test_after_next(mockserver):
                pass
            """
        }
    )
    result = pytester.runpytest(*workers)
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR at setup of test_next _*",
            "mockserver: 1 request matched no stub after test_late.py::test_starts_a_thread "
            "ended, before this test began (a thread or task that test started outlived it; "
            "the thread late-worker was still running when it ended):",
            "No stub matched GET /late-thread",
        ]
    )


def test_item_7_a_request_left_behind_arriving_during_the_next_test_is_pointed_at(
    project: Project, pytester: pytest.Pytester
) -> None:
    project(
        {
            "test_late.py": """
            import os
            import threading

            import requests

            go = threading.Event()
            done = threading.Event()


            def test_starts_a_thread(mockserver):
                url = os.environ["USERS_URL"]

                def late():
                    go.wait(10)
                    requests.get(url + "/late-thread", timeout=5)
                    done.set()

                threading.Thread(target=late, name="late-worker").start()


            def test_next(mockserver):
                go.set()
                assert done.wait(10)
            """
        }
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_next _*",
            "mockserver: 1 request matched no stub:",
            "No stub matched GET /late-thread",
            "(note: when test_late.py::test_starts_a_thread ended, the thread late-worker was "
            "still running: a request it made after that is counted here)",
        ]
    )


def test_item_7_a_request_after_the_last_server_test_fails_the_session_end(
    project: Project, pytester: pytest.Pytester
) -> None:
    project(
        {
            "test_late.py": """
            import os
            import threading

            import requests

            go = threading.Event()
            done = threading.Event()


            def test_starts_a_thread(mockserver):
                url = os.environ["USERS_URL"]

                def late():
                    go.wait(10)
                    requests.get(url + "/late-thread", timeout=5)
                    done.set()

                threading.Thread(target=late, name="late-worker").start()


            def test_last():  # no mockserver: the server stops after it
                go.set()
                assert done.wait(10)
            """
        }
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR at teardown of test_last _*",
            "mockserver: 1 request matched no stub after test_late.py::test_starts_a_thread "
            "ended, before the session ended (*",
            "No stub matched GET /late-thread",
        ]
    )
