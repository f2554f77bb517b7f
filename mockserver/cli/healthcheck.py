"""``mockserver healthcheck``: is the server here answering ``GET /__admin/health`` with ok?

For the container's HEALTHCHECK, which has no curl: exit status 0 when the server says
``{"status": "ok"}``, 1 otherwise, with one line saying why. Standard library only, and no
proxy settings are consulted (an HTTP_PROXY in the environment must not reroute a probe of
127.0.0.1).

Where to ask: the server's own command line decides. In a container the server is PID 1 or
the child of a minimal init, so ``/proc/1/cmdline`` holds ``... mockserver serve --port N``;
parsed by serve's own parser, with the same environment (a HEALTHCHECK runs with the
container's), it gives the host and port the server bound, whether they came from an option
or a variable. The server writes nothing for this (its root may be read-only) and a probe
reads no file of ours.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from typing import TextIO

from mockserver.testing.health import check, health_url

__all__ = ["check", "health_url", "run", "run_args", "served_args"]


def run(
    url: str | None,
    host: str = "127.0.0.1",
    port: int = 8080,
    timeout: float = 3.0,
    out: TextIO | None = None,
    token: str | None = None,
) -> int:
    """Check ``url`` (default: the server bound to ``host:port`` here) and print the reason.

    Returns the exit status: 0 healthy, 1 not.
    """
    healthy, reason = check(url or health_url(host, port), timeout, token)
    print(reason if healthy else f"unhealthy: {reason}", file=out or sys.stdout, flush=True)
    return 0 if healthy else 1


def served_args(cmdline: list[str]) -> argparse.Namespace | None:
    """The options of the ``mockserver serve`` in a process's argv (after any init or
    interpreter in front of it), parsed as serve parses them; None if it is not one."""
    from mockserver.cli.options import build_parser

    names = [os.path.basename(arg) for arg in cmdline]
    if "mockserver" not in names:
        return None
    rest = cmdline[names.index("mockserver") + 1 :]
    if rest[:1] != ["serve"]:
        return None
    # It parsed when the server started; anything else is not a server of this version.
    with contextlib.redirect_stderr(io.StringIO()), contextlib.suppress(SystemExit):
        return build_parser().parse_args(rest)
    return None


def _cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            raw = file.read()
    except OSError:  # not Linux, or no such process: serve's variables and defaults decide
        return []
    return [arg.decode("utf-8", "surrogateescape") for arg in raw.split(b"\0") if arg]


def run_args(args: argparse.Namespace) -> int:
    """``mockserver healthcheck``: --url, else --host and --port, else the address of the
    server whose pid is --pid (1: the container's), else serve's variables and defaults."""
    if args.url:
        return run(args.url, timeout=args.timeout)
    from mockserver.cli.options import EnvError, build_parser
    from mockserver.output.errorline import report

    server = served_args(_cmdline(args.pid)) or build_parser().parse_args(["serve"])
    host = args.host if args.host is not None else server.host
    port = args.port if args.port is not None else server.port
    for value in (host, port):
        if isinstance(value, EnvError):
            report(f"error: {value}")
            return 2
    # The server's own token (its command line or MOCKSERVER_ADMIN_TOKEN), when it has one.
    token = server.admin_token if isinstance(server.admin_token, str) else None
    return run(None, host, port, args.timeout, token=token)
