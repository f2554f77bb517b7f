"""The exception tree: every error mockserver raises on purpose derives from MockServerError."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MockServerError", "Problem", "StubFileError"]


class MockServerError(Exception):
    """Root of mockserver's own errors."""


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
