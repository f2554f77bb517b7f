"""Requests checked against an OpenAPI operation: parameters and the JSON body.

Every schema is compiled once (schemas.py) into the validator that says why a value breaks it
and a fast one that says only whether it fits; a request costs the reading of its values and
the fast verdicts, and only a request they reject is walked again for its messages.

Parameters are read in the default styles: path and header ``simple``, query and cookie
``form`` (``explode`` either way), query arrays also ``spaceDelimited`` / ``pipeDelimited``, and
query objects also ``deepObject`` (``filter[status]=active&filter[tag]=x``, one level: the
specification leaves deeper nesting undefined, so such a request is not checked). Parameters
described by ``content`` are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final

from jsonschema.exceptions import ValidationError

from mockserver.core.request import NotJson, RequestView
from mockserver.core.respond import VIOLATION_ERROR
from mockserver.formats.openapi.plain import INTEGER, TextTest, text_test
from mockserver.formats.openapi.schemas import Checked

__all__ = [
    "MAX_VIOLATIONS",
    "VIOLATION_ERROR",
    "BodyRule",
    "OperationCheck",
    "Param",
    "Violation",
    "closest",
    "is_json_type",
    "media_for",
    "pointer_of",
]

Violation = dict[str, str]
# Enough to fix a request by; a body broken everywhere does not make a report of thousands.
MAX_VIOLATIONS: Final = 20
_TEMPLATE_PARAM: Final = re.compile(r"\{([^{}/]+)\}")
_SEPARATORS: Final = {"spaceDelimited": " ", "pipeDelimited": "|"}
_SEEN_CONTENT_TYPES: Final = 64


def is_json_type(media_type: str) -> bool:
    kind = media_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json") or kind == "*/*"


def pointer_of(parts: Sequence[object]) -> str:
    """A JSON pointer (RFC 6901) to the value at ``parts``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter, with what reading its text needs: the style and the schema's types."""

    where: str  # path, query, header or cookie
    name: str
    required: bool
    style: str
    explode: bool
    kind: str  # the schema's type ("" when none or several)
    item_kind: str  # an array's item type
    properties: Mapping[str, str]  # an object's property types
    validator: Checked | None  # None: no schema to check against
    property_items: Mapping[str, str] = field(default_factory=dict)  # an array property's items


@dataclass(frozen=True, slots=True)
class BodyRule:
    required: bool
    media_types: tuple[str, ...]  # as the document writes them, lower-cased
    validators: Mapping[str, Checked]  # JSON media type → validator
    # Content-Type as sent → the entry of media_types it is (None: none) and that entry's
    # validator (None: its body is not checked), for the few a client sends; bounded, since a
    # client can send any number of distinct ones.
    seen: dict[str, tuple[str | None, Checked | None]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def media_of(self, content_type: str) -> tuple[str | None, Checked | None]:
        """The entry of ``media_types`` a request's Content-Type (as sent) is (or None), and
        its validator (or None)."""
        found = self.seen.get(content_type)
        if found is None:
            media = media_for(_bare(content_type), self.media_types)
            found = (media, None if media is None else self.validators.get(media))
            if len(self.seen) < _SEEN_CONTENT_TYPES:
                self.seen[content_type] = found
        return found


def _scalar(text: str, kind: str) -> Any:
    # int() refuses more than 4,300 digits (and int(inf) overflows): such a text stays text,
    # which the schema's type then refuses with a message rather than a 500.
    if kind == "integer" and INTEGER.match(text):
        try:
            return int(text)
        except ValueError:
            return text
    if kind == "number":
        try:
            value = float(text)
            return int(text) if INTEGER.match(text) else value
        except (ValueError, OverflowError):
            return text
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    return text


class _Unchecked:
    """A value in a serialisation the specification leaves undefined: not checked."""


_UNCHECKED: Final = _Unchecked()


def _deep_object(param: Param, query: Mapping[str, list[str]]) -> Any:
    """``name[prop]=v`` pairs → ``{prop: v}``; an array property from its repeated pairs."""
    prefix = param.name + "["
    found: dict[str, Any] = {}
    for key, values in query.items():
        if not key.startswith(prefix):
            continue
        prop = key[len(prefix) : -1] if key.endswith("]") else "["
        if "[" in prop or "]" in prop:
            return _UNCHECKED  # name[a][b] or a broken bracket: nesting is undefined (§4.8.12.4)
        kind = param.properties.get(prop, "")
        if kind == "array":
            found[prop] = [_scalar(v, param.property_items.get(prop, "")) for v in values]
        else:
            found[prop] = _scalar(values[0], kind)
    return found


def _read(param: Param, values: list[str], query: Mapping[str, list[str]]) -> Any:
    """The parameter's value from its text, in its style (OpenAPI 3 §4.8.12.4); ``query`` is
    the query's (or for a cookie, the cookies') names and values."""
    if param.style == "deepObject":
        return _deep_object(param, query)
    exploded_form = param.where in ("query", "cookie") and param.explode
    if param.kind == "array":
        if exploded_form and param.style == "form":
            parts = values
        else:
            parts = values[0].split(_SEPARATORS.get(param.style, ",")) if values[0] else []
        return [_scalar(p, param.item_kind) for p in parts]
    if param.kind == "object":
        if exploded_form:
            return {
                k: _scalar(query[k][0], kind) for k, kind in param.properties.items() if k in query
            }
        text = values[0]
        if param.explode:  # simple, exploded: k=v,k2=v2
            pairs = [p.partition("=")[::2] for p in text.split(",") if p]
        else:  # k,v,k2,v2
            items = text.split(",")
            pairs = list(zip(items[::2], items[1::2], strict=False))
        return {k: _scalar(v, param.properties.get(k, "")) for k, v in pairs}
    return _scalar(values[0], param.kind)


class OperationCheck:
    """Checks requests against one operation; call it with a request, get its violations."""

    __slots__ = (
        "_pattern",
        "_plan",
        "_quick",
        "_size",
        "body",
        "has_path",
        "label",
        "params",
        "path",
        "path_names",
    )

    def __init__(
        self,
        label: str,
        path: str,
        params: Sequence[Param],
        body: BodyRule | None,
        path_names: tuple[str, ...] = (),
    ) -> None:
        self.label = label  # "GET /pets/{petId}"
        self.path = path  # the document's path template
        self._pattern: re.Pattern[str] | None = None
        self.path_names = path_names  # the parameters' names, in that order
        self.params = tuple(params)
        self.has_path = any(p.where == "path" for p in self.params)
        self.body = body
        # What reading each parameter needs, worked out once rather than per request: a path
        # parameter's group (the last of a name written twice; -1 when absent), a header's
        # lower-cased name, and whether its text is one scalar (most are).
        self._plan = tuple(
            (
                p,
                max((i for i, n in enumerate(path_names) if n == p.name), default=-1),
                p.name.lower(),
                p.style != "deepObject" and p.kind not in ("array", "object"),
            )
            for p in self.params
        )
        self._size = path.count("/") + 1
        self._quick = _quick_plan(path, self._plan)

    @property
    def path_pattern(self) -> re.Pattern[str]:
        """The path template as a regex, one group per parameter in order; compiled on first
        use (a document of 1,000 operations need not compile 1,000 regexes to start)."""
        if self._pattern is None:
            pieces, last = [], 0
            for hit in _TEMPLATE_PARAM.finditer(self.path):
                pieces += [re.escape(self.path[last : hit.start()]), "([^/]+)"]
                last = hit.end()
            pieces.append(re.escape(self.path[last:]))
            self._pattern = re.compile("".join(pieces) + r"/?\Z")
        return self._pattern

    @property
    def entry(self) -> Callable[[RequestView], list[Violation]]:
        """This check as a stub calls it: for an operation whose only input is its body (most
        POSTs and PUTs), the body's check itself, without this object's frame in front."""
        if not self.params and self.body is not None:
            return partial(_check_body, self.body)
        return self

    def __call__(self, view: RequestView) -> list[Violation]:
        # Every parameter a whole path segment of a plain schema (or none): their texts' tests
        # say when they certainly fit; else (or on any doubt) the validators below say.
        quick = self._quick
        if quick is not None:
            literals, tests = quick
            parts = view.path.split("/") if tests else ()
            if not tests or len(parts) == self._size:  # a trailing slash: the regex reads it
                for at, text in literals:
                    if parts[at] != text:
                        break
                else:
                    for at, test in tests:
                        if not test(parts[at]):
                            break
                    else:
                        return _check_body(self.body, view) if self.body is not None else []
        found: list[Violation] = []
        groups: tuple[str, ...] = ()
        if self.has_path:
            hit = (self._pattern or self.path_pattern).match(view.path)
            if hit is not None:
                groups = hit.groups()
        query: Mapping[str, list[str]] = _NO_QUERY
        for param, slot, lowered, scalar in self._plan:
            where = param.where
            if where == "path":
                values = [groups[slot]] if 0 <= slot < len(groups) else []
            elif where == "header":
                values = view.headers.get(lowered, [])
                if len(values) > 1:
                    values = [",".join(values)]
            else:
                query = view.query if where == "query" else view.cookies
                values = _form_values(param, query)
            if not values:
                if param.required:
                    found.append(_said(param, "a required parameter is missing"))
                continue
            validator = param.validator
            if validator is None:
                continue
            if scalar:
                value = _scalar(values[0], param.kind)
            else:
                value = _read(param, values, query if where in ("query", "cookie") else _NO_QUERY)
                if value is _UNCHECKED:
                    continue
            if validator.accepts(value):
                continue
            for error in validator.reasons(value):
                found.append(_said(param, error.message))
                break  # one reason a parameter is wrong is enough to fix it
        if self.body is not None:
            found.extend(_check_body(self.body, view))
        return found[:MAX_VIOLATIONS]


_NO_QUERY: Final[Mapping[str, list[str]]] = {}


def _quick_plan(
    path: str, plan: Sequence[tuple[Param, int, str, bool]]
) -> tuple[tuple[tuple[int, str], ...], tuple[tuple[int, TextTest], ...]] | None:
    """The literal segments of the path (index, text) and each parameter's (index, text test),
    when every parameter is a whole path segment with a plain scalar schema (most path
    parameters are; none at all is the empty plan: nothing to read), else None."""
    if not plan:
        return (), ()
    segments = path.split("/")
    # The literal segments: a request's path must be the template's for its texts to be the
    # parameters (the regex of path_pattern says the same); the first is "" before the "/".
    # Compared with != rather than called as str.__eq__: a call cost a served GET its share.
    literals = tuple((i, s) for i, s in enumerate(segments) if i and "{" not in s and "}" not in s)
    tests: list[tuple[int, TextTest]] = []
    for param, _, _, scalar in plan:
        validator = param.validator
        wanted = "{" + param.name + "}"
        at = [i for i, s in enumerate(segments) if s == wanted]
        usable = param.where == "path" and scalar and len(at) == 1
        test = text_test(validator, param.kind) if usable and validator is not None else None
        if test is None:
            return None
        tests.append((at[0], test))
    if len(literals) + len(tests) != len(segments) - 1:
        return None  # a segment of parameters and text ("{stem}.{ext}"): the regex reads it
    return literals, tuple(tests)


def _form_values(param: Param, query: Mapping[str, list[str]]) -> list[str]:
    """A query or cookie parameter's texts: [""] for an object spread over several names
    (deepObject, or form exploded), which _read gathers."""
    if param.style == "deepObject":
        prefix = param.name + "["
        return [""] if any(k.startswith(prefix) for k in query) else []
    if param.kind == "object" and param.explode and param.style == "form":
        return [""] if any(k in query for k in param.properties) else []
    return query.get(param.name, [])


def _said(param: Param, message: str) -> Violation:
    return {"in": param.where, "name": param.name, "message": message}


def _body_said(pointer: str, message: str) -> Violation:
    return {"in": "body", "pointer": pointer, "message": message}


def _check_body(rule: BodyRule, view: RequestView) -> list[Violation]:
    """The body's violations. Every request with a body to an operation that takes one comes
    here (a served document's POST and PUT), so its frames are few: each costs a served
    request more than its hot-loop time (benchmarks/RESULTS.md, issue 18)."""
    if not view.body:
        return [_body_said("", "a request body is required")] if rule.required else []
    content_type = view.content_type
    media, validator = rule.seen.get(content_type) or rule.media_of(content_type)
    if media is None:
        given = _bare(content_type)
        accepted = ", ".join(rule.media_types)
        said = f"Content-Type {given}" if given else "a body without a Content-Type"
        return [_body_said("", f"{said} is not one the operation accepts ({accepted})")]
    if validator is None:
        return []
    value = view.json()
    if isinstance(value, NotJson):
        return [_body_said("", value.reason)]
    verdict = validator.verdict
    if verdict(value) if verdict is not None else validator.accepts(value):
        return []
    errors = [c for e in validator.reasons(value) for c in closest(e)]
    errors.sort(key=lambda e: [str(p) for p in e.absolute_path])
    return [_body_said(pointer_of(e.absolute_path), e.message) for e in errors[:MAX_VIOLATIONS]]


def _bare(content_type: str) -> str:
    """A Content-Type's media type, without parameters, lower-cased."""
    return content_type.split(";", 1)[0].strip().lower()


def closest(error: ValidationError) -> list[ValidationError]:
    """A oneOf/anyOf miss says only "not valid under any of the given schemas": the reasons of
    the branch that came closest (fewest errors) say what to change."""
    if not error.context:
        return [error]
    branches: dict[object, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.schema_path[0] if sub.schema_path else 0, []).append(sub)
    nearest = min(branches.values(), key=len)
    return [c for sub in nearest for c in closest(sub)]


def media_for(given: str, accepted: Sequence[str]) -> str | None:
    """The entry of ``accepted`` (media types or ranges, as written) that ``given`` is."""
    for media in accepted:
        if media.split(";", 1)[0].strip().lower() == given:
            return media
    major = given.split("/", 1)[0]
    for media in accepted:
        kind = media.split(";", 1)[0].strip().lower()
        if kind == "*/*" or (kind.endswith("/*") and kind[:-2] == major):
            return media
    return None


def route(
    checks: Sequence[tuple[str, re.Pattern[str], OperationCheck]],
) -> Callable[[RequestView], list[Violation]]:
    """One check for every request (``serve --openapi``): the operation whose method and path
    template the request fits (literal paths before templates, as OpenAPI orders them), or a
    violation when the document has none."""
    ordered = sorted(checks, key=lambda c: "([^/]+)" in c[1].pattern)

    def check(view: RequestView) -> list[Violation]:
        # HEAD is answered by GET stubs (RFC 9110 §9.3.2), so a GET operation describes it too.
        wanted = (view.method, "GET") if view.method == "HEAD" else (view.method,)
        for asked in wanted:
            for method, pattern, operation in ordered:
                if method == asked and pattern.match(view.path):
                    return operation(view)
        return [
            {
                "in": "path",
                "name": view.path,
                "message": f"the document has no operation {view.method} {view.path}",
            }
        ]

    return check
