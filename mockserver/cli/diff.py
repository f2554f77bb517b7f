"""``mockserver diff``: replay recorded requests against the real services and report drift.

The I/O half: loads the stub files, sends each replayable stub's request to its service's
``upstream:`` through the same bounded, timed client the recorder uses (no redirects
followed), and prints what ``drift`` concluded, after how the replay of those files chooses
its answers (``summary``, the block a recording ends with). Requests go one at a time in file
order, as a recording was made, so a stateful service sees them in a sensible order.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO
from urllib.parse import urlencode

from mockserver.core.errors import StubFileError
from mockserver.core.model import Stub
from mockserver.formats.loader import load_paths
from mockserver.recording.drift import (
    Observed,
    Result,
    compare,
    expected_of,
    media_type,
    replay_of,
    report_lines,
)
from mockserver.recording.exchange import decode_body
from mockserver.recording.proxy import Upstream, UpstreamError, UpstreamSettings
from mockserver.recording.summary import file_reports

if TYPE_CHECKING:
    from mockserver.formats.openapi.responses import AnswerCheck

__all__ = ["parse_header", "run_diff"]

_ACCEPT_ENCODING = "gzip, deflate"


def parse_header(text: str) -> tuple[str, str]:
    """``Name: value`` → (name, value).

    Raises:
        ValueError: no colon, or an empty name.
    """
    name, sep, value = text.partition(":")
    if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
        raise ValueError(f"a header is 'Name: value', got {text!r}")
    return name.strip(), value.strip()


def run_diff(
    paths: Sequence[str],
    *,
    timeout: float = 30.0,
    headers: Sequence[str] = (),
    out: TextIO | None = None,
    err: TextIO | None = None,
    openapi: str | None = None,
) -> int:
    """Replay, compare, print; 0 when nothing drifted, 1 when something did or an upstream
    failed, 2 when the arguments or the stub files are unusable."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        extra = tuple(parse_header(h) for h in headers)
        if not timeout > 0:
            raise ValueError(f"--timeout must be a positive number of seconds, got {timeout:g}")
    except ValueError as exc:
        print(f"mockserver diff: error: {exc}", file=err)
        return 2
    try:
        stubs = load_paths(paths)
    except StubFileError as exc:
        print(f"mockserver diff: cannot read the stubs:\n{exc}", file=err)
        return 2
    upstreams = {s.name: s.upstream for s in stubs.services.values() if s.upstream}
    if not upstreams:
        print(
            "mockserver diff: error: no service in these files names an 'upstream:' to compare "
            "with (recorded files have one)",
            file=err,
        )
        return 2
    check = None
    if openapi:
        from mockserver.formats.openapi.load import load_openapi  # only with --openapi
        from mockserver.formats.openapi.responses import answer_check

        try:
            check = answer_check(load_openapi(openapi))
        except StubFileError as exc:
            print(f"mockserver diff: cannot read the OpenAPI document:\n{exc}", file=err)
            return 2
    # How the replay of these files chooses its answer, as a recording ends with: a stub that
    # drifted may be one variant of several, or one answer of a sequence.
    compared = [s for s in stubs.stubs if s.service in upstreams]
    print("How the replay chooses:", *file_reports(compared), sep="\n", file=out)
    settings = UpstreamSettings(connect_timeout=min(5.0, timeout), total_timeout=timeout)
    results = asyncio.run(_diff_all(stubs.stubs, upstreams, settings, extra, check))
    print("\n".join(report_lines(results, upstreams, openapi or "")), file=out, flush=True)
    bad = any(r.outcome in ("drifted", "failed") or r.breaks for r in results)
    return 1 if bad else 0


async def _diff_all(
    stubs: Sequence[Stub],
    upstreams: dict[str, str],
    settings: UpstreamSettings,
    extra: tuple[tuple[str, str], ...],
    check: AnswerCheck | None = None,
) -> list[Result]:
    clients = {name: Upstream(name, url, settings) for name, url in upstreams.items()}
    broken: dict[str, str] = {}  # service → why its upstream failed: the rest is not tried
    results = []
    try:
        for stub in stubs:
            route = stub.describe_route()
            client = clients.get(stub.service)
            if client is None:
                results.append(
                    Result(stub.id, stub.service, route, "skipped", reason="no upstream")
                )
                continue
            if stub.service in broken:
                reason = f"not tried: {broken[stub.service]}"
                results.append(Result(stub.id, stub.service, route, "failed", reason=reason))
                continue
            result, unreachable = await _diff_one(stub, route, client, extra, check)
            if unreachable:
                broken[stub.service] = "the upstream failed above"
            results.append(result)
    finally:
        for client in clients.values():
            await client.close()
    return results


async def _diff_one(
    stub: Stub,
    route: str,
    client: Upstream,
    extra: tuple[tuple[str, str], ...],
    check: AnswerCheck | None,
) -> tuple[Result, bool]:
    """The verdict for one stub, and whether the upstream itself failed."""
    replay = replay_of(stub)
    if isinstance(replay, str):
        return Result(stub.id, stub.service, route, "skipped", reason=replay), False
    given = {k.lower() for k, _ in extra}
    headers = (
        *((k, v) for k, v in replay.headers if k.lower() not in given),
        *extra,
        ("Accept-Encoding", _ACCEPT_ENCODING),
    )
    try:
        exchange = await client.forward(
            replay.method, replay.target, replay.path, urlencode(replay.query), headers, replay.body
        )
    except UpstreamError as exc:
        reason = f"{exc.body()['error']}: {exc.detail}"
        return Result(stub.id, stub.service, route, "failed", reason=reason), True
    try:
        body = decode_body(exchange.response_body, exchange.response_header("content-encoding"))
    except ValueError as exc:
        return Result(stub.id, stub.service, route, "failed", reason=f"the answer: {exc}"), False
    content_type = exchange.response_header("content-type")
    observed = Observed(exchange.status, media_type(content_type), body)
    differences = compare(expected_of(stub), observed)
    breaks = (
        tuple(check(replay.method, replay.path, exchange.status, content_type, body))
        if check
        else ()
    )
    if differences:
        drifted = Result(stub.id, stub.service, route, "drifted", tuple(differences), breaks=breaks)
        return drifted, False
    return Result(stub.id, stub.service, route, "agrees", breaks=breaks), False
