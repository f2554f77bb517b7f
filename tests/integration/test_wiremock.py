"""A WireMock root (mappings in the shapes WireMock's documentation gives, and __files/) served
as it is by a real server, driven by real clients; and the located problems of what it cannot
serve."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from ..console import run_console
from .admin_helpers import serve

SHOP = Path(__file__).parent.parent / "data" / "wiremock" / "shop"


def write_root(root: Path, mappings: dict[str, Any], files: dict[str, bytes] | None = None) -> Path:
    for name, document in mappings.items():
        target = root / "mappings" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(document))
    for name, data in (files or {}).items():
        target = root / "__files" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


def test_the_documented_shapes_are_served() -> None:
    with serve(SHOP) as server, requests.Session() as client:
        assert set(server.urls) == {"shop"}  # one service, named after the root
        base = server.url
        hello = client.get(base + "/some/thing", timeout=5)
        assert (hello.status_code, hello.text) == (200, "Hello, world!")
        assert hello.headers["Content-Type"].startswith("text/plain")
        assert "ETag" not in hello.headers
        # Priorities: 1 beats 10; of two equal ones the later in the file answers.
        assert client.get(base + "/api/specific-resource", timeout=5).status_code == 200
        assert client.get(base + "/api/anything-else", timeout=5).status_code == 401
        assert client.get(base + "/newest", timeout=5).text == "newer"
        assert (
            client.get(base + "/body-file", timeout=5).text == "<response>Some content</response>\n"
        )
        assert client.get(base + "/json", timeout=5).json() == {"arbitrary_json": [1, 2, 3]}
        assert client.get(base + "/binary", timeout=5).content == b"YES INDEED!"
        assert client.get(base + "/nowhere", timeout=5).status_code == 404


def test_a_scenario_moves_across_requests() -> None:
    with serve(SHOP) as server, requests.Session() as client:
        items = server.url + "/todo/items"
        assert client.get(items, timeout=5).text == "<items><item>Buy milk</item></items>"
        # Not the body the move waits for: no move.
        assert client.post(items, data="Walk the dog", timeout=5).status_code == 404
        added = client.post(items, data="Cancel newspaper subscription", timeout=5)
        assert added.status_code == 201
        assert client.get(items, timeout=5).text == (
            "<items><item>Buy milk</item><item>Cancel newspaper subscription</item></items>"
        )
        # The POST waits for Started, which is behind us now.
        again = client.post(items, data="Cancel newspaper subscription", timeout=5)
        assert again.status_code == 404


def test_every_attribute_of_the_documented_request_is_matched() -> None:
    with serve(SHOP) as server, requests.Session() as client:
        url = server.url + "/everything"

        def call(**changes: Any) -> int:
            kwargs: dict[str, Any] = {
                "params": {"search_term": "WireMock"},
                "headers": {"Accept": "text/xml", "Content-Type": "application/xml"},
                "cookies": {"session": "ab12345cd"},
                "data": "<search-results />",
                "auth": ("jeff@example.com", "jeffteenjefftyjeff"),
                "timeout": 5,
            }
            kwargs.update(changes)
            return client.put(url, **kwargs).status_code

        assert call() == 200
        assert call(data="<search-results>\n</search-results>") == 200  # XML, not text
        assert call(params={"search_term": "other"}) == 404
        assert call(headers={"Accept": "application/json"}) == 404
        assert call(cookies={"session": "nope"}) == 404
        assert call(data="<other-results />") == 404
        assert call(auth=("jeff@example.com", "wrong")) == 404


def test_url_and_url_pattern_read_the_path_and_the_query_together(tmp_path: Path) -> None:
    """The two mappings of WireMock's "URL matching" documentation: equality and a regex on
    the path and the query; a request with a parameter more is not theirs."""
    root = write_root(
        tmp_path / "urls",
        {
            "equal.json": {
                "request": {"method": "GET", "url": "/your/url?and=query"},
                "response": {"status": 200, "body": "equal"},
            },
            "regex.json": {
                "request": {"method": "GET", "urlPattern": "/your/([a-z]*)\\?and=query"},
                "response": {"status": 200, "body": "regex"},
            },
            "bare.json": {
                "request": {"method": "GET", "url": "/bare"},
                "response": {"status": 200, "body": "bare"},
            },
        },
    )
    with serve(root) as server, requests.Session() as client:
        base = server.url
        assert client.get(base + "/your/url?and=query", timeout=5).text == "equal"
        assert client.get(base + "/your/other?and=query", timeout=5).text == "regex"
        for target in ("/your/url?and=query&more=1", "/your/url", "/your/other?and=query&x=1"):
            assert client.get(base + target, timeout=5).status_code == 404, target
        assert client.get(base + "/bare", timeout=5).text == "bare"
        refused = client.get(base + "/bare?page=2", timeout=5)
        assert refused.status_code == 404
        first = refused.json()["nearest"][0]["first_difference"]
        assert first == {
            "field": "url",
            "expected": 'equals "/bare"',
            "actual": '"/bare?page=2"',
            "why": 'expected "/bare", got "/bare?page=2"',
        }
        secret = client.get(base + "/bare?token=s3cret", timeout=5)
        assert secret.status_code == 404
        assert "s3cret" not in secret.text  # a secret parameter's value is not shown


def test_equal_to_json_options_as_jsonunit_reads_them(tmp_path: Path) -> None:
    """ignoreArrayOrder alone is any order but nothing more; with ignoreExtraElements beside
    it, more is let through."""
    pets = {"pets": [{"name": "Rex", "tags": ["dog", "old"]}, {"name": "Tom"}]}
    root = write_root(
        tmp_path / "json",
        {
            "orders.json": {
                "mappings": [
                    {
                        "request": {
                            "method": "POST",
                            "urlPath": "/order",
                            "bodyPatterns": [{"equalToJson": pets, "ignoreArrayOrder": True}],
                        },
                        "response": {"status": 201},
                    },
                    {
                        "request": {
                            "method": "POST",
                            "urlPath": "/loose",
                            "bodyPatterns": [
                                {
                                    "equalToJson": json.dumps(pets),
                                    "ignoreArrayOrder": True,
                                    "ignoreExtraElements": True,
                                }
                            ],
                        },
                        "response": {"status": 202},
                    },
                ]
            }
        },
    )
    reordered = {"pets": [{"name": "Tom"}, {"tags": ["old", "dog"], "name": "Rex"}]}
    more_elements = {"pets": [*pets["pets"], {"name": "Ada"}]}
    more_keys = {"pets": pets["pets"], "total": 2}
    with serve(root) as server, requests.Session() as client:
        order, loose = server.url + "/order", server.url + "/loose"
        assert client.post(order, json=reordered, timeout=5).status_code == 201
        assert client.post(order, json=more_elements, timeout=5).status_code == 404
        assert client.post(order, json=more_keys, timeout=5).status_code == 404
        for body in (reordered, more_elements, more_keys):
            assert client.post(loose, json=body, timeout=5).status_code == 202


def test_files_are_served_at_their_path_when_no_mapping_matches(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """WireMock's own acceptance cases (StandaloneAcceptanceTest): a file of __files/ at its
    path for a GET, its extension's Content-Type (JSON for none), a directory's index file at
    the directory's path with a trailing slash, nothing for another method."""
    outside = tmp_path / "secret.txt"
    outside.write_text("not yours")
    root = write_root(
        tmp_path / "static",
        {
            "m.json": {
                "request": {"method": "GET", "url": "/taken.json"},
                "response": {"body": "the mapping"},
            }
        },
        {
            "test-1.xml": b"<content>Blah</content>",
            "json/12345": b'{ "key": "value" }',
            "json/23456/index.json": b'{ "key": "new value" }',
            "json/34567/index.xml": b"<blob>BLAB</blob>",
            "json/wire & mock directory/index.json": b'{ "key": "index page value" }',
            "json/should-not-see-this.json": b"{}",
            "taken.json": b'"the file"',
            ".hidden.json": b"{}",
        },
    )
    (root / "__files" / "inside.txt").symlink_to(root / "__files" / "test-1.xml")
    (root / "__files" / "outside.txt").symlink_to(outside)
    (root / "mappings" / "linked.txt").write_text("a mapping-side file")
    caplog.set_level("WARNING", logger="mockserver.load")
    with serve(root) as server, requests.Session() as client:
        base = server.url

        def get(path: str) -> requests.Response:
            return client.get(base + path, timeout=5, allow_redirects=False)

        xml = get("/test-1.xml?any=query")
        assert (xml.status_code, xml.text) == (200, "<content>Blah</content>")
        assert xml.headers["Content-Type"] == "application/xml"
        bare = get("/json/12345")
        assert (bare.json(), bare.headers["Content-Type"]) == ({"key": "value"}, "application/json")
        index = get("/json/23456/")
        assert (index.json(), index.headers["Content-Type"]) == (
            {"key": "new value"},
            "application/json",
        )
        assert get("/json/34567/").text == "<blob>BLAB</blob>"
        assert get("/json/34567/").headers["Content-Type"] == "application/xml"
        moved = get("/json/wire%20&%20mock%20directory")
        assert (moved.status_code, moved.headers["Location"]) == (
            302,
            "/json/wire & mock directory/",
        )
        followed = client.get(base + "/json/wire%20&%20mock%20directory", timeout=5)
        assert followed.json() == {"key": "index page value"}
        assert client.put(base + "/json/should-not-see-this.json", timeout=5).status_code == 404
        assert client.head(base + "/test-1.xml", timeout=5).status_code == 200  # as GET stubs
        assert get("/taken.json").text == "the mapping"  # a mapping answers before a file
        assert get("/inside.txt").text == "<content>Blah</content>"  # a link within __files/
        # Nothing outside __files/: a link out, a hidden file, a path that climbs, mappings/.
        for path in ("/outside.txt", "/.hidden.json", "/json", "/../mappings/m.json"):
            assert get(path).status_code == 404, path
        with socket.create_connection(("127.0.0.1", urlsplit(base).port), timeout=5) as raw:
            raw.sendall(b"GET /json/../../mappings/m.json HTTP/1.1\r\nHost: x\r\n\r\n")
            assert raw.recv(64).startswith(b"HTTP/1.1 404"), "a raw path that climbs"
        journal = client.get(base + "/__admin/requests", timeout=5).json()["requests"]
        served = [e for e in journal if e["path"] == "/test-1.xml"]
        assert [entry["matched"] for entry in served] == [True, True]  # GET, HEAD: answers
    assert f"{root / '__files' / 'outside.txt'}: a link to {outside}" in caplog.text


def test_delays_and_faults(tmp_path: Path) -> None:
    root = write_root(
        tmp_path / "slow",
        {
            "timing.json": {
                "mappings": [
                    {
                        "request": {"url": "/slow"},
                        "response": {"status": 200, "fixedDelayMilliseconds": 400},
                    },
                    {
                        "request": {"url": "/reset"},
                        "response": {"fault": "CONNECTION_RESET_BY_PEER"},
                    },
                    {"request": {"url": "/empty"}, "response": {"fault": "EMPTY_RESPONSE"}},
                    {
                        "request": {"url": "/garbage"},
                        "response": {"fault": "RANDOM_DATA_THEN_CLOSE"},
                    },
                    {
                        "request": {"url": "/chunk"},
                        "response": {"fault": "MALFORMED_RESPONSE_CHUNK", "body": "x" * 100},
                    },
                ]
            }
        },
    )
    with serve(root) as server, requests.Session() as client:
        started = time.monotonic()
        assert client.get(server.url + "/slow", timeout=5).status_code == 200
        assert time.monotonic() - started >= 0.4
        for path in ("/reset", "/empty", "/garbage"):
            with pytest.raises(requests.ConnectionError):
                client.get(server.url + path, timeout=5)
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            client.get(server.url + "/chunk", timeout=5)


def test_unsupported_keys_are_located_errors(tmp_path: Path) -> None:
    root = write_root(
        tmp_path / "legacy",
        {
            "proxy.json": {
                "id": "8c5db8b0-2db4-4ad7-a99f-38c9b00da3f7",
                "request": {"urlPattern": "/other/service/.*"},
                "response": {"proxyBaseUrl": "http://otherhost.com/approot"},
            },
            "many.json": {
                "mappings": [
                    {"request": {"url": "/fine"}, "response": {"status": 200}},
                    {
                        "request": {"url": "/templated"},
                        "response": {
                            "body": "{{request.path}}",
                            "transformers": ["response-template"],
                        },
                    },
                ]
            },
        },
    )
    result = run_console("validate", str(root))
    assert result.returncode == 1
    lines = result.stderr
    proxy = root / "mappings" / "proxy.json"
    assert f"{proxy}: stub '8c5db8b0-2db4-4ad7-a99f-38c9b00da3f7': response.proxyBaseUrl:" in lines
    assert f"{root / 'mappings' / 'many.json'}: stub #1: response.transformers:" in lines
    assert "Traceback" not in lines
    # Nothing is half-loaded: serve refuses the root as a whole.
    refused = run_console("serve", str(root), "--port", "0")
    assert refused.returncode != 0
    assert "response.proxyBaseUrl" in refused.stderr


def test_a_missing_body_file_names_the_mapping_and_body_file_name(tmp_path: Path) -> None:
    root = write_root(
        tmp_path / "files",
        {"m.json": {"id": "one", "request": {"url": "/"}, "response": {"bodyFileName": "../../x"}}},
    )
    result = run_console("validate", str(root))
    assert result.returncode == 1
    assert "stub 'one': response.bodyFileName: body_file '../../x' is outside" in result.stderr


def test_a_root_beside_native_stub_files(tmp_path: Path) -> None:
    write_root(
        tmp_path / "payments",
        {
            "charge.json": {
                "request": {"method": "POST", "url": "/charge"},
                "response": {"status": 201},
            }
        },
        {"receipt.json": b'{"not": "a stub file"}'},
    )
    (tmp_path / "users.yaml").write_text(
        "stubs:\n  - request: {path: /users/1}\n    response: {json: {id: 1}}\n"
    )
    with serve(tmp_path) as server, requests.Session() as client:
        assert set(server.urls) == {"payments", "users"}
        assert client.post(server.url + "/charge", timeout=5).status_code == 201
        assert client.get(server.url + "/users/1", timeout=5).json() == {"id": 1}


def test_mockserver_import_wiremock_writes_stub_files_that_serve_the_same(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_console("import", "wiremock", str(SHOP), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "imported 12 mappings (and 2 stubs serving __files/)" in result.stdout
    assert (out / "shop.yaml").read_text().startswith("# Recorded by mockserver")
    assert run_console("validate", str(out)).returncode == 0
    paths = ["/some/thing", "/api/specific-resource", "/api/x", "/newest", "/body-file", "/json"]
    paths += ["/unused.json", "/path/to/myfile.xml"]  # __files/, served as WireMock does
    with serve(SHOP) as theirs, serve(out) as ours, requests.Session() as client:
        for path in paths:
            expected = client.get(theirs.url + path, timeout=5)
            got = client.get(ours.url + path, timeout=5)
            assert (got.status_code, got.content) == (expected.status_code, expected.content), path


def test_mockserver_import_wiremock_refuses_a_root_it_cannot_serve(tmp_path: Path) -> None:
    root = write_root(
        tmp_path / "bad", {"m.json": {"request": {"url": "/"}, "response": {"transformers": []}}}
    )
    result = run_console("import", "wiremock", str(root), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "response.transformers" in result.stderr
    assert not (tmp_path / "out").exists()
