"""serve --admin-api wiremock, driven by WireMock's own Python client (the ``wiremock`` package)
unchanged, with Config.base_url pointed at a real server; and by requests where that client has
no call for a route."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from wiremock.client import (
    HttpMethods,
    Mapping,
    MappingRequest,
    MappingResponse,
    Mappings,
    NearMissMatchPatternRequest,
    Requests,
    Scenarios,
)
from wiremock.constants import Config
from wiremock.exceptions import RequiresLoginException

from ..console import run_console
from .admin_helpers import serve

SHOP = Path(__file__).parent.parent / "data" / "wiremock" / "shop"


@pytest.fixture
def server() -> Iterator[str]:
    """A server of the WireMock root with WireMock's admin API; the client pointed at it."""
    before = (Config.base_url, Config.headers)
    with serve(SHOP, admin_api="wiremock") as running:
        Config.base_url, Config.headers = running.url + "/__admin", {}
        try:
            yield running.url
        finally:
            Config.base_url, Config.headers = before


def hello_mapping(body: str = "hi") -> Mapping:
    return Mapping(
        priority=1,
        request=MappingRequest(method=HttpMethods.GET, url="/hello"),
        response=MappingResponse(status=200, body=body),
        persistent=False,
    )


def test_mappings_are_created_listed_edited_and_deleted(server: str) -> None:
    created = Mappings.create_mapping(hello_mapping())
    assert created.id
    assert requests.get(server + "/hello", timeout=5).text == "hi"
    everything = Mappings.retrieve_all_mappings()
    assert everything.meta.total == 13  # the root's twelve and this one
    assert created.id in {m.id for m in everything.mappings}
    # A loaded mapping is read back with its url and urlPattern, as the root wrote them.
    assert "/some/thing" in {m.request.url for m in everything.mappings}
    assert "/api/.*" in {m.request.url_pattern for m in everything.mappings}
    assert Mappings.retrieve_mapping(created.id).request.url == "/hello"
    created.response = MappingResponse(status=202, body="edited")
    assert Mappings.update_mapping(created).response.status == 202
    answer = requests.get(server + "/hello", timeout=5)
    assert (answer.status_code, answer.text) == (202, "edited")
    Mappings.delete_mapping(created.id)
    assert requests.get(server + "/hello", timeout=5).status_code == 404
    gone = requests.get(f"{server}/__admin/mappings/{created.id}", timeout=5)
    assert gone.status_code == 404


def test_mappings_reset_and_delete_all(server: str) -> None:
    Mappings.create_mapping(hello_mapping())
    Mappings.reset_mappings()  # back to the root's mappings
    assert requests.get(server + "/hello", timeout=5).status_code == 404
    assert requests.get(server + "/some/thing", timeout=5).status_code == 200
    Mappings.delete_all_mappings()
    assert Mappings.retrieve_all_mappings().meta.total == 0
    assert requests.get(server + "/some/thing", timeout=5).status_code == 404
    # The files of __files/ are no mappings: WireMock serves them still, and so do we.
    assert requests.get(server + "/unused.json", timeout=5).status_code == 200
    requests.post(server + "/__admin/reset", timeout=5).raise_for_status()
    assert requests.get(server + "/some/thing", timeout=5).status_code == 200


def test_import_with_duplicate_policies(server: str) -> None:
    def imported(body: str, policy: str) -> None:
        mapping = {"id": "imp-1", "request": {"url": "/imported"}, "response": {"body": body}}
        payload = {"mappings": [mapping], "importOptions": {"duplicatePolicy": policy}}
        requests.post(
            server + "/__admin/mappings/import", json=payload, timeout=5
        ).raise_for_status()

    imported("first", "OVERWRITE")
    imported("second", "IGNORE")
    assert requests.get(server + "/imported", timeout=5).text == "first"
    imported("third", "OVERWRITE")
    assert requests.get(server + "/imported", timeout=5).text == "third"


def test_the_request_journal(server: str) -> None:
    Mappings.create_mapping(hello_mapping())
    for _ in range(2):
        requests.get(server + "/hello", timeout=5)
    requests.get(server + "/nowhere", timeout=5)
    journal = Requests.get_all_received_requests()
    assert journal.meta.total == 3
    assert [r.request.url for r in journal.requests] == ["/nowhere", "/hello", "/hello"]
    pattern = NearMissMatchPatternRequest(method="GET", url="/hello")
    assert Requests.get_matching_request_count(pattern).count == 2
    found = Requests.get_matching_requests(NearMissMatchPatternRequest(url_path_pattern="/no.*"))
    assert [r.url for r in found.requests] == ["/nowhere"]
    assert [r.url for r in Requests.get_unmatched_requests().requests] == ["/nowhere"]
    near = Requests.get_unmatched_requests_near_misses().near_misses
    assert len(near) == 3  # the nearest three stubs, as the unmatched report names them
    assert {n.request.url for n in near} == {"/nowhere"}
    assert "/hello" in {n.request_pattern.url for n in near}  # the posted mapping's pattern
    assert all(0 < n.match_result.distance <= 1 for n in near)
    Requests.reset_request_journal()
    assert Requests.get_all_received_requests().meta.total == 0
    cleared = requests.delete(server + "/__admin/requests", timeout=5)
    assert cleared.status_code == 200


def test_scenarios_are_listed_set_and_reset(server: str) -> None:
    def states() -> dict[str, str]:
        listing = requests.get(server + "/__admin/scenarios", timeout=5).json()["scenarios"]
        return {s["name"]: s["state"] for s in listing}

    assert states() == {"To do list": "Started"}
    items = server + "/todo/items"
    requests.post(items, data="Cancel newspaper subscription", timeout=5)
    assert states() == {"To do list": "Cancel newspaper item added"}
    Scenarios.reset_all_scenarios()
    assert states() == {"To do list": "Started"}
    moved = requests.put(
        server + "/__admin/scenarios/To do list/state",
        json={"state": "Cancel newspaper item added"},
        timeout=5,
    )
    assert moved.status_code == 200
    assert "Cancel newspaper subscription" in requests.get(items, timeout=5).text


def test_a_mapping_it_cannot_serve_is_refused_with_the_key(server: str) -> None:
    answer = requests.post(
        server + "/__admin/mappings",
        json={"request": {"url": "/x"}, "response": {"proxyBaseUrl": "http://example.com"}},
        timeout=5,
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["source"]["pointer"] == "/response/proxyBaseUrl"
    assert Mappings.retrieve_all_mappings().meta.total == 12  # nothing added


def test_our_own_routes_still_answer(server: str) -> None:
    assert requests.get(server + "/__admin/health", timeout=5).json()["status"] == "ok"
    stubs = requests.get(server + "/__admin/stubs", timeout=5).json()["stubs"]
    # The twelve mappings, and the two files of __files/ served as WireMock serves them.
    assert len([s for s in stubs if not s["source"].endswith("__files")]) == 12
    assert len([s for s in stubs if s["source"].endswith("__files")]) == 2


def test_the_token_rule_is_unchanged() -> None:
    before = (Config.base_url, Config.headers)
    with serve(SHOP, admin_api="wiremock", admin_token="s3cret") as running:
        Config.base_url, Config.headers = running.url + "/__admin", {}
        try:
            with pytest.raises(RequiresLoginException):
                Mappings.create_mapping(hello_mapping())
            Config.headers = {"Authorization": "Bearer s3cret"}
            assert Mappings.create_mapping(hello_mapping()).id
        finally:
            Config.base_url, Config.headers = before


def test_an_unknown_admin_api_is_refused() -> None:
    result = run_console("serve", "--admin-api", "wiremok", "--port", "0")
    assert result.returncode == 2
    assert "mockserver, wiremock" in result.stderr


def test_workers_are_refused_with_the_wiremock_admin_api() -> None:
    result = run_console("serve", str(SHOP), "--admin-api", "wiremock", "--workers", "2")
    assert result.returncode == 2
    assert "--admin-api wiremock serves one process" in result.stderr
    # The same from the environment (MOCKSERVER_ADMIN_API), as the container is configured.
    from_env = run_console("serve", str(SHOP), "--workers", "2", MOCKSERVER_ADMIN_API="wiremock")
    assert from_env.returncode == 2
    assert "--admin-api wiremock serves one process" in from_env.stderr
