"""profile_app against the users stubs: over a real local server, and with no socket at all.

Each test runs twice: with ``mockserver`` (a real HTTP server for the session, reset before
every test) and with the socket-free fixture for the client the code uses (``mock_requests``
for requests, ``mock_aiohttp`` for aiohttp). The app is the same; only ``USERS_URL`` differs.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
import requests
from profile_app import Profile, create_user, fetch_profile, fetch_profiles

from mockserver.testing.handle import ServiceHandle

SIMON = Profile(id="1", name="Simon", email="simon@example.com")
ADA = Profile(id="2", name="Ada", email="ada@example.com")


@pytest.fixture(params=["mockserver", "mock_requests"])
def users(request: pytest.FixtureRequest) -> ServiceHandle:
    """The users service, for code that calls it with requests."""
    return request.getfixturevalue(request.param).service("users")


@pytest.fixture(params=["mockserver", "mock_aiohttp"])
def users_async(request: pytest.FixtureRequest) -> ServiceHandle:
    """The users service, for code that calls it with aiohttp."""
    return request.getfixturevalue(request.param).service("users")


def test_fetch_profile(users: ServiceHandle) -> None:
    assert fetch_profile("1") == SIMON
    users.assert_called("GET", "/api/user/1", times=1)


def test_unknown_user_is_none(users: ServiceHandle) -> None:
    assert fetch_profile("42") is None


def test_a_stub_for_one_test(users: ServiceHandle) -> None:
    # Same keys as in the YAML files; it wins over them, and is gone after this test.
    users.stub({"request": {"method": "GET", "path": "/api/user/7"}, "response": {"status": 503}})
    with pytest.raises(requests.HTTPError, match="503"):
        fetch_profile("7")


def test_create_user(users: ServiceHandle) -> None:
    assert create_user("Grace", "grace@example.com") == "3"
    users.assert_called("POST", "/api/user", times=1, body={"json_subset": {"name": "Grace"}})


@pytest.mark.mockserver(strict=False)  # this request is meant to match no stub
def test_an_invalid_email_is_refused(users: ServiceHandle) -> None:
    with pytest.raises(requests.HTTPError, match="404"):
        create_user("Grace", "not an email")
    users.assert_called("POST", "/api/user", times=1)


def test_fetch_profiles(users_async: ServiceHandle) -> None:
    profiles = asyncio.run(fetch_profiles(["1", "2", "42"]))
    assert profiles == {"1": SIMON, "2": ADA, "42": None}
    users_async.assert_called("GET", "/api/user/{user_id}", times=3)


def test_fetch_profiles_when_the_service_fails(users_async: ServiceHandle) -> None:
    users_async.stub({"request": {"path": "/api/user/2"}, "response": {"status": 500}})
    with pytest.raises(aiohttp.ClientResponseError):
        asyncio.run(fetch_profiles(["1", "2"]))
