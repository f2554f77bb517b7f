"""The document's schemas compiled into validators, once each, sharing one ``$ref`` registry.

Two validators per schema: openapi-schema-validator's (jsonschema underneath), whose verdict
and messages are the ones that count, and jsonschema-rs's on the same schema with its ``$ref``
written out, which decides in a microsecond or so that a value fits. A request pays for the
first only when the second rejects it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import cache, partial
from typing import Any, Final
from urllib.parse import quote

import jsonschema_rs
from jsonschema import FormatChecker
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

__all__ = ["INT_FORMATS", "Checked", "Compiler"]

_BASE: Final = "urn:mockserver:openapi"
# The integer formats OpenAPI defines, as ranges: jsonschema-rs does not know them (it would
# pass 2**63 as an int64), openapi-schema-validator's format checker does.
INT_FORMATS: Final = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
# Keywords no value can break: a schema of one ``type`` and these says only that type.
_ANNOTATIONS: Final = frozenset(
    {"description", "title", "example", "examples", "deprecated", "default", "$comment"}
)


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
                formats = _formats(oas31_format_checker)
                return jsonschema_rs.Draft202012Validator(
                    schema, validate_formats=True, formats=formats
                )
            formats = _formats(oas30_format_checker)
            return jsonschema_rs.Draft4Validator(schema, validate_formats=True, formats=formats)
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

    __slots__ = ("_built", "compiler", "pointer", "response", "verdict")

    def __init__(self, compiler: Compiler, pointer: str, response: bool) -> None:
        self.compiler = compiler
        self.pointer = pointer
        self.response = response
        # Both compiled on first use, once (two threads may both compile; either result is
        # the same): most operations of a large document are never called in a test run.
        self._built: tuple[Any, Any] | None = None
        # The fast validator's is_valid, itself, once built (None before): what ``accepts``
        # calls, and what a caller on a request's path may call without that frame.
        self.verdict: Callable[[Any], bool] | None = None

    def _build(self) -> tuple[Any, Any]:
        compiler = self.compiler
        built = (compiler.fast(self.pointer), compiler.full(self.pointer, self.response))
        self._built = built
        self.verdict = _unsure if built[0] is None else built[0].is_valid
        return built

    def accepts(self, value: Any) -> bool:
        """The fast verdict alone: True when ``value`` certainly fits; False when it may not
        (``reasons`` then says why, or nothing when the OpenAPI reading lets it pass)."""
        verdict = self.verdict
        if verdict is None:
            self._build()
            verdict = self.verdict
            assert verdict is not None  # _build sets it
        return verdict(value)

    def reasons(self, value: Any) -> Iterator[ValidationError]:
        """The OpenAPI validator's walk of ``value``, without asking the fast one first."""
        return iter((self._built or self._build())[1].iter_errors(value))

    def iter_errors(self, value: Any) -> Iterator[ValidationError]:
        return iter(()) if self.accepts(value) else self.reasons(value)

    def plain(self) -> tuple[str, str] | None:
        """``(type, format)`` when the schema, written in place, says only that its value is
        of one scalar type (an integer one perhaps of ``int32``/``int64``): annotations and
        ``x-`` extensions aside, no other keyword. None for anything else (a ``$ref`` too)."""
        try:
            schema = _follow(self.compiler.document, self.pointer)
        except (LookupError, ValueError, TypeError):
            return None
        if not isinstance(schema, dict):
            return None
        kind, form = schema.get("type"), schema.get("format", "")
        rest = {k for k in schema if k not in ("type", "format") and not str(k).startswith("x-")}
        if kind not in ("integer", "string", "boolean") or not rest <= _ANNOTATIONS:
            return None
        if form != "" and (kind != "integer" or form not in INT_FORMATS):
            return None
        return kind, form


@cache
def _formats(checker: FormatChecker) -> dict[str, Callable[[str], bool]]:
    """The OpenAPI checker's own test of each format it knows, for jsonschema-rs to call on a
    string: its draft knows fewer (Draft 4 has no ``uuid``) and would pass what they refuse.
    (It calls them on strings only: int32/int64 are bounds, see _inline.)"""
    return {name: partial(checker.conforms, format=name) for name in checker.checkers}


def _unsure(value: Any) -> bool:
    """The verdict where no fast validator could be compiled: walk every value."""
    return False


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
    bounds = INT_FORMATS.get(out["format"]) if isinstance(out.get("format"), str) else None
    if bounds is not None:  # as bounds (stricter for a float: that costs a walk, no verdict)
        return {"allOf": [out, {"minimum": bounds[0], "maximum": bounds[1]}]}
    return out
