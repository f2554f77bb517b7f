"""Requests checked against an OpenAPI operation: parameters and the JSON body.

Every schema is compiled once, when the document is loaded, into an openapi-schema-validator
validator (jsonschema underneath) that resolves ``$ref`` through one registry holding the whole
document; a request costs the parsing of its values and the validators' walk.

Parameters are read in the default styles: path and header ``simple``, query and cookie
``form`` (``explode`` either way), query arrays also ``spaceDelimited`` / ``pipeDelimited``, and
query objects also ``deepObject`` (``filter[status]=active&filter[tag]=x``, one level: the
specification leaves deeper nesting undefined, so such a request is not checked). Parameters
described by ``content`` are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote

import jsonschema_rs
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import (
    OAS30ReadValidator,
    OAS30WriteValidator,
    OAS31Validator,
    oas30_format_checker,
    oas31_format_checker,
)
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT202012

from mockserver.core.errors import MockServerError
from mockserver.core.request import NotJson, RequestView
from mockserver.core.respond import VIOLATION_ERROR

__all__ = [
    "MAX_VIOLATIONS",
    "VIOLATION_ERROR",
    "BodyRule",
    "Checked",
    "Compiler",
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
_BASE: Final = "urn:mockserver:openapi"
_TEMPLATE_PARAM: Final = re.compile(r"\{([^{}/]+)\}")
_INTEGER: Final = re.compile(r"-?\d+\Z")
_SEPARATORS: Final = {"spaceDelimited": " ", "pipeDelimited": "|"}


def is_json_type(media_type: str) -> bool:
    kind = media_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json") or kind == "*/*"


def pointer_of(parts: Sequence[object]) -> str:
    """A JSON pointer (RFC 6901) to the value at ``parts``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class Compiler:
    """Compiles the document's schemas into validators sharing one ``$ref`` registry."""

    def __init__(self, document: Mapping[str, Any], version31: bool) -> None:
        self.document = document
        self.version31 = version31
        specification = DRAFT202012 if version31 else DRAFT4
        resource: Resource[Any] = specification.create_resource(document)
        self.registry: Registry[Any] = Registry().with_resource(_BASE, resource)
        # One per schema and reading: a recorder checks every answer against the same few.
        self._validators: dict[tuple[str, bool], Checked] = {}

    def validator(self, pointer: str, *, response: bool = False) -> Checked:
        """The validator of the schema at ``pointer`` in the document; 3.0 reads ``readOnly``
        and ``writeOnly`` as a request (or, with ``response``, a response) should."""
        found = self._validators.get((pointer, response))
        if found is None:
            found = self._validators.setdefault(
                (pointer, response), Checked(self, pointer, response)
            )
        return found

    def full(self, pointer: str, response: bool) -> Any:
        schema = {"$ref": f"{_BASE}#{quote(pointer, safe='/~')}"}
        if self.version31:
            checker = oas31_format_checker
            return OAS31Validator(schema, registry=self.registry, format_checker=checker)
        cls = OAS30ReadValidator if response else OAS30WriteValidator
        return cls(schema, registry=self.registry, format_checker=oas30_format_checker)

    def fast(self, pointer: str) -> Any:
        """A compiled (Rust) validator of the schema with its ``$ref`` written out, or None
        when that cannot stand in for the OpenAPI one (a cycle, 3.0's readOnly/writeOnly or
        discriminator, a schema it refuses)."""
        try:
            schema = _inline(
                self.document, _follow(self.document, pointer), (), [0], self.version31
            )
        except _NoFastPath:
            return None
        try:
            if self.version31:
                return jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
            return jsonschema_rs.Draft4Validator(schema, validate_formats=True)
        except (ValueError, TypeError, jsonschema_rs.ValidationError):
            return None


class Checked:
    """A fast validator that only answers "valid", and the OpenAPI one that says why not.

    openapi-schema-validator walks a schema in Python: ~500 µs for a typical JSON body here,
    ten times the budget of a request. jsonschema-rs, on the same schema with its ``$ref``
    written out, decides validity in a few microseconds; only a value it rejects is walked
    again by the OpenAPI validator, whose verdict and messages are the ones that count (so a
    stricter fast path costs time, never a wrong answer).
    """

    __slots__ = ("_built", "compiler", "pointer", "response")

    def __init__(self, compiler: Compiler, pointer: str, response: bool) -> None:
        self.compiler = compiler
        self.pointer = pointer
        self.response = response
        # Both compiled on first use, once (two threads may both compile; either result is
        # the same): most operations of a large document are never called in a test run.
        self._built: tuple[Any, Any] | None = None

    def iter_errors(self, value: Any) -> Iterator[ValidationError]:
        built = self._built
        if built is None:
            compiler = self.compiler
            built = (compiler.fast(self.pointer), compiler.full(self.pointer, self.response))
            self._built = built
        fast, full = built
        if fast is not None and fast.is_valid(value):
            return iter(())
        return iter(full.iter_errors(value))


class _NoFastPath(MockServerError):
    pass


_MAX_INLINED_NODES: Final = 20_000
_OAS30_ONLY: Final = frozenset({"readOnly", "writeOnly", "discriminator"})


def _follow(document: Any, pointer: str) -> Any:
    value = document
    for raw in pointer.split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def _inline(
    document: Any, value: Any, refs: tuple[str, ...], count: list[int], version31: bool
) -> Any:
    """``value`` with every local ``$ref`` replaced by what it names (3.0's ``nullable`` as a
    type list); _NoFastPath where that cannot be done faithfully. The result may be stricter
    than the OpenAPI reading (that costs a second walk), never more lenient."""
    count[0] += 1
    if count[0] > _MAX_INLINED_NODES:
        raise _NoFastPath
    if isinstance(value, list):
        return [_inline(document, v, refs, count, version31) for v in value]
    if not isinstance(value, dict):
        return value
    ref = value.get("$ref")
    if isinstance(ref, str):
        if ref in refs or not ref.startswith("#"):
            raise _NoFastPath  # a recursive schema: the OpenAPI validator alone
        target = _inline(document, _follow(document, ref[1:]), (*refs, ref), count, version31)
        rest = {k: v for k, v in value.items() if k != "$ref"}
        if not version31 or not rest:  # 3.0 ignores what stands beside a $ref
            return target
        return {"allOf": [target, _inline(document, rest, refs, count, version31)]}
    if not version31 and _OAS30_ONLY & value.keys():
        raise _NoFastPath
    out = {k: _inline(document, v, refs, count, version31) for k, v in value.items()}
    # Not added to an enum: OpenAPI 3.0.3 says null must be listed there to be allowed.
    if not version31 and out.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


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
    validator: Any  # None: no schema to check against
    property_items: Mapping[str, str] = field(default_factory=dict)  # an array property's items


@dataclass(frozen=True, slots=True)
class BodyRule:
    required: bool
    media_types: tuple[str, ...]  # as the document writes them, lower-cased
    validators: Mapping[str, Any]  # JSON media type → validator


def _scalar(text: str, kind: str) -> Any:
    if kind == "integer" and _INTEGER.match(text):
        return int(text)
    if kind == "number":
        try:
            value = float(text)
        except ValueError:
            return text
        return int(value) if _INTEGER.match(text) else value
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

    __slots__ = ("_pattern", "body", "has_path", "label", "params", "path", "path_names")

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

    def __call__(self, view: RequestView) -> list[Violation]:
        found: list[Violation] = []
        path_values: dict[str, str] = {}
        if self.has_path:
            hit = self.path_pattern.match(view.path)
            path_values = dict(zip(self.path_names, hit.groups(), strict=False)) if hit else {}
        for param in self.params:
            if param.where == "path":
                text = path_values.get(param.name)
                values = [text] if text is not None else []
                query: Mapping[str, list[str]] = {}
            elif param.where in ("query", "cookie"):
                query = view.query if param.where == "query" else view.cookies
                values = query.get(param.name, [])
                if param.style == "deepObject":
                    prefix = param.name + "["
                    values = [""] if any(k.startswith(prefix) for k in query) else []
                elif param.kind == "object" and param.explode and param.style == "form":
                    values = [""] if any(k in query for k in param.properties) else []
            else:
                query = {}
                values = view.headers.get(param.name.lower(), [])
                if len(values) > 1:
                    values = [",".join(values)]
            if not values:
                if param.required:
                    found.append(_said(param, "a required parameter is missing"))
                continue
            if param.validator is None:
                continue
            value = _read(param, values, query)
            if value is _UNCHECKED:
                continue
            for error in param.validator.iter_errors(value):
                found.append(_said(param, error.message))
                break  # one reason a parameter is wrong is enough to fix it
        if self.body is not None:
            found.extend(_check_body(self.body, view))
        return found[:MAX_VIOLATIONS]


def _said(param: Param, message: str) -> Violation:
    return {"in": param.where, "name": param.name, "message": message}


def _body_said(pointer: str, message: str) -> Violation:
    return {"in": "body", "pointer": pointer, "message": message}


def _check_body(rule: BodyRule, view: RequestView) -> list[Violation]:
    if not view.body:
        return [_body_said("", "a request body is required")] if rule.required else []
    given = view.headers.get("content-type", [""])[0].split(";", 1)[0].strip().lower()
    media = media_for(given, rule.media_types)
    if media is None:
        accepted = ", ".join(rule.media_types)
        said = f"Content-Type {given}" if given else "a body without a Content-Type"
        return [_body_said("", f"{said} is not one the operation accepts ({accepted})")]
    validator = rule.validators.get(media)
    if validator is None:
        return []
    value = view.json()
    if isinstance(value, NotJson):
        return [_body_said("", value.reason)]
    errors = [c for e in validator.iter_errors(value) for c in closest(e)]
    errors.sort(key=lambda e: [str(p) for p in e.absolute_path])
    return [_body_said(pointer_of(e.absolute_path), e.message) for e in errors[:MAX_VIOLATIONS]]


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
