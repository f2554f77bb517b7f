"""The error model: one exception root, and the one shape of an error answered over HTTP.

Every exception class mockserver defines derives from MockServerError (one that replaces a
builtin derives from that too, so ``except ValueError`` in a user's code keeps working).
Every error answer (admin API, body refusals, limits, resources, the socket-free doubles) is
an HttpProblem: the core builds the value, the shell turns it into bytes or a response.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

__all__ = ["HttpProblem", "MockServerError", "Problem", "ProblemError", "StubFileError"]


class MockServerError(Exception):
    """Root of mockserver's own errors."""


class HttpProblem:
    """An error answer: ``status`` and the JSON ``{"error", "detail", **extra}`` it carries.

    ``error`` is a short fixed phrase a client can test for, ``detail`` what was wrong and how
    to put it right; ``extra`` adds keys after those two (e.g. the located stub problems).
    Answers in a stub's place (resources, preconditions, a failed template) are written as
    compact as stub JSON (``render.encode_json(problem.as_dict())``); the server's own as
    aiohttp's ``json_response`` writes them (``body()``), which the socket-free doubles copy.
    """

    __slots__ = ("detail", "error", "extra", "status")

    def __init__(self, status: int, error: str, detail: str, **extra: object) -> None:
        self.status, self.error, self.detail, self.extra = status, error, detail, extra

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HttpProblem):
            return NotImplemented
        return self.status == other.status and self.as_dict() == other.as_dict()

    __hash__ = None  # type: ignore[assignment]  # extra may hold lists

    def __repr__(self) -> str:
        return f"HttpProblem({self.status}, {self.error!r}, {self.detail!r}, **{self.extra!r})"

    def as_dict(self) -> dict[str, object]:
        return {"error": self.error, "detail": self.detail, **self.extra}

    def body(self) -> bytes:
        """The JSON as aiohttp's ``json_response`` writes it (``json.dumps`` defaults)."""
        return json.dumps(self.as_dict()).encode()


class ProblemError(MockServerError):
    """An error that ends a request with its HttpProblem as the answer."""

    def __init__(self, status: int, error: str, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.problem = HttpProblem(status, error, detail, **extra)

    @property
    def status(self) -> int:
        return self.problem.status

    @property
    def error(self) -> str:
        return self.problem.error

    @property
    def detail(self) -> str:
        return self.problem.detail


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a stub file, located as precisely as we can.

    Attributes:
        file: the file (as given by the user, not resolved) or "<admin>" for API input.
        message: what is wrong and, where there is a fixed set, the valid choices.
        stub: the stub's id, or its index as ``#N`` when it has no id; None for file-level keys.
        key: the key path inside the stub or file, e.g. ``request.query.page.regex``.
        line: 1-based line of the offending key when the file is YAML or JSON.
        column: 1-based column, with line.
    """

    file: str
    message: str
    stub: str | None = None
    key: str | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        parts = [where]
        if self.stub is not None:
            parts.append(f"stub {self.stub}")
        if self.key:
            parts.append(self.key)
        return ": ".join(parts) + ": " + self.message

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form, used by the admin API and the health report."""
        return {
            "file": self.file,
            "stub": self.stub,
            "key": self.key,
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }


class StubFileError(MockServerError):
    """A stub set could not be loaded; carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the stub files"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))
