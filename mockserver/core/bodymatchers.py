"""The ``form`` and ``multipart`` body matchers: values by field or part name.

``form`` reads an application/x-www-form-urlencoded body, ``multipart`` a multipart/form-data
one (parsed by ``multipart``'s sans-IO parser, bounded in parts and header lines); each field
or part is matched with the ordinary matchers of patterns.py, so a literal, ``{regex: ...}``
or ``{contains: ...}`` works, and several values under one name are read as query values
are. Each registers its name by subclassing Pattern (patterns.py); patternspec.py imports this
module so that stub files can name them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, TypeVar
from urllib.parse import parse_qsl

from mockserver.core.bodyreading import Unreadable, check_budget, media_type, read_body, slices
from mockserver.core.errors import KeyPath
from mockserver.core.matching import values_reason  # several values under one name: as query values
from mockserver.core.patterns import MATCHER_NAMES, MODIFIERS, Pattern, Reading, Value, show

__all__ = ["Form", "Multipart", "Part", "PartSpec", "Sha256"]

# A multipart body with more parts than this, or a part with more header lines, is refused
# (no browser or HTTP client sends that many; a hostile one would cost a Python object each).
MAX_PARTS: Final = 1000
MAX_PART_HEADERS: Final = 16
FORM_TYPE: Final = "application/x-www-form-urlencoded"
MULTIPART_TYPE: Final = "multipart/form-data"
_PART_KEYS: Final = ("body", "filename", "content_type")


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a multipart/form-data body."""

    name: str | None
    filename: str | None
    content_type: str | None
    body: bytes


def _parse_form(data: bytes, content_type: str | None) -> dict[str, list[str]] | Unreadable:
    if content_type is not None and media_type(content_type) != FORM_TYPE:
        return Unreadable(
            f"the body is not a form ({FORM_TYPE}), its Content-Type is {show(content_type)}"
        )
    check_budget()
    fields: dict[str, list[str]] = {}
    for name, text in parse_qsl(data.decode("utf-8", errors="replace"), keep_blank_values=True):
        fields.setdefault(name, []).append(text)
    return fields


def _parse_multipart(data: bytes, content_type: str | None) -> list[Part] | Unreadable:
    import multipart

    if content_type is None or media_type(content_type) != MULTIPART_TYPE:
        got = "none" if content_type is None else show(content_type)
        return Unreadable(f"the body is not {MULTIPART_TYPE}, its Content-Type is {got}")
    boundary = multipart.parse_options_header(content_type)[1].get("boundary")
    if not boundary:
        return Unreadable(f"the {MULTIPART_TYPE} Content-Type names no boundary")
    parts: list[Part] = []
    chunks: list[bytes] = []
    segment: Any = None
    try:
        with multipart.PushMultipartParser(
            boundary, max_header_count=MAX_PART_HEADERS, max_segment_count=MAX_PARTS
        ) as parser:
            for piece in [*slices(data), b""]:
                for event in parser.parse(piece):
                    if isinstance(event, multipart.MultipartSegment):
                        segment, chunks = event, []
                    elif event is not None:
                        chunks.append(bytes(event))
                    else:
                        parts.append(
                            Part(
                                segment.name,
                                segment.filename,
                                segment.content_type,
                                b"".join(chunks),
                            )
                        )
    except multipart.ParserLimitReached as exc:
        return Unreadable(
            f"the multipart body is refused: {exc} (at most {MAX_PARTS} parts "
            f"of {MAX_PART_HEADERS} header lines each)"
        )
    except multipart.MultipartError as exc:
        return Unreadable(f"the multipart body is malformed ({exc})")
    return parts


@dataclass(frozen=True, slots=True)
class Form(Pattern, name="form"):
    """``{name: expected}`` over an application/x-www-form-urlencoded body."""

    fields: tuple[tuple[str, Pattern], ...]

    @classmethod
    def read(cls, raw: Any, at: KeyPath, reading: Reading) -> Pattern | None:
        fields = _read_named("form", raw, at, reading, reading.pattern)
        return None if fields is None else cls(fields)

    def check(self, value: Value) -> str | None:
        fields = read_body(value, "form", _parse_form)
        if isinstance(fields, Unreadable):
            return fields.reason
        for name, pattern in self.fields:
            reason = values_reason(fields.get(name, []), pattern)
            if reason is not None:
                return f"form field {name}: {reason}"
        return None

    def describe(self) -> str:
        return "form " + ", ".join(f"{name} {p.describe()}" for name, p in self.fields)


@dataclass(frozen=True, slots=True)
class Sha256(Pattern, name="sha256"):
    """The value's bytes (a body's as sent, decoded) have this SHA-256: how a recording
    matches a binary body exactly without keeping it."""

    digest: str

    @classmethod
    def read(cls, raw: Any, at: KeyPath, reading: Reading) -> Pattern | None:
        if not isinstance(raw, str) or not _HEX64.match(raw):
            reading.out.add(
                at, "sha256 takes 64 lowercase hex digits (hashlib.sha256(...).hexdigest())"
            )
            return None
        return cls(raw)

    def check(self, value: Value) -> str | None:
        if value.text is None:
            return f"expected a value with sha256 {self.digest[:16]}..., but it is absent"
        request = value.request
        data = request.body if request is not None else value.text.encode("utf-8")
        found = hashlib.sha256(data).hexdigest()
        if found == self.digest:
            return None
        return f"sha256 {found[:16]}... is not {self.digest[:16]}... ({len(data):,} bytes)"

    def describe(self) -> str:
        return f"sha256 {self.digest[:16]}..."


_HEX64: Final = re.compile(r"[0-9a-f]{64}\Z")


@dataclass(frozen=True, slots=True)
class PartSpec:
    """What a multipart part must hold: its body, file name and Content-Type (None: any)."""

    body: Pattern | None = None
    filename: Pattern | None = None
    content_type: Pattern | None = None

    def reason(self, part: Part) -> str | None:
        for key, pattern, actual in (
            ("filename", self.filename, part.filename),
            ("content_type", self.content_type, part.content_type),
            ("body", self.body, part.body.decode("utf-8", errors="replace")),
        ):
            if pattern is not None and (why := pattern.check(Value(actual))) is not None:
                return why if key == "body" else f"{key}: {why}"
        return None

    def describe(self) -> str:
        if self.filename is None and self.content_type is None and self.body is not None:
            return self.body.describe()
        shown = [
            f"{key} {pattern.describe()}"
            for key, pattern in (
                ("filename", self.filename),
                ("content_type", self.content_type),
                ("body", self.body),
            )
            if pattern is not None
        ]
        return " and ".join(shown)


@dataclass(frozen=True, slots=True)
class Multipart(Pattern, name="multipart"):
    """``{name: expected}`` over a multipart/form-data body: a part of that name must match."""

    parts: tuple[tuple[str, PartSpec], ...]

    @classmethod
    def read(cls, raw: Any, at: KeyPath, reading: Reading) -> Pattern | None:
        parts = _read_named("multipart", raw, at, reading, partial(_read_part, reading=reading))
        return None if parts is None else cls(parts)

    def check(self, value: Value) -> str | None:
        parts = read_body(value, "multipart", _parse_multipart)
        if isinstance(parts, Unreadable):
            return parts.reason
        for name, spec in self.parts:
            named = [part for part in parts if part.name == name]
            if not named:
                present = ", ".join(sorted({p.name or "<unnamed>" for p in parts})) or "none"
                return f"no part named {name!r} (parts: {present})"
            first = None
            for part in named:
                reason = spec.reason(part)
                if reason is None:
                    break
                first = first or reason
            else:
                return f"part {name}: {first}"
        return None

    def describe(self) -> str:
        return "multipart " + ", ".join(f"{name} {spec.describe()}" for name, spec in self.parts)


_T = TypeVar("_T")


def _read_named(
    matcher: str,
    raw: Any,
    at: KeyPath,
    reading: Reading,
    read_one: Callable[[Any, KeyPath], _T | None],
) -> tuple[tuple[str, _T], ...] | None:
    """``{name: expected}`` with each expected value read; None when any is not valid."""
    if not isinstance(raw, dict) or not raw:
        example = "{user: ada}" if matcher == "form" else "{description: {contains: invoice}}"
        reading.out.add(at, f"{matcher} takes a mapping of field name to value, e.g. {example}")
        return None
    named = {str(name): expected for name, expected in raw.items()}
    before = len(reading.out)
    read = [(name, read_one(expected, (*at, name))) for name, expected in named.items()]
    if len(reading.out) != before:
        return None
    return tuple((name, one) for name, one in read if one is not None)


def _read_part(raw: Any, at: KeyPath, reading: Reading) -> PartSpec | None:
    is_part = isinstance(raw, dict) and any(
        key in _PART_KEYS or (key not in MATCHER_NAMES and key not in MODIFIERS) for key in raw
    )
    if not is_part:  # a literal or a matcher: on the part's body
        body = reading.pattern(raw, at)
        return None if body is None else PartSpec(body=body)
    before = len(reading.out)
    for key in raw:
        if key not in _PART_KEYS:
            reading.out.add(
                (*at, key),
                f"unknown part key {key!r}; a part takes {', '.join(_PART_KEYS)}, "
                "or a matcher for its body",
            )
    built = {key: reading.pattern(raw[key], (*at, key)) for key in _PART_KEYS if key in raw}
    return PartSpec(**built) if len(reading.out) == before else None
