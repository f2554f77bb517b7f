"""Throwaway projects for pytester: a users service in stubs/, and a strict pytest.ini."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

# Imported here so the in-process inner runs find them loaded: pytester unloads whatever an
# inner run imports, and importing the server and the clients anew each time costs ~0.3 s.

USERS_YAML = """
service: users
stubs:
  - id: get-user-1
    request: {method: GET, path: /api/user/1}
    response: {json: {id: "1", name: Simon}}
  - id: user-not-found
    priority: -1
    request: {method: GET, path: "/api/user/{user_id}"}
    response: {status: 404, json: {error: user not found}}
  - id: create-user
    request:
      method: POST
      path: /api/user
      headers: {Content-Type: {contains: json}}
      body: {json_subset: {role: member}}
    response: {status: 201, json: {id: "3", role: member}}
resources:
  - path: /api/carts
    id_field: id
    items: [{id: "1", owner: Simon}]
"""

Project = Callable[..., Path]

# An app module for the inner projects: creates a user with the given role.
CREATE_APP = """
import os
import requests


def create(role):
    return requests.post(
        os.environ["USERS_URL"] + "/api/user", json={"name": "Ada", "role": role}, timeout=5
    )
"""

# Plugins that have nothing to do with these projects are left out of the inner runs: loading
# hypothesis's in each in-process run costs a second of import and assertion rewriting.
INNER_ADDOPTS = "--strict-markers -p no:cacheprovider -p no:hypothesispytest -p no:anyio"


@pytest.fixture(autouse=True)
def _no_outer_mockserver_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A MOCKSERVER_URL or USERS_URL of the outer shell must not leak into the inner runs.

    Nor CI or BUILD_NUMBER: with either set, pytest prints each failure's whole message again
    in the short summary, so the inner output on CI would differ from the output here.
    """
    for name in (
        "MOCKSERVER_URL",
        "MOCKSERVER_ADMIN_TOKEN",
        "USERS_URL",
        "CATALOG_URL",
        "CI",
        "BUILD_NUMBER",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def project(pytester: pytest.Pytester) -> Project:
    """Write an inner project: ``stubs/users.yaml`` (unless ``stubs=None``), a pytest.ini
    with ``filterwarnings = error`` and ``--strict-markers`` plus ``ini`` lines, and
    ``files`` (relative name → text, dedented)."""

    def make(
        files: dict[str, str] | None = None,
        *,
        stubs: dict[str, str] | None = None,
        ini: str = "",
    ) -> Path:
        if stubs is None:
            stubs = {"stubs/users.yaml": USERS_YAML}
        ini_text = f"[pytest]\nfilterwarnings = error\naddopts = {INNER_ADDOPTS}\n"
        pytester.makefile(".ini", pytest=ini_text + textwrap.dedent(ini))
        for name, text in {**stubs, **(files or {})}.items():
            path = pytester.path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return pytester.path

    return make
