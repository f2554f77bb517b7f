"""The mockserver fixture, as a user's project sees it: inner pytest runs through pytester."""

from __future__ import annotations

import socket

import pytest

from .conftest import CREATE_APP, Project

pytestmark = pytest.mark.timeout(60)


def test_a_test_gets_the_stubs_and_the_service_url_in_the_environment(
    project: Project, pytester: pytest.Pytester
) -> None:
    project(
        {
            "test_app.py": """
            import asyncio
            import os

            import aiohttp
            import pytest
            import requests


            def test_requests(mockserver):
                users = mockserver.service("users")
                assert os.environ["USERS_URL"] == users.url == mockserver.urls["users"]
                assert users.url == mockserver.url  # no declared port: the main port
                assert users.url.startswith("http://127.0.0.1:")
                response = requests.get(os.environ["USERS_URL"] + "/api/user/1", timeout=5)
                assert response.json() == {"id": "1", "name": "Simon"}
                users.assert_called("GET", "/api/user/{id}", times=1)
                assert [(r["path"], r["stub"]) for r in mockserver.requests] == [
                    ("/api/user/1", "get-user-1")
                ]
                assert mockserver.unmatched == []


            def test_aiohttp(mockserver):
                async def create():
                    async with aiohttp.ClientSession() as session:
                        async with session.post(
                            os.environ["USERS_URL"] + "/api/user",
                            json={"name": "Ada", "role": "member"},
                        ) as response:
                            return response.status, await response.json()

                assert asyncio.run(create()) == (201, {"id": "3", "role": "member"})
                mockserver.service("users").assert_called(
                    "POST", "/api/user", times=1, body={"json_subset": {"name": "Ada"}}
                )


            def test_unknown_service(mockserver):
                with pytest.raises(KeyError, match="no service 'orders'; services: users"):
                    mockserver.service("orders")
            """
        }
    )
    pytester.runpytest().assert_outcomes(passed=3)


def test_each_test_starts_from_the_file_stubs_with_an_empty_journal(
    project: Project, pytester: pytest.Pytester
) -> None:
    project(
        {
            "test_reset.py": """
            import os

            import pytest
            import requests


            def url(path):
                return os.environ["USERS_URL"] + path


            def test_first_adds_a_stub_and_changes_a_resource(mockserver):
                mockserver.service("users").stub(
                    {"id": "extra", "request": {"path": "/extra"}, "response": {"body": "hi"}}
                )
                assert requests.get(url("/extra"), timeout=5).text == "hi"
                assert requests.delete(url("/api/carts/1"), timeout=5).status_code == 204
                assert len(mockserver.requests) == 2


            @pytest.mark.mockserver(strict=False)
            def test_second_sees_none_of_it(mockserver):
                assert mockserver.requests == []
                assert requests.get(url("/extra"), timeout=5).status_code == 404
                assert requests.get(url("/api/carts/1"), timeout=5).json()["owner"] == "Simon"
                assert [e["path"] for e in mockserver.unmatched] == ["/extra"]
            """
        }
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_an_unmatched_request_fails_the_test_with_the_near_miss_report(
    project: Project, pytester: pytest.Pytester
) -> None:
    long_name = "x" * 3000  # shown whole: the report cuts a body past 4 KiB only
    project(
        {
            "app.py": CREATE_APP,
            "test_strict.py": f"""
            import app


            def test_creates_an_admin(mockserver):
                response = app.create("admin")
                assert response.status_code == 404  # the test itself passes...


            def test_fails_on_its_own(mockserver):
                app.create("{long_name}")
                assert False, "the app is wrong too"
            """,
        }
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)  # ...but is failed (not errored) by strict mode
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*_ test_creates_an_admin _*",
            "mockserver: 1 request matched no stub:",
            "No stub matched POST /api/user",
            '  body: {"name": "Ada", "role": "admin"}',
            "  1. stub create-user [[]POST /api/user[]] from *users.yaml (stub #2)",
            '       body: $.role: expected "member", got "admin"',
            "*_ test_fails_on_its_own _*",
        ]
    )
    # A test that fails anyway keeps its own failure and shows the report as a section.
    result.stdout.fnmatch_lines(
        ["*AssertionError: the app is wrong too*", "*- Captured mockserver call -*"]
    )
    assert f'"role": "{long_name}"' in out
    assert "Traceback" not in out.split("test_creates_an_admin _")[1].split("test_fails_on")[0]


def test_strict_mode_can_be_turned_off_per_test_and_per_project(
    project: Project, pytester: pytest.Pytester
) -> None:
    tests = """
        import pytest

        import app


        @pytest.mark.mockserver(strict=False)
        def test_marker_off(mockserver):
            assert app.create("admin").status_code == 404
            assert mockserver.unmatched[0]["nearest"][0]["stub"] == "create-user"


        def test_default(mockserver):
            app.create("admin")


        @pytest.mark.mockserver(strict=True)
        def test_marker_on(mockserver):
            app.create("admin")
    """
    project({"app.py": CREATE_APP, "test_modes.py": tests})
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["FAILED *::test_default - Failed: mockserver: 1 request*"])

    project({"app.py": CREATE_APP, "test_modes.py": tests}, ini="mockserver_strict = false\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["FAILED *::test_marker_on - Failed: mockserver: 1 request*"])


def test_service_urls_are_in_the_environment_only_during_the_test(
    project: Project, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USERS_URL", "http://the-shell-value")
    project(
        {
            "test_env.py": """
            import os


            def test_before():
                assert os.environ["USERS_URL"] == "http://the-shell-value"
                assert "CATALOG_URL" not in os.environ


            def test_during(mockserver):
                assert os.environ["USERS_URL"] == mockserver.service("users").url
                assert os.environ["CATALOG_URL"] == mockserver.service("catalog").url


            def test_after():
                assert os.environ["USERS_URL"] == "http://the-shell-value"
                assert "CATALOG_URL" not in os.environ
            """,
            "stubs/catalog.yaml": "stubs: []\n",
        },
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=3)


def test_assert_called_and_assert_not_called(project: Project, pytester: pytest.Pytester) -> None:
    project(
        {
            "test_verify.py": """
            import os

            import requests


            def get(path, **kwargs):
                return requests.get(os.environ["USERS_URL"] + path, timeout=5, **kwargs)


            def test_passes(mockserver):
                users = mockserver.service("users")
                users.assert_not_called()
                get("/api/user/1", params={"verbose": "1"})
                get("/api/user/2")
                assert len(users.assert_called("GET", "/api/user/{id}", times=2)) == 2
                users.assert_called("GET", "/api/user/1", query={"verbose": "1"})
                users.assert_not_called("POST")
                users.assert_not_called("GET", "/api/user/1", query={"verbose": "2"})
                mockserver.assert_called(path="/api/user/2", times=1)


            def test_wrong_count(mockserver):
                get("/api/user/1")
                mockserver.service("users").assert_called("GET", "/api/user/1", times=2)


            def test_called_but_should_not_be(mockserver):
                get("/api/user/2")
                mockserver.service("users").assert_not_called("GET", "/api/user/{id}")
            """
        }
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            '>       mockserver.service("users").assert_called("GET", "/api/user/1", times=2)',
            "E       AssertionError: expected GET /api/user/1 2 times on service 'users', got 1; "
            "requests received:",
            "E         GET /api/user/1 -> 200 (get-user-1)",
            '>       mockserver.service("users").assert_not_called("GET", "/api/user/{id}")',
            "E       AssertionError: expected GET /api/user/{id} 0 times on service 'users', "
            "got 1;*",
            "E         GET /api/user/2 -> 404 (user-not-found)",
        ]
    )
    assert "handle.py" not in result.stdout.str()  # the failure points at the test's line


def test_a_declared_port_becomes_an_ephemeral_one(
    project: Project, pytester: pytest.Pytester
) -> None:
    with socket.socket() as taken:  # the declared port is busy: binding it would fail
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        project(
            {
                "stubs/catalog.yaml": f"""
                port: {port}
                stubs:
                  - {{request: {{path: /ping}}, response: {{body: pong}}}}
                """,
                "test_ports.py": f"""
                import os

                import requests


                def test_catalog(mockserver):
                    url = os.environ["CATALOG_URL"]
                    assert url == mockserver.service("catalog").url
                    assert url != mockserver.url
                    assert not url.endswith(":{port}")
                    assert requests.get(url + "/ping", timeout=5).text == "pong"
                """,
            }
        )
        pytester.runpytest().assert_outcomes(passed=1)


def test_help_lists_the_options_and_markers_lists_the_marker(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "mockserver: HTTP test doubles from stub files:",
            "  --mockserver-stubs=MOCKSERVER_STUBS",
            "  --mockserver-url=MOCKSERVER_URL",
            "  --mockserver-record={none*}",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "  mockserver_stubs (paths):*",
            "  mockserver_strict (bool):*",
            "  mockserver_env_pattern (string):*",
        ]
    )
    result = pytester.runpytest_subprocess("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.mockserver(stubs=None, strict=None): *"])
    result = pytester.runpytest_subprocess("--mockserver-record=sometimes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--mockserver-record: invalid choice: 'sometimes'*"])
