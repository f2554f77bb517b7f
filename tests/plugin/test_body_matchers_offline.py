"""xpath, form and multipart stubs through mock_requests and mock_aiohttp: the bodies the real
clients build (``files=``, ``aiohttp.FormData``) match with no socket, and a miss is reported."""

from __future__ import annotations

import pytest

from ..integration.test_body_matchers import STUBS as DOCS
from .conftest import Project

pytestmark = pytest.mark.timeout(60)

STUBS = {"stubs/docs.yaml": DOCS}  # the integration tests' stubs, served with no socket

TESTS = """
import asyncio
import os

import aiohttp
import requests

ORDER = b'<order xmlns="urn:orders"><item sku="B-2"/><item sku="A-1"/></order>'


def post_requests(path, **kwargs):
    kwargs.pop("form", None)
    files = kwargs.pop("upload", None)
    if files is not None:
        kwargs["data"], kwargs["files"] = files
    response = requests.post(os.environ["DOCS_URL"] + path, timeout=5, **kwargs)
    return response.status_code


def post_aiohttp(path, **kwargs):
    async def main():
        upload = kwargs.pop("upload", None)
        if upload is not None:
            form = aiohttp.FormData()
            for name, value in upload[0].items():
                form.add_field(name, value)
            for name, (filename, content, kind) in upload[1].items():
                form.add_field(name, content, filename=filename, content_type=kind)
            kwargs["data"] = form
        async with aiohttp.ClientSession() as session:
            async with session.post(os.environ["DOCS_URL"] + path, **kwargs) as response:
                return response.status

    return asyncio.run(main())


post = post_{client}
UPLOAD = ({{"description": "the invoice"}}, {{"file": ("a.pdf", b"%PDF-1.7", "application/pdf")}})


def test_bodies_match({fixture}):
    xml = {{"Content-Type": "application/xml"}}
    assert post("/orders", data=ORDER, headers=xml) == 200
    assert post("/login", data={{"user": "ada", "password": "correct horse"}}) == 200
    assert post("/upload", upload=UPLOAD) == 200
    assert [e["stub"] for e in {fixture}.requests] == ["order", "login", "upload"]
    docs = {fixture}.service("docs")
    docs.assert_called("POST", "/login", body={{"form": {{"user": "ada"}}}})
    docs.assert_called("POST", "/upload", body={{"multipart": {{"file": {{"filename": "a.pdf"}}}}}})
    sku = {{"//o:item/@sku": "A-1", "namespaces": {{"o": "urn:orders"}}}}
    docs.assert_called("POST", "/orders", body={{"xpath": sku}})
    docs.assert_called("POST", "/login", body={{"form": {{"user": "bob"}}}}, times=0)


def test_a_miss_is_reported({fixture}):
    post("/upload", upload=({{"description": "a receipt"}}, UPLOAD[1]))
"""


@pytest.mark.parametrize(
    ("fixture", "client"), [("mock_requests", "requests"), ("mock_aiohttp", "aiohttp")]
)
def test_body_matchers_work_without_sockets(
    project: Project, pytester: pytest.Pytester, fixture: str, client: str
) -> None:
    project({"test_bodies.py": TESTS.format(fixture=fixture, client=client)}, stubs=STUBS)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "No stub matched POST /upload",
            "*1. stub upload [[]POST /upload[]]*",
            '*body: part description: "a receipt" does not contain "invoice"',
        ]
    )
