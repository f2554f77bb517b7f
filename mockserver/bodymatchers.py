"""Body matchers for XML, HTML-form and multipart bodies: ``xpath``, ``form``, ``multipart``.

Each reads the body once per request (``RequestView.reading``) and then matches values with
the ordinary matchers of patterns.py, so a literal, ``{regex: ...}`` or ``{contains: ...}``
works wherever a value is expected. They register themselves in patterns.py's registry when
this module is imported (stubspec.py does), which keeps patterns.py free of an import cycle.

XML is parsed by defusedxml with DTDs, entities and external references forbidden: such a
body is a non-match with its reason, never a file read, a network call or an expansion.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl
from xml.etree.ElementTree import ElementTree, TreeBuilder

from .budget import BudgetExceeded, clock
from .patterns import (
    MATCHER_NAMES,
    ErrorSink,
    KeyPath,
    Pattern,
    Value,
    parse_pattern,
    register_matcher,
    show,
)

__all__ = ["Form", "Multipart", "Part", "XPath"]

# Bodies are parsed in slices of this many bytes, with a look at the request's budget between
# two: parsing a 10 MB body stops at the budget like a long JSON walk does.
_SLICE: Final = 64 * 1024
# A multipart body with more parts than this, or a part with more header lines, is refused
# (no browser or HTTP client sends that many; a hostile one would cost a Python object each).
MAX_PARTS: Final = 1000
MAX_PART_HEADERS: Final = 16
FORM_TYPE: Final = "application/x-www-form-urlencoded"
MULTIPART_TYPE: Final = "multipart/form-data"
_PART_KEYS: Final = ("body", "filename", "content_type")


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A body that could not be read as the matcher needs, and why."""

    reason: str


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a multipart/form-data body."""

    name: str | None
    filename: str | None
    content_type: str | None
    body: bytes


def _read(value: Value, kind: str, read: Callable[[bytes, str | None], Any]) -> Any:
    """The value read by ``read(bytes, content type)``: a request body once per request."""
    request = value.request
    if request is None:
        text = value.text
        return read(b"" if text is None else text.encode(), None)
    return request.reading(kind, lambda r: read(r.body, _content_type(r.headers)))


def _content_type(headers: Mapping[str, list[str]]) -> str | None:
    values = headers.get("content-type")
    return values[0] if values else None


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _check_budget() -> None:
    if clock().left() <= 0:
        raise BudgetExceeded


def _slices(data: bytes) -> Iterable[bytes]:
    for start in range(0, len(data), _SLICE):
        _check_budget()
        yield data[start : start + _SLICE]


def _values_reason(values: list[str], pattern: Pattern) -> str | None:
    """None when some value (or absence, for no value) satisfies ``pattern``, else the first
    value's reason: several values under one name are read as query values are."""
    if not values:
        return pattern.check(Value(None))
    first = None
    for text in values:
        reason = pattern.check(Value(text))
        if reason is None:
            return None
        first = first or reason
    return first


# ---------------------------------------------------------------------------------------------
# xpath


@dataclass(frozen=True, slots=True)
class _Xml:
    """An XML body as elementpath walks it: its node tree, and how many elements it has."""

    tree: Any
    elements: int


# elementpath is pure Python and cannot be interrupted: its node tree and each evaluation cost
# about this much per element (measured here: 15 and 10-30 us on 20,000 elements). What the
# budget left cannot cover is refused up front, as a spent budget ("match budget exceeded").
_TREE_S_PER_ELEMENT: Final = 15e-6
_SELECT_S_PER_ELEMENT: Final = 30e-6


def _afford(seconds: float) -> None:
    if clock().left() < seconds:
        raise BudgetExceeded


def _parse_xml(data: bytes, content_type: str | None) -> _Xml | Unreadable:
    import elementpath
    from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
    from defusedxml.ElementTree import DefusedXMLParser, ParseError

    if not data.strip():
        return Unreadable("the body is empty, expected XML")
    # The C TreeBuilder: elementpath reads only the stdlib's own Element class as a tree.
    parser = DefusedXMLParser(
        target=TreeBuilder(), forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    refused = "DTDs and entities are refused (never expanded or fetched), so it counts as no match"
    try:
        for piece in _slices(data):
            parser.feed(piece)
        root = parser.close()
    except DTDForbidden as exc:
        return Unreadable(f"the XML body has a DTD (<!DOCTYPE {exc.name} ...>): {refused}")
    except EntitiesForbidden as exc:
        return Unreadable(f"the XML body declares the entity {exc.name!r}: {refused}")
    except ExternalReferenceForbidden as exc:
        return Unreadable(f"the XML body refers to {exc.sysid!r}: {refused}")
    except ParseError as exc:
        return Unreadable(f"the body is not XML ({exc})")
    elements = sum(1 for _ in root.iter())
    _afford(elements * _TREE_S_PER_ELEMENT)
    return _Xml(elementpath.get_node_tree(ElementTree(root)), elements)


def _item_text(item: Any) -> str:
    """An XPath result as text: an element's string value, an attribute's or a text node's
    value, a number without a needless ``.0``, a boolean as ``true``/``false``."""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, float) and item.is_integer():
        return str(int(item))
    itertext = getattr(item, "itertext", None)
    if itertext is not None:
        return "".join(itertext())
    return str(item)


class XPath(Pattern):
    """``{"/order/item/@sku": expected}``: some node the XPath selects must match."""

    name = "xpath"
    __slots__ = ("checks",)

    def __init__(self, checks: tuple[tuple[str, Any, Pattern], ...]) -> None:
        self.checks = checks  # (XPath text, compiled selector, matcher)

    def check(self, value: Value) -> str | None:
        xml = _read(value, "xml", _parse_xml)
        if isinstance(xml, Unreadable):
            return xml.reason
        clk = clock()
        for text, selector, matcher in self.checks:
            first: str | None = None
            _afford(xml.elements * _SELECT_S_PER_ELEMENT)
            try:
                found = selector.iter_select(xml.tree)
                for item in found if isinstance(found, Iterable) else (found,):
                    clk.tick()
                    reason = matcher.check(Value(_item_text(item)))
                    if reason is None:
                        break
                    first = first or reason
                else:
                    if first is None:  # selects nothing
                        reason = matcher.check(Value(None))
                        if reason:
                            return f"{text} selects nothing: {reason}"
                        continue
                    return f"{text}: {first}"
            except RecursionError:
                return f"{text}: the XML body is nested too deeply to evaluate"
        return None

    def describe(self) -> str:
        return "xpath " + ", ".join(f"{text} {m.describe()}" for text, _, m in self.checks)


@register_matcher("xpath")
def _build_xpath(raw: Any, at: KeyPath, errors: ErrorSink, ci: bool) -> Pattern | None:
    import elementpath  # on first use: ~0.2 s of imports that most stub sets never need

    if isinstance(raw, str):
        raw = {raw: {"absent": False}}  # a bare path: something must be there
    if not isinstance(raw, dict) or not raw:
        errors.append((at, 'xpath takes a mapping of XPath to value, e.g. {"/order/@id": "7"}'))
        return None
    namespaces = raw.get("namespaces", {})
    if not isinstance(namespaces, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in namespaces.items()
    ):
        errors.append(((*at, "namespaces"), "namespaces maps a prefix to a URI, e.g. {s: urn:s}"))
        return None
    paths = {k: v for k, v in raw.items() if k != "namespaces"}
    if not paths:
        errors.append((at, "xpath needs at least one XPath beside namespaces"))
        return None
    before = len(errors)
    checks: list[tuple[str, Any, Pattern]] = []
    for path_text, expected in paths.items():
        where = (*at, path_text)
        try:
            selector = elementpath.Selector(str(path_text), namespaces=namespaces or None)
        except (elementpath.ElementPathError, SyntaxError, ValueError) as exc:
            errors.append((where, f"invalid XPath {path_text!r}: {str(exc).splitlines()[0]}"))
            continue
        matcher = parse_pattern(expected, where, errors)
        if matcher is not None:
            checks.append((str(path_text), selector, matcher))
    return XPath(tuple(checks)) if len(errors) == before else None


# ---------------------------------------------------------------------------------------------
# form and multipart: values by field or part name


def _parse_form(data: bytes, content_type: str | None) -> dict[str, list[str]] | Unreadable:
    if content_type is not None and _media_type(content_type) != FORM_TYPE:
        return Unreadable(
            f"the body is not a form ({FORM_TYPE}), its Content-Type is {show(content_type)}"
        )
    _check_budget()
    fields: dict[str, list[str]] = {}
    for name, text in parse_qsl(data.decode("utf-8", errors="replace"), keep_blank_values=True):
        fields.setdefault(name, []).append(text)
    return fields


def _parse_multipart(data: bytes, content_type: str | None) -> list[Part] | Unreadable:
    import multipart

    if content_type is None or _media_type(content_type) != MULTIPART_TYPE:
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
            for piece in [*_slices(data), b""]:
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
        return Unreadable(f"the multipart body is refused: {exc} (at most {MAX_PARTS} parts)")
    except multipart.MultipartError as exc:
        return Unreadable(f"the multipart body is malformed ({exc})")
    return parts


class Form(Pattern):
    """``{name: expected}`` over an application/x-www-form-urlencoded body."""

    name = "form"
    __slots__ = ("fields",)

    def __init__(self, fields: tuple[tuple[str, Pattern], ...]) -> None:
        self.fields = fields

    def check(self, value: Value) -> str | None:
        fields = _read(value, "form", _parse_form)
        if isinstance(fields, Unreadable):
            return fields.reason
        for name, pattern in self.fields:
            reason = _values_reason(fields.get(name, []), pattern)
            if reason is not None:
                return f"form field {name}: {reason}"
        return None

    def describe(self) -> str:
        return "form " + ", ".join(f"{name} {p.describe()}" for name, p in self.fields)


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


class Multipart(Pattern):
    """``{name: expected}`` over a multipart/form-data body: a part of that name must match."""

    name = "multipart"
    __slots__ = ("parts",)

    def __init__(self, parts: tuple[tuple[str, PartSpec], ...]) -> None:
        self.parts = parts

    def check(self, value: Value) -> str | None:
        parts = _read(value, "multipart", _parse_multipart)
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


def _named_matchers(
    matcher: str, raw: Any, at: KeyPath, errors: ErrorSink
) -> dict[str, Any] | None:
    if not isinstance(raw, dict) or not raw:
        example = "{user: ada}" if matcher == "form" else "{description: {contains: invoice}}"
        errors.append((at, f"{matcher} takes a mapping of field name to value, e.g. {example}"))
        return None
    return {str(name): expected for name, expected in raw.items()}


@register_matcher("form")
def _build_form(raw: Any, at: KeyPath, errors: ErrorSink, ci: bool) -> Pattern | None:
    named = _named_matchers("form", raw, at, errors)
    if named is None:
        return None
    before = len(errors)
    fields = [
        (name, parse_pattern(expected, (*at, name), errors)) for name, expected in named.items()
    ]
    if len(errors) != before:
        return None
    return Form(tuple((name, p) for name, p in fields if p is not None))


def _build_part(raw: Any, at: KeyPath, errors: ErrorSink) -> PartSpec | None:
    is_part = isinstance(raw, dict) and any(
        key in _PART_KEYS or key not in (*MATCHER_NAMES, "case_insensitive") for key in raw
    )
    if not is_part:  # a literal or a matcher: on the part's body
        body = parse_pattern(raw, at, errors)
        return None if body is None else PartSpec(body=body)
    before = len(errors)
    for key in raw:
        if key not in _PART_KEYS:
            errors.append(
                (
                    (*at, key),
                    f"unknown part key {key!r}; a part takes {', '.join(_PART_KEYS)}, "
                    "or a matcher for its body",
                )
            )
    built = {key: parse_pattern(raw[key], (*at, key), errors) for key in _PART_KEYS if key in raw}
    return PartSpec(**built) if len(errors) == before else None


@register_matcher("multipart")
def _build_multipart(raw: Any, at: KeyPath, errors: ErrorSink, ci: bool) -> Pattern | None:
    named = _named_matchers("multipart", raw, at, errors)
    if named is None:
        return None
    before = len(errors)
    parts = [(name, _build_part(expected, (*at, name), errors)) for name, expected in named.items()]
    if len(errors) != before:
        return None
    return Multipart(tuple((name, spec) for name, spec in parts if spec is not None))
