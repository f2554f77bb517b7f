"""``--mockserver-record``: the session's summary says how the replay of what it recorded will
choose (issue 16), below the line saying what went where: the block a recording ends with,
read from the file as the session left it (a real aiohttp service, a real inner pytest run).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..integration.fidelity import FidelityState, make_fidelity_app
from ..integration.upstream import Upstream
from .conftest import Project

pytestmark = pytest.mark.timeout(60)

SUITE = """
import os

import pytest
import requests


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_negotiate(mockserver, accept):
    answer = requests.get(
        os.environ["SVC_URL"] + "/negotiate", headers={"Accept": accept}, timeout=10
    )
    assert answer.headers["Content-Type"].startswith(accept)


def test_reason_and_head(mockserver):
    assert requests.get(os.environ["SVC_URL"] + "/reason", timeout=10).reason == "Custom"
    assert requests.head(os.environ["SVC_URL"] + "/doc", timeout=10).status_code == 200
"""


@pytest.fixture
def service() -> Iterator[Upstream]:
    with Upstream(FidelityState(), make_fidelity_app) as running:
        yield running


def test_the_summary_says_how_the_replay_will_choose(
    pytester: pytest.Pytester, project: Project, service: Upstream
) -> None:
    stubs = {"stubs/svc.yaml": f"service: svc\nupstream: {service.url}\nstubs: []\n"}
    project({"test_svc.py": SUITE}, stubs=stubs)
    result = pytester.runpytest("--mockserver-record=new")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "mockserver: recorded 4 exchanges: stubs/svc.recorded.yaml +4 (now 4 stubs)",
            "  svc.recorded.yaml: 4 stubs",
            "    variants: GET /negotiate by Accept (2)",
            "    ranges from the whole representation: GET /negotiate; GET /reason",
            "    own reason phrase: GET /reason",
            "    HEAD answered by its own stub: HEAD /doc",
        ],
        consecutive=True,
    )
    # Replayed, nothing new is recorded and nothing is said.
    result = pytester.runpytest()
    result.assert_outcomes(passed=3)
    result.stdout.no_fnmatch_line("*svc.recorded.yaml: *")
