"""The command line's options: converters, MOCKSERVER_<OPTION> fallbacks, and the parser.

Every option also reads an environment variable; a bad value there is kept as an EnvError
and reported by ``cli.main`` only if the option was not given (an option wins).
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from mockserver.cli import converters
from mockserver.cli.limit_options import LIMITS
from mockserver.core.config import ENV_PREFIX, Settings
from mockserver.core.errors import MockServerError
from mockserver.core.version import __version__
from mockserver.output.errorline import asked_format, report

__all__ = ["LIMITS", "EnvError", "build_parser", "paths_from_env"]

T = TypeVar("T")


class EnvError(MockServerError):
    pass


def _env(name: str, convert: Callable[[str], T], default: T) -> T | EnvError:
    raw = os.environ.get(ENV_PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        return convert(raw)
    except ValueError as exc:
        # Reported by main() only if the option was not given: an option wins over the
        # environment, and validate or --help never trip on a serve variable.
        return EnvError(f"{ENV_PREFIX}{name} {exc}")


class Parser(argparse.ArgumentParser):
    """argparse with a usage error said in one line that names the option, not a usage dump."""

    def error(self, message: str) -> NoReturn:
        # "argument --port: must be a port number, got 'abc'" -> "--port must be ..."
        named = re.fullmatch(r"argument ([^:]+): (must .*)", message, re.DOTALL)
        if named:
            message = f"{named[1]} {named[2]}"
        report(f"error: {message} (see {self.prog} --help)", asked_format())
        self.exit(2)


def paths_from_env() -> list[str]:
    raw = os.environ.get(ENV_PREFIX + "STUBS", "")
    return [p for p in raw.split(os.pathsep) if p] or ["stubs"]


def _add_paths(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="stub files or directories (searched recursively for .yaml, .yml and .json); "
        f"default: ${ENV_PREFIX}STUBS ({os.pathsep}-separated) or ./stubs",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="mockserver",
        description="Serve stub files as real HTTP services, for tests and staging.",
        epilog="Every option can also be set as an environment variable MOCKSERVER_<OPTION> "
        "(e.g. MOCKSERVER_PORT=9000); a command-line option wins over the environment.",
    )
    parser.add_argument("--version", action="version", version=f"mockserver {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = sub.add_parser(
        "serve",
        help="serve stub files over HTTP",
        description="Serve the services described by stub files. Services without a port share "
        "the main port; each service with 'port:' gets its own. Stops cleanly on SIGTERM/SIGINT.",
    )
    _add_paths(serve)
    serve.add_argument(
        "--host",
        default=_env("HOST", str, "127.0.0.1"),
        help="address to bind (env MOCKSERVER_HOST; default 127.0.0.1, so the mock is not on "
        "the network unless you say so; 0.0.0.0 for every interface)",
    )
    _option(
        serve,
        "--port",
        converters.port,
        8080,
        "main port, shared by services with no port of their own; 0 picks a free one",
    )
    _option(
        serve,
        "--max-body-bytes",
        converters.positive,
        10 * 1024 * 1024,
        "largest request body accepted, after decompression; larger gets 413",
        "10 MiB",
    )
    _option(
        serve, "--unmatched-status", converters.status, 404, "status for a request no stub matched"
    )
    _option(
        serve,
        "--unmatched-report",
        converters.unmatched_report,
        "auto",
        "what an unmatched request's answer shows: full (the near-miss report, secrets "
        "redacted), brief (only that no stub matched), or auto: brief to callers without the "
        "admin token when one is set, else full",
    )
    _option(
        serve,
        "--log-level",
        converters.level,
        "info",
        "info logs one line per request (an "
        "unmatched one with its near misses); debug adds each request's header names; "
        "warning only problems",
    )
    _option(
        serve,
        "--log-format",
        converters.log_format,
        "text",
        "text for people, or json: one JSON object per line for log collectors",
    )
    _option(
        serve,
        "--loop",
        converters.event_loop,
        "auto",
        "auto: uvloop when installed, else asyncio's "
        "loop; uvloop answers more requests a second, asyncio's loop has the shorter "
        "latency tail",
        dest="event_loop",
    )
    _option(
        serve,
        "--openapi",
        str,
        None,
        "an OpenAPI 3.0/3.1 document: requests that stubs match are checked against it, and "
        "one that breaks it gets 400 with the violations (journaled as unmatched)",
        "none",
    )
    _option(
        serve,
        "--seed",
        converters.non_negative,
        None,
        "seed the draws of delay ranges and fault rates, so a run repeats",
        "fresh draws each start",
    )
    _option(
        serve,
        "--journal-size",
        converters.non_negative,
        1000,
        "requests kept in the journal for "
        "/__admin/requests, oldest dropped first; 0 turns it off, hit counters still count",
    )
    _option(
        serve,
        "--watch",
        converters.boolean,
        False,
        "reload the stub files when they change; a bad edit "
        "keeps the previous set serving and is reported",
        "off",
    )
    serve.add_argument(
        "--admin-token",
        # Empty is unset, as for every variable: an unset ${VAR} in compose or an empty Secret
        # must not open the admin API.
        type=lambda text: text or None,
        default=os.environ.get(ENV_PREFIX + "ADMIN_TOKEN") or None,
        help="require Authorization: Bearer TOKEN on admin calls except GET /__admin/health "
        "(env MOCKSERVER_ADMIN_TOKEN). On a non-loopback --host without one (or with an empty "
        "one), a token is generated, and shown only on a terminal",
    )
    _option(
        serve,
        "--admin-open",
        converters.boolean,
        False,
        "serve the admin API with no token on a non-loopback --host: anyone who reaches the "
        "port can change the stubs and read the journal; for a network of your own",
        "off",
    )
    _option(serve, "--admin-api", converters.admin_api, "mockserver", _WIREMOCK_API)
    _option(
        serve,
        "--state",
        converters.state,
        "memory",
        "where state shared by replicas lives: memory (this process) or redis://HOST:PORT/DB, "
        "so several replicas share runtime stubs, scenarios, sequences, resources and the "
        "journal",
    )
    _option(
        serve,
        "--state-wait",
        converters.boolean,
        False,
        "with --state redis://...: start even when Redis cannot be reached yet and connect "
        "when it comes (static stubs serve meanwhile; admin writes answer 503); without it "
        "an unreachable Redis stops the start with exit status 2",
        "off",
    )
    _option(
        serve,
        "--spy",
        converters.boolean,
        False,
        "forward requests no stub matched to the service's "
        "'upstream:' and answer with what it says",
        "off",
    )
    _option(
        serve,
        "--record-new",
        converters.boolean,
        False,
        "with --spy, write what was forwarded as stubs "
        "into <service>.recorded.yaml beside the service's stub file, when the server "
        "stops",
        "off",
    )
    _option(
        serve,
        "--workers",
        converters.positive,
        1,
        "processes serving the same ports (SO_REUSEPORT; "
        "Linux spreads connections over them), with one admin API and journal over all",
    )
    _add_redact(serve)
    _add_limits(serve)

    record = sub.add_parser(
        "record",
        help="proxy real services and write what they answer as stub files",
        description="Forward every request to the real service and answer with its response, "
        "keeping each exchange; on SIGTERM/SIGINT write one stub file per service into --out "
        "(atomically; secrets redacted). The first target is served on --port; every other "
        "target needs its own: NAME=URL@PORT.",
    )
    record.add_argument(
        "--target",
        action="append",
        required=True,
        metavar="NAME=URL[@PORT]",
        help="a service to record, e.g. users=http://localhost:9000 (repeatable)",
    )
    record.add_argument("--out", required=True, help="directory for the recorded stub files")
    record.add_argument("--host", default=_env("HOST", str, "127.0.0.1"), help="address to bind")
    record.add_argument(
        "--port",
        type=converters.port,
        default=_env("PORT", converters.port, 8080),
        help="port of the first target (env MOCKSERVER_PORT; default 8080)",
    )
    record.add_argument(
        "--connect-timeout",
        type=converters.seconds,
        default=5.0,
        help="seconds to connect to a target before answering 504 (default 5)",
    )
    record.add_argument(
        "--timeout",
        type=converters.seconds,
        default=60.0,
        help="seconds for a whole upstream exchange before answering 504 (default 60)",
    )
    record.add_argument(
        "--max-in-flight",
        type=converters.positive,
        default=50,
        help="upstream calls in flight per target; more wait their turn (default 50)",
    )
    record.add_argument(
        "--log-level",
        type=converters.level,
        default=_env("LOG_LEVEL", converters.level, "info"),
        help="debug, info, warning or error (default info)",
    )
    record.add_argument(
        "--openapi",
        metavar="DOC",
        default=_env("OPENAPI", str, None),
        help="an OpenAPI 3.0/3.1 document: each answer that breaks it (status, Content-Type, "
        "JSON body) is logged as a warning, and still recorded and passed on",
    )
    record.add_argument(
        "--amqp-exchange",
        action="append",
        default=[],
        metavar="NAME[=TYPE]",
        help="also record what passes through this RabbitMQ exchange (topic, fanout or headers) "
        "as consumer stubs in --out/amqp.recorded.yaml (repeatable; broker: --amqp-url)",
    )
    record.add_argument("--amqp-url", default=_env("AMQP_URL", str, None), help="the broker")
    _add_redact(record)

    validate = sub.add_parser(
        "validate",
        help="check stub files and report every problem",
        description="Load stub files as serve would and print every problem with its file, "
        "line, stub and key. Exit status 0 when all are valid, 1 otherwise.",
    )
    validate.add_argument(
        "--openapi",
        metavar="DOC",
        default=None,
        help="also check that each stub's response (status, JSON body) fits this OpenAPI "
        "document; each misfit is a line with file, line, stub and key",
    )
    _add_paths(validate)

    check = sub.add_parser(
        "healthcheck",
        help="exit 0 when the server answers GET /__admin/health with ok (a container's probe)",
        description="Ask the server on this machine for GET /__admin/health: at --url, else at "
        "--host and --port, else where the `mockserver serve` running as process --pid "
        "(default 1, the container's) listens, read from its command line and the "
        "MOCKSERVER_ variables as serve reads them. Exit status 0 when it says ok, 1 "
        "otherwise, with a one-line reason. Needs no admin token, and no curl.",
    )
    check.add_argument(
        "--url",
        default=os.environ.get(ENV_PREFIX + "URL") or None,
        help="the server's base URL (env MOCKSERVER_URL)",
    )
    check.add_argument(
        "--host", help="the address serve binds; 0.0.0.0 is asked on 127.0.0.1 (default: as serve)"
    )
    check.add_argument(
        "--port", type=converters.port, help="the server's main port (default: as serve)"
    )
    check.add_argument(
        "--pid",
        type=converters.positive,
        default=1,
        help="the process whose `mockserver serve` command line gives host and port, when "
        "neither is given (default 1: in a container, the server or the init that started it)",
    )
    check.add_argument(
        "--timeout",
        type=converters.seconds,
        default=3.0,
        help="seconds to wait for the answer (default 3)",
    )

    def run_diff(args: argparse.Namespace) -> int:
        from mockserver.cli.diff import run_diff

        return run_diff(args.paths, timeout=args.timeout, headers=args.header, openapi=args.openapi)

    diff = sub.add_parser(
        "diff",
        help="replay recorded requests against the real services and report drift",
        description="Send each stub's request to its service's 'upstream:' and report, per "
        "stub, whether status, media type and body still agree (JSON compared by structure, "
        "differences by JSONPath). Stubs that cannot be replayed exactly (templates, regexes, "
        "non-literal matchers) are skipped with the reason. Exit status 0 when nothing "
        "drifted, 1 when something did or an upstream failed, 2 on usage errors.",
    )
    diff.add_argument("paths", nargs="+", metavar="PATH", help="stub files or directories")
    diff.add_argument(
        "--timeout",
        type=converters.seconds,
        default=30.0,
        help="seconds per upstream call (default 30)",
    )
    diff.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="send this header with every replayed request, e.g. the Authorization that "
        "recording redacted (repeatable)",
    )
    diff.add_argument(
        "--openapi",
        metavar="DOC",
        default=None,
        help="also check each live answer against this OpenAPI 3.0/3.1 document (status, "
        "Content-Type, JSON body); one that breaks it is reported and counts as drift",
    )
    diff.set_defaults(run=run_diff)

    def run_import(args: argparse.Namespace) -> int:
        from mockserver.cli.imports import import_har, import_vcr, import_wiremock

        if args.kind == "wiremock":
            return import_wiremock(args.root, args.out)
        if args.kind == "vcr":
            return import_vcr(args.files, args.out, service=args.service, redact=args.redact)
        return import_har(args.file, args.out, service=args.service, redact=args.redact)

    imports = sub.add_parser(
        "import", help="turn captured traffic into stub files", description="Import traffic."
    )
    kinds = imports.add_subparsers(dest="kind", metavar="FORMAT", required=True)
    har = kinds.add_parser(
        "har",
        help="a HAR 1.2 file (browser devtools, proxies)",
        description="Write a HAR file's entries as stub files, one per service (per origin "
        "unless --service), through the recorder's writer: bodies decoded, secrets redacted, "
        "hand-written files never overwritten.",
    )
    har.add_argument("file", metavar="FILE", help="the .har file")
    har.add_argument("--out", required=True, help="directory for the stub files")
    har.add_argument("--service", help="one service name for every entry (default: per host)")
    _add_redact(har)
    har.set_defaults(run=run_import)
    vcr = kinds.add_parser(
        "vcr",
        help="VCR.py cassettes (vcrpy, pytest-recording)",
        description="Write the interactions of VCR.py cassettes as stub files, one per service "
        "(per origin unless --service): bodies decoded, repeated requests as sequences, secrets "
        "redacted. A cassette is also served as it is by mockserver serve.",
    )
    vcr.add_argument("files", nargs="+", metavar="FILE", help="cassette YAML files")
    vcr.add_argument("--out", required=True, help="directory for the stub files")
    vcr.add_argument("--service", help="one service name for every interaction")
    _add_redact(vcr)
    vcr.set_defaults(run=run_import)
    wiremock = kinds.add_parser("wiremock", help="a WireMock root (mappings/, __files/)")
    wiremock.add_argument("root", metavar="DIR", help="the directory holding mappings/")
    wiremock.add_argument("--out", required=True, help="directory for the stub files")
    wiremock.set_defaults(run=run_import)
    return parser


_WIREMOCK_API = (
    "wiremock adds WireMock's admin routes under /__admin (mappings, requests, scenarios)"
)


def _option(
    parser: argparse.ArgumentParser,
    flag: str,
    convert: Callable[[str], Any],
    default: Any,
    what: str,
    shown: str | None = None,
    *,
    dest: str | None = None,
) -> None:
    """``flag`` with its MOCKSERVER_ variable as the fallback, both named in its help; a
    ``converters.boolean`` option is a switch (``--watch`` / ``--no-watch``,
    ``MOCKSERVER_WATCH=1``)."""
    variable = flag.removeprefix("--").upper().replace("-", "_")
    kind: dict[str, Any] = (
        {"action": argparse.BooleanOptionalAction}
        if convert is converters.boolean
        else {"type": convert, "metavar": variable}
    )
    shown = shown if shown is not None else str(default)
    parser.add_argument(
        flag,
        dest=dest or flag.removeprefix("--").replace("-", "_"),
        default=_env(variable, convert, default),
        help=f"{what} (env {ENV_PREFIX}{variable}; default {shown})",
        **kind,
    )


def _add_limits(parser: argparse.ArgumentParser) -> None:
    defaults = Settings()
    for name, (convert, what) in LIMITS.items():
        option = name.replace("_", "-").replace("journal-body-cap", "journal-body-bytes")
        default = getattr(defaults, name)
        _option(parser, "--" + option, convert, default, what, f"{default:g}", dest=name)


def _add_redact(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--redact",
        action="append",
        default=[p for p in os.environ.get(ENV_PREFIX + "REDACT", "").split(",") if p],
        metavar="WHAT",
        help="also redact, in recordings, the journal and logs: a header name, query:NAME or "
        "a JSONPath such as $.user.password (repeatable; env MOCKSERVER_REDACT, comma-"
        "separated). Always redacted: Authorization, Proxy-Authorization, Cookie, Set-Cookie, "
        "X-Api-Key and token-like query parameters",
    )
