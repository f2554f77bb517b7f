"""The error model: one exception root, the one shape of an error answered over HTTP, and the
problems a stub file can have, each located, all collected in one sink.

Every exception class mockserver defines derives from MockServerError (one that replaces a
builtin derives from that too, so ``except ValueError`` in a user's code keeps working).
Every error answer (admin API, body refusals, limits, resources, the socket-free doubles) is
an HttpProblem: the core builds the value, the shell turns it into bytes or a response. Every
reader of stub-file input adds what is wrong to a Problems sink, which locates each Problem.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = [
    "HttpProblem",
    "KeyPath",
    "MockServerError",
    "Problem",
    "ProblemError",
    "Problems",
    "StubFileError",
    "key_text",
]

KeyPath = tuple[str | int, ...]
"""Where a value sits in a document: keys and list indexes from the top, e.g. ("stubs", 0)."""


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


class Problems:
    """The one sink for problems found while reading stub-file input (a file, an admin request,
    a pattern): each added with its key path, turned into a located Problem at once.

    ``marks`` gives the line and column of each key path (YAML and JSON documents). In a stub
    file a key path under ``("stubs", N)`` names its stub by ``stub_labels[N]`` (its id) or
    ``#N``; ``stubs=False`` reads it as any other key (an OpenAPI document). ``key_of`` writes
    the key path as the problem shows it.
    """

    __slots__ = ("items", "key_of", "marks", "source", "stub_labels", "stubs")

    def __init__(
        self,
        source: str,
        marks: Mapping[KeyPath, tuple[int, int]] | None = None,
        *,
        key_of: Callable[[KeyPath], str | None] | None = None,
        stubs: bool = True,
    ) -> None:
        self.source = source
        self.marks = marks or {}
        self.items: list[Problem] = []
        self.stub_labels: dict[int, str] = {}
        self.key_of = key_of or key_text
        self.stubs = stubs

    def __len__(self) -> int:
        return len(self.items)

    def add(self, at: KeyPath, message: str) -> None:
        stub = None
        key_path = at
        if self.stubs and len(at) >= 2 and at[0] == "stubs" and isinstance(at[1], int):
            stub = self.stub_labels.get(at[1], f"#{at[1]}")
            key_path = at[2:]
        line = col = None
        for cut in range(len(at), 0, -1):
            mark = self.marks.get(at[:cut])
            if mark:
                line, col = mark
                break
        self.items.append(
            Problem(
                self.source, message, stub=stub, key=self.key_of(key_path), line=line, column=col
            )
        )


def key_text(path: KeyPath) -> str | None:
    """A key path as messages show it: ``request.query.page``, ``responses[1].status``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


class StubFileError(MockServerError):
    """A stub set could not be loaded; carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the stub files"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))
