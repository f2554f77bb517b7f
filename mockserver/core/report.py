"""The explanation sent for a request that no stub matched: values here, JSON at the edges.

The report stays typed from ``unmatched_report`` to where it leaves the process: the 404 body
and the admin API's journal (``to_json``), the log formatter, and the text of a strict
failure, which reads journal entries back from JSON (``from_json``), as pytest's reports.py
does with its ``_to_json``/``_from_json``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from mockserver.core.matching import Difference, NearMiss
from mockserver.core.request import REPORTED_BODY_CHARS, REPORTED_VALUE_CHARS, RequestView, excerpt

__all__ = [
    "NearStub",
    "ReportedDifference",
    "RequestSummary",
    "UnmatchedReport",
    "brief_report",
    "report_text",
    "unmatched_report",
]

# A query or header value: one value, or the list when the name came more than once.
Shown = str | list[str]


@dataclass(frozen=True, slots=True)
class ReportedDifference:
    """One field a near stub wanted otherwise, as a report shows it: each value cut."""

    field: str
    expected: str
    actual: str
    why: str

    @classmethod
    def of(cls, difference: Difference) -> ReportedDifference:
        # Each value is cut (model.excerpt): ``actual`` may be a whole request body.
        return cls(
            difference.field,
            excerpt(difference.expected, REPORTED_VALUE_CHARS),
            excerpt(difference.actual, REPORTED_VALUE_CHARS),
            excerpt(difference.why, REPORTED_VALUE_CHARS),
        )

    def to_json(self) -> dict[str, str]:
        return {
            "field": self.field,
            "expected": self.expected,
            "actual": self.actual,
            "why": self.why,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReportedDifference:
        return cls(data["field"], data["expected"], data["actual"], data["why"])


@dataclass(frozen=True, slots=True)
class NearStub:
    """A stub that came near a request: which one, where it was written, how it differs."""

    stub: str
    service: str
    route: str
    source: str
    differences: tuple[ReportedDifference, ...]
    # Another file's stub answers this one's requests first (see shadowing.py).
    shadowed: str | None = None

    @classmethod
    def of(cls, miss: NearMiss) -> NearStub:
        stub = miss.stub
        return cls(
            stub.id,
            stub.service,
            stub.describe_route(),
            f"{stub.source} (stub #{stub.index})",
            tuple(ReportedDifference.of(d) for d in miss.differences),
            miss.shadowed,
        )

    def to_json(self) -> dict[str, Any]:
        differences = [d.to_json() for d in self.differences]
        found: dict[str, Any] = {
            "stub": self.stub,
            "service": self.service,
            "route": self.route,
            "source": self.source,
            "first_difference": differences[0] if differences else None,
            "differences": differences,
        }
        if self.shadowed is not None:
            found["shadowed"] = self.shadowed
        return found

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NearStub:
        # first_difference is the first of the differences: read once, not twice.
        return cls(
            data["stub"],
            data["service"],
            data["route"],
            data["source"],
            tuple(ReportedDifference.from_json(d) for d in data["differences"]),
            data.get("shadowed"),
        )


@dataclass(frozen=True, slots=True)
class RequestSummary:
    """What arrived, for a report: secret-named query parameters and headers redacted, the
    body as text (its first characters, then its length and hash)."""

    method: str
    path: str
    query: Mapping[str, Shown]
    headers: Mapping[str, Shown]
    body: str

    @classmethod
    def of(cls, view: RequestView, body_limit: int = REPORTED_BODY_CHARS) -> RequestSummary:
        query, headers = view.shown_fields()
        return cls(view.method, view.path, query, headers, excerpt(view.text, body_limit))

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": dict(self.query),
            "headers": dict(self.headers),
            "body": self.body,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RequestSummary:
        return cls(data["method"], data["path"], data["query"], data["headers"], data["body"])


@dataclass(frozen=True, slots=True)
class UnmatchedReport:
    """The body of the answer to a request no stub matched: what arrived, what came near."""

    ERROR: ClassVar[str] = "no stub matched this request"

    hint: str
    request: RequestSummary
    stubs_on_this_port: int
    nearest: tuple[NearStub, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "error": self.ERROR,
            "hint": self.hint,
            "request": self.request.to_json(),
            "stubs_on_this_port": self.stubs_on_this_port,
            "nearest": [near.to_json() for near in self.nearest],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UnmatchedReport:
        return cls(
            data["hint"],
            RequestSummary.from_json(data["request"]),
            data["stubs_on_this_port"],
            tuple(NearStub.from_json(near) for near in data["nearest"]),
        )

    def text(self) -> str:
        """The report for a human: a terminal, a log line, a pytest failure."""
        return report_text(self.request, self.nearest, self.hint)


def unmatched_report(
    request: RequestView, near: list[NearMiss], stub_count: int
) -> UnmatchedReport:
    """The report on ``request``, which no stub matched, given the stubs that came ``near``."""
    if stub_count == 0:
        hint = "no stubs are loaded on this port; add a stub file or POST one to /__admin/stubs"
    elif near:
        first = near[0]
        diff = first.differences[0]
        hint = f"nearest stub {first.stub.id!r} differs first in {diff.field}: {diff.why}"
    else:
        hint = "no stub came near"
    nearest = tuple(NearStub.of(miss) for miss in near)
    return UnmatchedReport(hint, RequestSummary.of(request), stub_count, nearest)


def brief_report(report: UnmatchedReport) -> dict[str, str]:
    """What a caller without the admin token sees of a miss when the report is kept from it:
    no stub ids, sources or expected values (--unmatched-report)."""
    request = report.request
    return {
        "error": report.ERROR,
        "hint": (
            f"no stub matched {request.method} {request.path}; the near-miss report is in "
            "the journal (GET /__admin/requests/unmatched, with the admin token)"
        ),
    }


def report_text(request: RequestSummary, nearest: Sequence[NearStub], hint: str) -> str:
    """A miss for a human: what arrived, then each near stub and how it differs (the hint
    when none came near)."""
    query = "&".join(
        f"{k}={v}"
        for k, vs in request.query.items()
        for v in (vs if isinstance(vs, list) else [vs])
    )
    lines = [f"No stub matched {request.method} {request.path}{'?' + query if query else ''}"]
    if request.body:
        lines.append(f"  body: {request.body}")
    if not nearest:
        lines.append(f"  {hint}")
    for rank, near in enumerate(nearest, 1):
        lines.append(f"  {rank}. stub {near.stub} [{near.route}] from {near.source}")
        if near.shadowed:
            lines.append(f"       {near.shadowed}")
        for diff in near.differences:
            lines.append(f"       {diff.field}: {diff.why}")
            lines.append(f"         expected: {diff.expected}")
            lines.append(f"         actual:   {diff.actual}")
    return "\n".join(lines)
