"""The ``mockserver`` command: serve, validate. Every option also reads MOCKSERVER_<OPTION>."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from . import __version__, healthcheck
from .config import Settings, is_loopback
from .errors import MockServerError, StubFileError
from .limits import raise_open_file_limit
from .logs import announce, configure_logging
from .loop import run as run_loop
from .options import LIMITS, EnvError, build_parser, paths_from_env

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    bad = [value for value in vars(args).values() if isinstance(value, EnvError)]
    for error in bad:
        print(f"mockserver: error: {error}", file=sys.stderr)
    if bad:
        return 2
    if args.command == "healthcheck":
        return healthcheck.run(args.url, args.host, args.port, args.timeout)
    if args.command == "record":
        return _record(args)
    if args.command in ("diff", "import"):
        return int(args.run(args))
    paths: list[str] = args.paths or paths_from_env()
    if args.command == "validate":
        return _validate(paths)
    settings = Settings(
        paths=tuple(paths),
        host=args.host,
        port=args.port,
        max_body_bytes=args.max_body_bytes,
        unmatched_status=args.unmatched_status,
        log_level=args.log_level,
        journal_size=args.journal_size,
        watch=args.watch,
        admin_token=args.admin_token,
        spy=args.spy,
        record_new=args.record_new,
        redact=tuple(args.redact),
        event_loop=args.event_loop,
        seed=args.seed,
        **{name: getattr(args, name) for name in LIMITS},
    )
    return _serve(settings, args.log_format, args.workers)


def _record(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .proxy import UpstreamSettings
    from .recordmode import parse_target, recording_server
    from .runner import MockServer

    try:
        targets = [parse_target(text) for text in args.target]
        settings = Settings(paths=(), host=args.host, port=args.port, log_level=args.log_level)
        stubs, forwarding = recording_server(
            targets,
            Path(args.out),
            settings,
            redact=args.redact,
            upstream=UpstreamSettings(args.connect_timeout, args.timeout, 100, args.max_in_flight),
        )
    except ValueError as exc:
        print(f"mockserver record: error: {exc}", file=sys.stderr)
        return 2
    _configure_logging(settings.log_level)
    server = MockServer(settings, stubs=stubs, forwarding=forwarding)
    try:
        run_loop(_run_until_signalled(server, lambda: _print_recording(server, targets, args.out)))
    except MockServerError as exc:
        print(f"mockserver: {exc}", file=sys.stderr)
        return 1
    return 0


def _print_recording(server: Any, targets: Any, out: str) -> None:
    lines = [f"mockserver {__version__}: recording into {out}"]
    for target in targets:
        lines.append(f"  {target.name}  {server.url_for(target.name)}  ->  {target.url}")
    lines.append("  stop with Ctrl+C (or SIGTERM) to write the stub files")
    print("\n".join(lines), flush=True)


def _validate(paths: list[str]) -> int:
    from .loader import load_tree
    from .shadowing import shadow_lines

    try:
        tree = load_tree(paths)
    except StubFileError as exc:
        print(exc, file=sys.stderr)
        return 1
    counts = [
        _plural(len(tree.files), "file"),
        _plural(len(tree.stubs.services), "service"),
        _plural(len(tree.stubs.stubs), "stub"),
    ]
    bodies = f" (and {_plural(len(tree.bodies), 'body file')})" if tree.bodies else ""
    print("\n".join([*shadow_lines(list(tree.shadows)), f"ok: {', '.join(counts)}{bodies}"]))
    return 0


def _serve(settings: Settings, log_format: str = "text", workers: int = 1) -> int:
    _configure_logging(settings.log_level, log_format)
    if workers > 1:
        from .workers import serve_workers

        return serve_workers(
            settings, workers, log_format, lambda server: _print_banner(server, log_format)
        )
    from .runner import MockServer

    try:
        server = MockServer(settings)
    except StubFileError as exc:
        print(f"mockserver: not starting: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # e.g. a --redact that is not a JSONPath
        print(f"mockserver: error: {exc}", file=sys.stderr)
        return 2
    try:
        run_loop(_run_until_signalled(server, log_format=log_format), settings.event_loop)
    except MockServerError as exc:
        print(f"mockserver: {exc}", file=sys.stderr)
        return 1
    return 0


def _configure_logging(level: str, log_format: str = "text") -> None:
    configure_logging(level, log_format)


async def _run_until_signalled(
    server: Any, banner: Callable[[], None] | None = None, log_format: str = "text"
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    raise_open_file_limit()  # one file per connection: take what the hard limit allows
    await server.start_async()
    try:
        (banner or (lambda: _print_banner(server, log_format)))()
        await stop.wait()
    finally:
        await server.stop_async()
    announce("stopped", "mockserver: stopped", {}, log_format)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def _print_banner(server: Any, log_format: str = "text") -> None:
    snapshot = server.store.snapshot
    stubs = snapshot.stubs
    counts: dict[str, int] = {}
    for stub in stubs.stubs:
        counts[stub.service] = counts.get(stub.service, 0) + 1
    paths = " ".join(server.settings.paths)
    lines = [
        f"mockserver {__version__}: {_plural(len(stubs.services), 'service')}, "
        f"{_plural(len(stubs.stubs), 'stub')} "
        f"from {paths}"
    ]
    width = max((len(name) for name in stubs.services), default=0)
    for name in stubs.services:
        count = _plural(counts.get(name, 0), "stub")
        lines.append(f"  {name:<{width}}  {server.url_for(name)}  ({count})")
    lines.append(f"  admin: {server.url}/__admin/health")
    settings = server.settings
    fields: dict[str, Any] = {
        "version": __version__,
        "paths": list(settings.paths),
        "services": [
            {"name": name, "url": server.url_for(name), "stubs": counts.get(name, 0)}
            for name in stubs.services
        ],
        "admin": f"{server.url}/__admin/health",
        "watching": settings.watch,
    }
    if server.admin_token_generated:
        lines.append(
            f"  admin token (generated, shown once): {settings.admin_token}\n"
            "  admin calls need: Authorization: Bearer <token>"
        )
        fields["admin_token"] = settings.admin_token
    elif settings.admin_token == "" and not is_loopback(settings.host):
        lines.append(
            f"  WARNING: the admin API is open to anyone who can reach {settings.host} "
            "(--admin-token '')"
        )
        fields["admin_open"] = True
    if settings.watch:
        lines.append("  watching the stub files for changes")
    announce("started", "\n".join(lines), fields, log_format)
