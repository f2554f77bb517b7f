"""The plugin in a user's process and fixtures of every scope (issue 14 items 5, 11, 12)."""

from __future__ import annotations

import socket

import pytest

from .conftest import Project

pytestmark = pytest.mark.timeout(60)


def _closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_item_5_no_gc_freeze_in_the_users_pytest_process(
    project: Project, pytester: pytest.Pytester
) -> None:
    project(
        {
            "test_gc.py": """
            import gc
            import weakref


            class Node:
                pass


            held = Node()
            held.me = held  # a cycle made at import, before the server starts
            REF = weakref.ref(held)


            def test_uses_the_server(mockserver):
                pass


            def test_a_cycle_is_collected():
                global held
                del held
                gc.collect()
                assert REF() is None
                assert gc.get_freeze_count() == 0
            """
        }
    )
    # A process of its own: the freeze count is the process's, whatever ran before.
    pytester.runpytest_subprocess("-p", "no:randomly").assert_outcomes(passed=2)


def test_item_11_an_unreachable_mockserver_url_from_the_environment_is_one_line(
    project: Project, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("MOCKSERVER_URL", url)
    project(
        {
            "test_remote.py": """
            def test_one(mockserver):
                pass


            def test_two(mockserver):
                pass
            """
        }
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [f"mockserver: the server at {url} (from the environment variable MOCKSERVER_URL;*)"]
    )
    line = (
        f"mockserver: cannot reach the mock server at {url} (from the environment variable "
        "MOCKSERVER_URL; unset it to start a server in-process): *Connection refused*"
    )
    result.stdout.fnmatch_lines(
        ["*ERROR at setup of test_one*", line, "*ERROR at setup of test_two*", line]
    )
    out = result.stdout.str()
    assert "http/client.py" not in out
    assert "Traceback" not in out
    assert len(out.splitlines()) < 30


def test_item_11_record_mode_with_an_unreachable_upstream_says_the_connection_error(
    project: Project, pytester: pytest.Pytester
) -> None:
    port = _closed_port()
    project(
        {
            "test_record.py": """
            import os

            import requests


            def test_records(mockserver):
                requests.get(os.environ["USERS_URL"] + "/api/item/1", timeout=10)
            """
        },
        stubs={
            "stubs/users.yaml": f"service: users\nupstream: http://127.0.0.1:{port}\nstubs: []\n"
        },
    )
    result = pytester.runpytest("--mockserver-record=new")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "mockserver: 1 request failed or matched no stub:",
            f"The server failed answering GET /api/item/1: upstream unreachable at "
            f"http://127.0.0.1:{port}: *",
        ]
    )
    result.stdout.no_fnmatch_line("*no stub came near*")


def test_item_11_service_urls_in_session_fixtures(
    project: Project, pytester: pytest.Pytester
) -> None:
    project(
        {
            "test_session.py": """
            import os

            import pytest
            import requests


            @pytest.fixture(scope="session")
            def client_from_env():
                return os.environ["USERS_URL"]


            @pytest.fixture(scope="session")
            def client_from_fixture(mockserver_urls):
                return mockserver_urls["users"]


            def test_env(client_from_env):
                pass


            def test_fixture(client_from_fixture, mockserver):
                assert client_from_fixture == os.environ["USERS_URL"]
                assert requests.get(client_from_fixture + "/api/user/1", timeout=5).ok
            """
        }
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "E*KeyError: 'USERS_URL'",
            "E*mockserver: <NAME>_URL and the mockserver fixture are per test*"
            "mockserver_urls fixture (a dict: service name -> URL)*",
        ]
    )


def test_item_12_mockserver_from_a_session_fixture_points_to_what_works(
    project: Project, pytester: pytest.Pytester
) -> None:
    project(
        {
            "test_scope.py": """
            import pytest


            @pytest.fixture(scope="session")
            def seeded(mockserver):
                mockserver.stub({"request": {"path": "/x"}, "response": {"body": "x"}})


            def test_it(seeded):
                pass
            """
        }
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "ScopeMismatch: You tried to access the function scoped fixture mockserver *",
            "mockserver: <NAME>_URL and the mockserver fixture are per test*"
            "pytestmark = pytest.mark.mockserver(stubs=[[]{...}[]])",
        ]
    )


def test_item_12_inline_stubs_in_a_module_marker_survive_each_reset(
    project: Project, pytester: pytest.Pytester
) -> None:
    project(
        {
            "test_module_stubs.py": """
            import os

            import pytest
            import requests

            pytestmark = pytest.mark.mockserver(
                stubs=[
                    {
                        "service": "users",
                        "request": {"path": "/health"},
                        "response": {"body": "ok"},
                    },
                    {"request": {"path": "/flag"}, "response": {"json": {"on": True}}},
                ]
            )


            def get(path):
                return requests.get(os.environ["USERS_URL"] + path, timeout=5)


            def test_first(mockserver):
                assert get("/health").text == "ok"
                assert get("/flag").json() == {"on": True}
                mockserver.reset()  # the test's own reset keeps them too
                assert get("/health").text == "ok"
                mockserver.stub({"request": {"path": "/only-first"}, "response": {"body": "1"}})


            def test_second(mockserver):
                assert get("/health").text == "ok"  # the module's stubs, after the reset
                assert get("/only-first").status_code == 404  # the test's own are gone


            @pytest.mark.mockserver(strict=False)
            def test_third_keeps_them_under_its_own_marker(mockserver):
                assert get("/health").text == "ok"
            """
        }
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["FAILED *::test_second - Failed: mockserver: 1 request*"])


def test_item_12_a_reset_between_hypothesis_examples_keeps_strictness(
    project: Project, pytester: pytest.Pytester
) -> None:
    project(
        {
            "test_property.py": """
            import os

            import requests
            from hypothesis import HealthCheck, example, given, settings, strategies as st


            @settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
            @given(user_id=st.integers(min_value=1, max_value=3))
            def test_each_example_starts_afresh(mockserver, user_id):
                mockserver.reset()
                requests.get(f"{os.environ['USERS_URL']}/api/user/{user_id}", timeout=5)
                assert len(mockserver.requests) == 1


            @settings(max_examples=5, suppress_health_check=[HealthCheck.function_scoped_fixture])
            @given(n=st.integers(min_value=1, max_value=3))
            @example(n=0)  # explicit examples run first: the later ones reset after it
            def test_an_unmatched_request_before_a_reset_still_fails(mockserver, n):
                mockserver.reset()
                path = "/typo" if n == 0 else "/api/user/1"
                requests.get(os.environ["USERS_URL"] + path, timeout=5)
            """
        }
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_an_unmatched_request_before_a_reset_still_fails _*",
            "mockserver: * matched no stub:*",
        ]
    )
