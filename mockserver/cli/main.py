"""The ``mockserver`` command: serve, validate. Every option also reads MOCKSERVER_<OPTION>.

Imports stay light here: ``main`` takes SIGTERM from its first line, before aiohttp and the
stubs load, so a ``docker stop`` during start-up stops the server at once instead of being
lost.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

from mockserver.cli.options import LIMITS, EnvError, build_parser, paths_from_env
from mockserver.core.config import RecordMode, Settings
from mockserver.core.errors import MockServerError, StubFileError
from mockserver.core.version import __version__
from mockserver.output.errorline import asked_format, report
from mockserver.output.logs import announce, configure_logging
from mockserver.server.loop import run as run_loop
from mockserver.state.location import MEMORY

__all__ = ["main"]


class Terminated(SystemExit):
    """SIGTERM before the server's own handler was installed (while starting).

    A SystemExit, so that an event loop running a callback when it arrives lets it through
    rather than logging it as an error in that callback.
    """


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    # Until the event loop takes it over: a stop while loading thousands of stubs ends the
    # start-up now. As PID 1 an unhandled SIGTERM would even be ignored.
    signal.signal(signal.SIGTERM, _terminated)
    try:
        return _main(argv)
    except Terminated:
        announce("stopped", "mockserver: stopped while starting", {}, asked_format(argv))
        return 0


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    chosen = getattr(args, "log_format", None)
    log_format = chosen if isinstance(chosen, str) else asked_format(argv)
    bad = [value for value in vars(args).values() if isinstance(value, EnvError)]
    for error in bad:
        report(f"error: {error}", log_format)
    if bad:
        return 2
    if args.command == "healthcheck":
        from mockserver.cli import healthcheck

        return healthcheck.run_args(args)
    if args.command == "record":
        return _record(args)
    if args.command in ("diff", "import"):
        return int(args.run(args))
    paths: list[str] = args.paths or paths_from_env()
    if args.command == "validate":
        return _validate(paths, args.openapi)
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
        admin_open=args.admin_open,
        admin_api=args.admin_api,
        record=RecordMode.of_options(args.spy, args.record_new),
        redact=tuple(args.redact),
        event_loop=args.event_loop,
        seed=args.seed,
        openapi=args.openapi,
        unmatched_report=args.unmatched_report,
        state=args.state,
        state_wait=args.state_wait,
        **{name: getattr(args, name) for name in LIMITS},
    )
    return _serve(settings, args.log_format, args.workers)


def _record(args: argparse.Namespace) -> int:
    from mockserver.messaging.recording import parse_exchange_option, record_exchanges
    from mockserver.recording.mode import parse_target, recording_server
    from mockserver.recording.proxy import UpstreamSettings
    from mockserver.server.runner import MockServer

    try:
        targets = [parse_target(text) for text in args.target]
        exchanges = [parse_exchange_option(text) for text in args.amqp_exchange]
        if exchanges and not args.amqp_url:
            raise ValueError("--amqp-exchange needs the broker: --amqp-url or MOCKSERVER_AMQP_URL")
        settings = Settings(
            paths=(),
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            openapi=args.openapi,
        )
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
    _own_logging(settings.log_level)
    try:
        server = MockServer(settings, stubs=stubs, forwarding=forwarding)
    except StubFileError as exc:
        print(f"mockserver record: not starting: {exc}", file=sys.stderr)
        return 1
    running = _run_until_signalled(server, lambda: _print_recording(server, targets, args.out))
    try:
        if exchanges:
            run_loop(record_exchanges(args.amqp_url, exchanges, Path(args.out), running))
        else:
            run_loop(running)
    except (MockServerError, ConnectionError) as exc:
        print(f"mockserver: {exc}", file=sys.stderr)
        return 1
    return 0


def _print_recording(server: Any, targets: Any, out: str) -> None:
    lines = [f"mockserver {__version__}: recording into {out}"]
    for target in targets:
        lines.append(f"  {target.name}  {server.url_for(target.name)}  ->  {target.url}")
    lines.append("  each exchange is written as it completes; stop with Ctrl+C (or SIGTERM)")
    print("\n".join(lines), flush=True)


def _validate(paths: list[str], openapi: str | None = None) -> int:
    from mockserver.core.shadowing import shadow_lines
    from mockserver.formats.loader import load_tree

    try:
        tree = load_tree(paths)
        misfits = _misfits(tree.stubs.stubs, openapi) if openapi else []
    except StubFileError as exc:
        print(exc, file=sys.stderr)
        return 1
    if misfits:
        lines = [str(p) for p in misfits]
        count = f"{len(misfits)} misfit{'s' * (len(misfits) != 1)}"
        lines.append(f"{count} between the stubs and {openapi}")
        print("\n".join(lines), file=sys.stderr)
        return 1
    counts = [(len(tree.files), "file"), (len(tree.stubs.services), "service")]
    counts += [(len(tree.stubs.stubs), "stub")]
    said = ", ".join(f"{n} {word}{'s' * (n != 1)}" for n, word in counts)
    if tree.bodies:
        said += f" (and {len(tree.bodies)} body file{'s' * (len(tree.bodies) != 1)})"
    if openapi:
        said += f"; every response fits {openapi}"
    print("\n".join([*shadow_lines(list(tree.shadows)), f"ok: {said}"]))
    return 0


def _misfits(stubs: Any, openapi: str) -> list[Any]:
    from mockserver.formats.openapi.load import load_openapi
    from mockserver.formats.openapi.responses import response_misfits

    return response_misfits(load_openapi(openapi), stubs)


def _serve(settings: Settings, log_format: str = "text", workers: int = 1) -> int:
    from mockserver.cli.banner import print_banner

    settings = replace(settings, freeze_gc=True)  # serve's own process (and its workers')

    _own_logging(settings.log_level, log_format)
    if workers > 1 and settings.admin_api == "wiremock" and settings.state == MEMORY:
        # The workers' admin calls are merged in mockserver's shapes (workers/cluster.py);
        # with --state redis each worker answers them itself, from the state they share.
        report(
            "error: --admin-api wiremock serves one process; leave out --workers, or share "
            "the workers' state with --state redis://...",
            log_format,
        )
        return 2
    if workers > 1:
        from mockserver.workers.supervisor import serve_workers

        return serve_workers(
            settings, workers, log_format, lambda server: print_banner(server, log_format)
        )
    from mockserver.server.runner import MockServer

    try:
        server = MockServer(settings)
        _check_recording_dirs(server)
    except StubFileError as exc:
        report(f"not starting: {exc}", log_format)
        return 1
    except ValueError as exc:  # e.g. a --redact that is not a JSONPath
        report(f"error: {exc}", log_format)
        return 2
    try:
        run_loop(_run_until_signalled(server, log_format=log_format), settings.event_loop)
    except MockServerError as exc:
        if _store_unreachable(settings, exc):  # a setup error, as a bad option is
            report(f"error: {exc}", log_format)
            return 2
        report(str(exc), log_format)
        return 1
    return 0


def _store_unreachable(settings: Settings, exc: MockServerError) -> bool:
    """``exc`` says the ``--state`` store could not be reached: a setup error, exit 2."""
    if settings.state == "memory":
        return False
    from mockserver.state.unavailable import StoreUnavailable

    return isinstance(exc, StoreUnavailable)


def _own_logging(level: str, log_format: str = "text") -> None:
    """The log of this process, which is the command's own: ours, and aiohttp's quieted."""
    from mockserver.server.aiohttp_log import quiet_client_errors

    configure_logging(level, log_format)
    quiet_client_errors()


def _check_recording_dirs(server: Any) -> None:
    """With --record-new, each directory the recordings go to can be written, found now
    rather than when the server stops and the recordings would be lost.

    Raises:
        ValueError: one cannot be written, with what to do.
    """
    from mockserver.recording.mode import check_out_dir

    forwarding = server.state.forwarding
    recorder = forwarding.recorder if forwarding is not None else None
    for service, directory in (recorder.out_dirs if recorder else {}).items():
        try:
            check_out_dir(directory, what="")
        except ValueError as exc:
            raise ValueError(
                f"--record-new writes {service}'s recordings beside its stub file, and {exc}; "
                "mount the stubs writable (not :ro), or record with `mockserver record --out DIR`"
            ) from None


async def _run_until_signalled(
    server: Any, banner: Callable[[], None] | None = None, log_format: str = "text"
) -> None:
    from mockserver.cli.banner import print_banner
    from mockserver.server.limits import raise_open_file_limit
    from mockserver.server.stopping import stop_or_exit

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    raise_open_file_limit()  # one file per connection: take what the hard limit allows
    await server.start_async()
    try:
        (banner or (lambda: print_banner(server, log_format)))()
        await stop.wait()
    finally:
        await stop_or_exit(server.stop_async(), server.settings.stop_bound)
    announce("stopped", "mockserver: stopped", {}, log_format)
