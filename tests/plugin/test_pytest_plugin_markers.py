"""The marker's stub files: declared ports get listeners, levels combine, loading is one batch."""

from __future__ import annotations

import pytest

from mockserver.core.config import Settings
from mockserver.server.runner import MockServer

from .conftest import Project

pytestmark = pytest.mark.timeout(60)

PAYMENTS = """
service: payments
port: 9001
stubs: [{id: pay, request: {path: /pay}, response: {body: payments}}]
"""
LEDGER = """
service: ledger
port: 9002
stubs: [{id: pay-ledger, request: {path: /pay}, response: {body: ledger}}]
"""

PORTS_TEST = """
import os

import pytest
import requests


def get(name, path):
    return requests.get(os.environ[name.upper() + "_URL"] + path, timeout=5)


@pytest.mark.mockserver(stubs=["payments.yaml", "ledger.yaml"])
def test_each_declared_service_has_its_listener({fixture}):
    assert get("payments", "/pay").text == "payments"
    assert get("ledger", "/pay").text == "ledger"
    urls = {fixture}.urls
    assert len({{urls["payments"], urls["ledger"], urls["users"]}}) == 3
    assert not urls["payments"].endswith(":9001")
    assert get("users", "/api/user/1").json()["name"] == "Simon"


def test_the_next_test_has_none_of_them({fixture}):
    assert "PAYMENTS_URL" not in os.environ
    assert sorted({fixture}.urls) == ["users"]


@pytest.mark.mockserver(stubs="payments.yaml")
def test_the_port_serves_again({fixture}):
    assert get("payments", "/pay").text == "payments"
"""


@pytest.mark.parametrize("fixture", ["mockserver", "mock_requests"])
def test_services_the_marker_declares_get_their_own_listener(
    project: Project, pytester: pytest.Pytester, fixture: str
) -> None:
    project(
        {
            "payments.yaml": PAYMENTS,
            "ledger.yaml": LEDGER,
            "test_ports.py": PORTS_TEST.format(fixture=fixture),
        }
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=3)


LEVELS_TEST = """
import os

import pytest
import requests

pytestmark = pytest.mark.mockserver(stubs="module.yaml")


def get(path):
    return requests.get(os.environ["USERS_URL"] + path, timeout=5).text


@pytest.mark.mockserver(stubs="klass.yaml")
class TestLevels:
    @pytest.mark.mockserver(stubs="test.yaml")
    def test_all_levels_closest_wins(self, mockserver):
        assert get("/only-module") == "module"
        assert get("/only-class") == "class"
        assert get("/by-id") == "test"  # one id at three levels: the test's
        assert get("/same") == "test"  # no ids, one route: the closest answers
        assert get("/api/user/1") == "file replaced"  # a session file's id, replaced

    def test_module_and_class(self, mockserver):
        assert get("/by-id") == "class"
        assert get("/same") == "class"
        assert get("/only-module") == "module"


@pytest.mark.mockserver(strict=False)
def test_module_alone(mockserver):
    assert get("/by-id") == "module"
    assert requests.get(os.environ["USERS_URL"] + "/only-class", timeout=5).status_code == 404
"""


def _level(name: str, extra: str = "") -> str:
    return f"""
    service: users
    stubs:
      - {{id: by-id, request: {{path: /by-id}}, response: {{body: {name}}}}}
      - {{request: {{path: /same}}, response: {{body: {name}}}}}
      - {{request: {{path: /only-{name}}}, response: {{body: {name}}}}}
    {extra}"""


def test_module_class_and_test_markers_combine_closest_last(
    project: Project, pytester: pytest.Pytester
) -> None:
    replaced = "  - {id: get-user-1, request: {path: /api/user/1}, response: {body: file replaced}}"
    project(
        {
            "module.yaml": _level("module"),
            "klass.yaml": _level("class"),
            "test.yaml": _level("test", replaced),
            "test_levels.py": LEVELS_TEST,
        }
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=3)


def test_a_port_the_server_cannot_give_is_a_setup_error(
    project: Project, pytester: pytest.Pytester
) -> None:
    project(
        {
            "users-elsewhere.yaml": "service: users\nport: 9005\nstubs: []\n",
            "two.yaml": "service: two\nport: 9001\nstubs: []\n",
            "carts.yaml": "resources: [{path: /carts, id_field: id, items: []}]\n",
            "payments.yaml": PAYMENTS,
            "test_bad.py": """
            import pytest


            @pytest.mark.mockserver(stubs="users-elsewhere.yaml")
            def test_moved(mockserver):
                pass


            @pytest.mark.mockserver(stubs="carts.yaml")
            def test_resources(mockserver):
                pass


            @pytest.mark.mockserver(stubs="two.yaml")
            class TestShared:
                @pytest.mark.mockserver(stubs="payments.yaml")
                def test_shared(self, mockserver):
                    pass
            """,
        }
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(
        [
            "*mockserver: the marker's stub files: *users-elsewhere.yaml declares service "
            "'users' on port 9005, but the session's stub files serve it on the main port*",
            "*mockserver: the marker's stub files: *carts.yaml declares resources for service "
            "'carts'; a marker's files add stubs only*",
            "*mockserver: the marker's stub files: the marker's stub files declare services "
            "'two' and 'payments' on one port, 9001*",
        ]
    )


def test_against_a_running_server_marker_stubs_are_put_and_new_ports_refused(
    project: Project, pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory
) -> None:
    remote = tmp_path_factory.mktemp("remote")
    (remote / "users.yaml").write_text("service: users\nstubs: []\n", encoding="utf-8")
    many = "\n".join(
        f"  - {{request: {{path: /item/{n}}}, response: {{body: '{n}'}}}}" for n in range(300)
    )
    project(
        {
            "many.yaml": "service: users\nstubs:\n" + many + "\n",
            "payments.yaml": PAYMENTS,
            "test_remote.py": """
            import os

            import pytest
            import requests


            @pytest.mark.mockserver(stubs="many.yaml")
            def test_many(mockserver):
                assert requests.get(os.environ["USERS_URL"] + "/item/299", timeout=5).text == "299"


            @pytest.mark.mockserver(stubs="payments.yaml")
            def test_port(mockserver):
                pass
            """,
        },
        stubs={},
    )
    settings = Settings(paths=(str(remote),), port=0, log_level="warning")
    with MockServer(settings) as server:
        result = pytester.runpytest_subprocess(f"--mockserver-url={server.url}")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*payments.yaml declares service 'payments' on port 9001; a server this session "
            "did not start (--mockserver-url, mockserver_container) opens no port*"
        ]
    )
