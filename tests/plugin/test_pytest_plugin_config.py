"""Configuring the mockserver fixture: stub paths, the marker, the env pattern, bad stubs."""

from __future__ import annotations

import pytest

from .conftest import CREATE_APP, INNER_ADDOPTS, USERS_YAML, Project

pytestmark = pytest.mark.timeout(60)


def test_the_environment_variable_pattern_is_configurable(
    project: Project, pytester: pytest.Pytester
) -> None:
    project(
        {
            "stubs/users-api.v2.yaml": "stubs: []\n",
            "test_env.py": """
            import os


            def test_names(mockserver):
                assert os.environ["USERS_BASE_URL"] == mockserver.service("users").url
                assert os.environ["USERS_API_V2_BASE_URL"] == mockserver.urls["users-api.v2"]
                assert "USERS_URL" not in os.environ
            """,
        },
        ini="mockserver_env_pattern = {NAME}_BASE_URL\n",
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_the_marker_adds_stub_files_for_one_test(
    project: Project, pytester: pytest.Pytester
) -> None:
    project(
        {
            "tests/more/admins.yaml": """
            service: users
            stubs:
              - id: create-user  # replaces the file stub of the same id
                request: {method: POST, path: /api/user}
                response: {status: 201, json: {id: "9", role: admin}}
              - id: get-user-9
                request: {method: GET, path: /api/user/9}
                response: {json: {id: "9"}}
            """,
            "tests/test_marker.py": """
            import os

            import pytest
            import requests

            import app


            @pytest.mark.mockserver(stubs="more/admins.yaml")
            def test_with_the_extra_file(mockserver):
                assert app.create("admin").json() == {"id": "9", "role": "admin"}
                url = os.environ["USERS_URL"] + "/api/user/9"
                assert requests.get(url, timeout=5).json() == {"id": "9"}


            @pytest.mark.mockserver(strict=False)
            def test_without_it(mockserver):
                assert app.create("admin").status_code == 404
            """,
            "tests/app.py": CREATE_APP,
        }
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_module_and_test_markers_combine_key_by_key(
    project: Project, pytester: pytest.Pytester
) -> None:
    project(
        {
            "ping.yaml": """
            service: users
            stubs: [{request: {path: /ping}, response: {body: pong}}]
            """,
            "test_markers.py": """
            import os

            import pytest
            import requests

            pytestmark = pytest.mark.mockserver(stubs="ping.yaml")


            def get(path):
                return requests.get(os.environ["USERS_URL"] + path, timeout=5)


            @pytest.mark.mockserver(strict=False)
            def test_module_stubs_kept_under_a_strict_marker(mockserver):
                assert get("/ping").text == "pong"
                assert get("/nowhere").status_code == 404
            """,
        }
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_stub_paths_come_from_the_option_or_the_ini(
    project: Project, pytester: pytest.Pytester
) -> None:
    stubs = {
        "a/users.yaml": "stubs: []\n",
        "b/catalog.yaml": "stubs: []\n",
        "c/orders.yaml": "stubs: []\n",
        "stubs/default.yaml": "stubs: []\n",
    }
    test = """
        import os


        def test_services(mockserver):
            assert sorted(mockserver.urls) == os.environ["EXPECTED"].split(",")
    """
    project({"test_paths.py": test}, stubs=stubs)
    pytester.runpytest().assert_outcomes(passed=0, failed=1)  # EXPECTED unset: sanity
    for ini, args, expected in [
        ("", (), "default"),
        ("", ("--mockserver-stubs", "a, b"), "catalog,users"),
        ("mockserver_stubs = c a\n", (), "orders,users"),
        ("mockserver_stubs = c\n", ("--mockserver-stubs=b",), "catalog"),
    ]:
        project({"test_paths.py": test}, stubs=stubs, ini=ini)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("EXPECTED", expected)
            pytester.runpytest(*args).assert_outcomes(passed=1)


def test_no_stubs_directory_means_no_services(project: Project, pytester: pytest.Pytester) -> None:
    project(
        {
            "test_empty.py": """
            import requests


            @__import__("pytest").mark.mockserver(strict=False)
            def test_empty(mockserver):
                assert mockserver.urls == {}
                assert requests.get(mockserver.url + "/anything", timeout=5).status_code == 404
            """
        },
        stubs={},
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_invalid_stub_files_are_reported_with_file_stub_and_key(
    project: Project, pytester: pytest.Pytester
) -> None:
    project(
        {
            "stubs/broken.yaml": """
            stubs:
              - id: get-thing
                request: {metod: GET, path: /thing}
            """,
            "extra.yaml": "stubs: [{id: x, response: {status: 2000}}]\n",
            "test_broken.py": """
            import pytest


            def test_session_stubs(mockserver):
                pass


            def test_without_the_fixture():
                pass
            """,
        }
    )
    # -rN: pytest's short summary repeats the whole message when it believes it runs
    # on CI (the CI variable set), which would hide or fake a repetition by a chain.
    result = pytester.runpytest("-rN")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*mockserver: the stub files have problems*",
            "*broken.yaml:3:*: stub 'get-thing': request.metod: unknown key 'metod'*",
        ]
    )
    assert result.stdout.str().count("unknown key 'metod'") == 1  # not repeated by a chain

    (pytester.path / "stubs" / "broken.yaml").unlink()
    pytester.makepyfile(
        test_broken="""
        import pytest


        @pytest.mark.mockserver(stubs="extra.yaml")
        def test_marker_stubs(mockserver):
            pass
        """
    )
    result = pytester.runpytest("-rN")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*mockserver: the marker's stub files have problems*",
            "*extra.yaml:1:*: stub 'x': response.status: expected a whole number*2000*",
        ]
    )
    assert result.stdout.str().count("expected a whole number") == 1


def test_pytest_run_from_a_parent_directory_says_where_it_looked_for_stubs(
    pytester: pytest.Pytester,
) -> None:
    """``pytest project/tests`` from project's parent, with no ini file: the rootdir is the
    parent, which has no stubs/."""
    stubs = pytester.path / "project" / "stubs"
    stubs.mkdir(parents=True)
    (stubs / "users.yaml").write_text(USERS_YAML, encoding="utf-8")
    tests = pytester.path / "project" / "tests"
    tests.mkdir()
    (tests / "test_users.py").write_text(
        "def test_users(mockserver):\n    mockserver.service('users')\n", encoding="utf-8"
    )
    inner = INNER_ADDOPTS.split()
    result = pytester.runpytest("project/tests", *inner)
    result.assert_outcomes(failed=1)
    root = pytester.path
    result.stdout.fnmatch_lines(
        [
            "*_ test_users _*",
            "mockserver: no service 'users'; services: none; no stub files: none named "
            "(--mockserver-stubs, ini mockserver_stubs) and no stubs/ in pytest's rootdir "
            f"{root} (no ini file found; tried {root / 'stubs'}): run pytest from the directory "
            "holding stubs/, put a pytest.ini there, or name them with --mockserver-stubs",
            "=*",
        ]
    )
    result.stdout.no_fnmatch_line("*KeyError*")
    # Each way out the line names works.
    result = pytester.runpytest(
        "project/tests", "--mockserver-stubs=project/stubs", *INNER_ADDOPTS.split()
    )
    result.assert_outcomes(passed=1)
    (pytester.path / "project" / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    result = pytester.runpytest("project/tests", *inner)
    result.assert_outcomes(passed=1)
