"""template: true under the pytest plugin: rendered through every fixture, and a render that
fails fails the test that caused it (strict mode), naming the stub and the template."""

from __future__ import annotations

import pytest

from .conftest import Project

pytestmark = pytest.mark.timeout(60)

STUBS = {
    "stubs/users.yaml": """
    service: users
    stubs:
      - id: hello
        request: {method: POST, path: "/hello/{name}"}
        response:
          template: true
          headers: {X-Name: "{{ request.path_params.name }}"}
          json: {greeting: "hello {{ request.path_params.name }}", n: "{{ request.json.n + 1 }}"}
      - id: broken
        request: {path: /broken}
        response: {template: true, json: {v: "{{ ''.__class__.__mro__ }}"}}
    """,
}

TESTS = """
import asyncio
import os

import aiohttp
import requests


def call(method, path, **kwargs):
    if "{client}" == "aiohttp":
        async def main():
            async with aiohttp.ClientSession() as session:
                async with session.request(method, os.environ["USERS_URL"] + path, **kwargs) as r:
                    return r.status, dict(r.headers), await r.json()
        return asyncio.run(main())
    r = requests.request(method, os.environ["USERS_URL"] + path, timeout=5, **kwargs)
    return r.status_code, dict(r.headers), r.json()


def test_rendered({fixture}):
    status, headers, body = call("POST", "/hello/ada", json={{"n": 1}})
    assert (status, headers["X-Name"], body) == (200, "ada", {{"greeting": "hello ada", "n": 2}})


def test_broken({fixture}):
    status, _, body = call("GET", "/broken")
    assert status == 500 and body["stub"] == "broken"
"""


@pytest.mark.parametrize(
    ("fixture", "client"),
    [("mockserver", "requests"), ("mock_requests", "requests"), ("mock_aiohttp", "aiohttp")],
)
def test_templates_render_and_a_failed_render_fails_the_test(
    project: Project, pytester: pytest.Pytester, fixture: str, client: str
) -> None:
    project({**STUBS, "test_templated.py": TESTS.format(fixture=fixture, client=client)})
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_broken _*",
            "mockserver: 1 request failed or matched no stub:",
            "The server failed answering GET /broken: template failed: stub 'broken', "
            "template json.v: SecurityError: access to attribute '__class__' of 'str' *",
        ]
    )
    result.stdout.fnmatch_lines(["FAILED test_templated.py::test_broken - Failed: mockserver:*"])
