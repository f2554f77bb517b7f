"""The running server ``--mockserver-url`` (or ``MOCKSERVER_URL``) names, for the plugin.

Where the URL came from is said wherever it shows: a ``MOCKSERVER_URL`` left in a shell
silently turns every test remote otherwise. An unreachable server is one line per test, with
the URL, its source and the connection error, instead of http.client's traceback.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from mockserver.core.errors import MockServerError
from mockserver.testing.client import MockServerClient
from mockserver.testing.outcomes import fail

__all__ = ["remote_client", "url_source"]


def url_source(config: pytest.Config, url: str) -> str:
    """Where the remote server's URL came from, in a user's words."""
    if any(str(arg).startswith("--mockserver-url") for arg in config.invocation_params.args):
        return "--mockserver-url"
    if os.environ.get("MOCKSERVER_URL") == url:
        return "the environment variable MOCKSERVER_URL; unset it to start a server in-process"
    return "--mockserver-url in addopts or PYTEST_ADDOPTS"


@contextmanager
def remote_client(config: pytest.Config, url: str) -> Iterator[MockServerClient]:
    """An admin client of the server at ``url``, once it answered; else a one-line failure."""
    with MockServerClient(url, token=os.environ.get("MOCKSERVER_ADMIN_TOKEN")) as client:
        try:
            client.health()
        except (OSError, MockServerError) as exc:
            why = " ".join(str(exc).split()) or type(exc).__name__
            fail(
                f"mockserver: cannot reach the mock server at {url} (from "
                f"{url_source(config, url)}): {why}"
            )
        yield client
