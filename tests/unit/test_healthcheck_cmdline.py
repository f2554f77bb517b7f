"""The health check reads a server's host and port from its command line, as serve parses it."""

from __future__ import annotations

import pytest

from mockserver.cli.healthcheck import served_args


@pytest.mark.parametrize(
    "argv",
    [
        ["dumb-init", "--", "mockserver", "serve", "--port", "18092"],  # the image
        ["/sbin/docker-init", "--", "mockserver", "serve", "--port=18092"],  # docker run --init
        ["/usr/local/bin/python", "/usr/local/bin/mockserver", "serve", "--port", "18092"],
        ["python3", "-m", "mockserver", "serve", "stubs", "--watch", "--port", "18092"],
    ],
)
def test_serve_behind_an_init_or_an_interpreter(argv: list[str]) -> None:
    args = served_args(argv)
    assert args is not None
    assert args.port == 18092


def test_the_environment_fills_in_what_the_command_line_leaves_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MOCKSERVER_PORT", "9001")
    monkeypatch.setenv("MOCKSERVER_HOST", "0.0.0.0")
    args = served_args(["dumb-init", "--", "mockserver", "serve"])
    assert args is not None
    assert (args.host, args.port) == ("0.0.0.0", 9001)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["/sbin/init"],
        ["sh", "-c", "mockserver serve --port 1"],  # a shell line: not ours to guess
        ["dumb-init", "--", "mockserver", "healthcheck"],
        ["dumb-init", "--", "mockserver", "serve", "--no-such-option"],
    ],
)
def test_anything_else_is_not_a_server(argv: list[str]) -> None:
    assert served_args(argv) is None
