"""What users already have, served by the image from one mounted stubs directory: a WireMock
root, a VCR.py cassette recorded by vcrpy, and an OpenAPI document, side by side.

One mount holds all three, as a user keeps them: ``serve`` tells each file's format from its
content (a ``mappings/`` directory, ``interactions:``, ``openapi:``), so nothing is configured.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
import vcr

from ..integration.upstream import LARGE, TEXT, Upstream
from ..openapi_docs import PETSTORE
from .conftest import TOKEN, Running, validate

if TYPE_CHECKING:
    from docker import DockerClient

SHOP = Path(__file__).parent.parent / "data" / "wiremock" / "shop"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def readable(root: Path) -> Path:
    """Everything under ``root`` readable by the image's user (tmp dirs are 0700)."""
    for directory, _, names in os.walk(root):
        Path(directory).chmod(0o755)
        for name in names:
            (Path(directory) / name).chmod(0o644)
    return root


@pytest.fixture(scope="module")
def formats(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("formats")
    shutil.copytree(SHOP, root / "shop")
    recorder = vcr.VCR(cassette_library_dir=str(root), record_mode="all")
    with Upstream() as upstream, recorder.use_cassette("orders.yaml"), requests.Session() as s:
        assert s.get(upstream.url + "/gzip", timeout=5).content == LARGE
        assert [s.get(upstream.url + "/counter", timeout=5).json()["count"] for _ in "ab"] == [1, 2]
        assert s.get(upstream.url + "/text?lang=en", timeout=5).text == TEXT
    (root / "petstore.yaml").write_text(PETSTORE, encoding="utf-8")
    return readable(root)


def test_the_three_formats_are_served_from_one_mounted_directory(
    run_image: Callable[..., Running], formats: Path
) -> None:
    served = run_image(formats, env={"MOCKSERVER_ADMIN_TOKEN": TOKEN})
    base = served.url
    with requests.Session() as client:
        health = client.get(base + "/__admin/health", headers=AUTH, timeout=5).json()
        assert health["services"] == 3, served.logs()
        # The WireMock root: a mapping, a bodyFileName from __files/, priorities, a static file.
        hello = client.get(base + "/some/thing", timeout=5)
        assert (hello.status_code, hello.text) == (200, "Hello, world!")
        body_file = client.get(base + "/body-file", timeout=5)
        assert body_file.text == "<response>Some content</response>\n"
        assert client.get(base + "/api/anything-else", timeout=5).status_code == 401
        static = client.get(base + "/path/to/myfile.xml", timeout=5)  # __files/, at its path
        assert (static.text, static.headers["Content-Type"]) == (
            "<response>Some content</response>\n",
            "application/xml",
        )
        # The cassette: gzip replayed negotiated, identical requests in turn, then the last.
        zipped = client.get(base + "/gzip", headers={"Accept-Encoding": "gzip"}, timeout=5)
        assert (zipped.headers["Content-Encoding"], zipped.content) == ("gzip", LARGE)
        plain = client.get(base + "/gzip", headers={"Accept-Encoding": "identity"}, timeout=5)
        assert plain.headers["Content-Length"] == str(len(LARGE))
        counts = [client.get(base + "/counter", timeout=5).json()["count"] for _ in range(3)]
        assert counts == [1, 2, 2]
        assert client.get(base + "/text?lang=en", timeout=5).text == TEXT
        # The OpenAPI document: an example answered, and a request that breaks it refused.
        rex = client.get(base + "/pets/7", timeout=5)
        assert (rex.status_code, rex.json()) == (200, {"id": 7, "name": "Rex", "tag": "dog"})
        refused = client.get(base + "/pets", params={"limit": "many"}, timeout=5)
        assert refused.status_code == 400, refused.text
        problem = refused.json()
        assert problem["error"] == "request does not match the OpenAPI document"
        assert [(v["in"], v["name"]) for v in problem["violations"]] == [("query", "limit")]
        bad_body = client.post(base + "/pets", json={"tag": "no name"}, timeout=5)
        assert bad_body.status_code == 400, bad_body.text
        assert bad_body.json()["violations"][0]["in"] == "body"


def test_a_file_of_files_the_image_user_cannot_read_is_reported(
    docker: DockerClient, image: str, tmp_path: Path
) -> None:
    """__files/ is served as WireMock serves it, so each file is read at load: one the image's
    user (10001) may not read is a located error, not a traceback or a half-served root."""
    root = tmp_path / "stubs"
    shutil.copytree(SHOP, root / "shop")
    readable(root)
    private = root / "shop" / "__files" / "private.json"
    private.write_text("{}")
    private.chmod(0o600)  # as a host file often is
    exit_status, output = validate(docker, image, root)
    assert exit_status == 1, output
    assert "body_file 'private.json' cannot be read: Permission denied" in output
    assert "Traceback" not in output
