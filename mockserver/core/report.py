"""The explanation sent for a request that no stub matched, as data and as text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mockserver.core.matching import NearMiss
from mockserver.core.request import RequestView

__all__ = ["brief_report", "report_text", "unmatched_report"]


def unmatched_report(
    request: RequestView,
    near: list[NearMiss],
    stub_count: int,
) -> dict[str, Any]:
    """The body of the answer to a request no stub matched: what arrived, and what came near."""
    if stub_count == 0:
        hint = "no stubs are loaded on this port; add a stub file or POST one to /__admin/stubs"
    elif near:
        first = near[0]
        diff = first.differences[0]
        hint = f"nearest stub {first.stub.id!r} differs first in {diff.field}: {diff.why}"
    else:
        hint = "no stub came near"
    return {
        "error": "no stub matched this request",
        "hint": hint,
        "request": request.summary(),
        "stubs_on_this_port": stub_count,
        "nearest": [miss.as_dict() for miss in near],
    }


def brief_report(report: Mapping[str, Any]) -> dict[str, Any]:
    """What a caller without the admin token sees of a miss when the report is kept from it:
    no stub ids, sources or expected values (--unmatched-report)."""
    request = report["request"]
    return {
        "error": report["error"],
        "hint": (
            f"no stub matched {request['method']} {request['path']}; the near-miss report is in "
            "the journal (GET /__admin/requests/unmatched, with the admin token)"
        ),
    }


def report_text(report: Mapping[str, Any]) -> str:
    """The unmatched report for a human: a terminal, a log line, a pytest failure."""
    req = report["request"]
    query = "&".join(
        f"{k}={v}" for k, vs in req["query"].items() for v in (vs if isinstance(vs, list) else [vs])
    )
    lines = [f"No stub matched {req['method']} {req['path']}{'?' + query if query else ''}"]
    if req.get("body"):
        lines.append(f"  body: {req['body']}")
    if not report["nearest"]:
        lines.append(f"  {report['hint']}")
    for rank, miss in enumerate(report["nearest"], 1):
        lines.append(f"  {rank}. stub {miss['stub']} [{miss['route']}] from {miss['source']}")
        if miss.get("shadowed"):
            lines.append(f"       {miss['shadowed']}")
        for diff in miss["differences"]:
            lines.append(f"       {diff['field']}: {diff['why']}")
            lines.append(f"         expected: {diff['expected']}")
            lines.append(f"         actual:   {diff['actual']}")
    return "\n".join(lines)
