"""Other mocking libraries beside mockserver (issue 14 item 9): its URLs pass through them."""

from __future__ import annotations

import pytest

from .conftest import Project

pytestmark = pytest.mark.timeout(60)

APP = """
import asyncio
import os

import aiohttp
import httpx
import requests


def user_url():
    return os.environ["USERS_URL"] + "/api/user/1"


def with_requests(url):
    return requests.get(url, timeout=5).json()


def with_httpx(url):
    return httpx.get(url, timeout=5).json()


def with_aiohttp(url):
    async def main():
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as response:
                return await response.json()

    return asyncio.run(main())
"""

SIMON = {"id": "1", "name": "Simon"}


def test_item_9_mocks_from_fixtures_let_mockservers_urls_through(
    project: Project, pytester: pytest.Pytester
) -> None:
    project(
        {
            "app.py": APP,
            "test_libraries.py": f"""
            import httpx
            import pytest
            import responses
            from aioresponses import aioresponses

            from app import user_url, with_aiohttp, with_httpx, with_requests
            from mockserver.testing.aioresponses_compat import response_class

            SIMON = {SIMON!r}


            @pytest.fixture
            def aiomock():
                with aioresponses() as mock:
                    yield mock


            def test_requests_mock(requests_mock, mockserver):
                requests_mock.get("http://other.example/x", json={{"mocked": True}})
                assert with_requests(user_url()) == SIMON
                assert with_requests("http://other.example/x") == {{"mocked": True}}


            def test_respx(respx_mock, mockserver):
                respx_mock.get("http://other.example/x").mock(
                    return_value=httpx.Response(200, json={{"mocked": True}})
                )
                assert with_httpx(user_url()) == SIMON
                assert with_httpx("http://other.example/x") == {{"mocked": True}}


            @pytest.mark.respx(assert_all_called=True)
            def test_respx_asserting_all_routes_called(respx_mock, mockserver):
                other = httpx.Response(200, json=1)
                respx_mock.get("http://other.example/x").mock(return_value=other)
                assert with_httpx("http://other.example/x") == 1
                assert with_httpx(user_url()) == SIMON  # the pass-through route is not counted


            @responses.activate
            def test_responses(mockserver):
                responses.get("http://other.example/x", json={{"mocked": True}})
                assert with_requests(user_url()) == SIMON
                assert with_requests("http://other.example/x") == {{"mocked": True}}


            def test_aioresponses(aiomock, mockserver):
                # aioresponses 0.7.9 needs a response class on aiohttp 3.14 (docs/pytest.md)
                aiomock.get(
                    "http://other.example/x",
                    payload={{"mocked": True}},
                    response_class=response_class(),
                )
                assert with_aiohttp(user_url()) == SIMON
                assert with_aiohttp("http://other.example/x") == {{"mocked": True}}
            """,
        }
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=5)


def test_item_9_a_mock_started_in_the_test_is_named_with_the_fix(
    project: Project, pytester: pytest.Pytester
) -> None:
    project(
        {
            "app.py": APP,
            "test_inline.py": f"""
            import requests_mock
            import respx
            from aioresponses import aioresponses

            from app import user_url, with_aiohttp, with_httpx, with_requests

            SIMON = {SIMON!r}


            def test_requests_mock_inline(mockserver):
                with requests_mock.Mocker():
                    with_requests(user_url())


            def test_respx_inline(mockserver):
                with respx.mock():
                    with_httpx(user_url())


            def test_aioresponses_inline(mockserver):
                with aioresponses():
                    with_aiohttp(user_url())


            def test_let_through(mockserver):
                with requests_mock.Mocker() as mock:
                    mockserver.let_through(mock)
                    assert with_requests(user_url()) == SIMON
                with aioresponses() as mock:
                    mockserver.let_through(mock)
                    assert with_aiohttp(user_url()) == SIMON
            """,
        }
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=3)
    for library in ("requests-mock", "respx", "aioresponses"):
        result.stdout.fnmatch_lines(
            [
                f"mockserver: {library} intercepted a request to mockserver's own server "
                "(http://127.0.0.1:*): let the server's URLs through it with "
                "mockserver.let_through(<the mock>), or *",
            ]
        )
    result.stdout.no_fnmatch_line("*Traceback*")
