"""An OpenAPI 3.0 / 3.1 document → its operations, checked and compiled, and our own stubs.

``mockserver serve api.yaml`` reads the document as one service (named after the file) with a
stub per operation: the operation's first 2xx response (else ``default``), its body the first
example of the first JSON media type, else one generated from the schema (oasgenerate.py).
Each stub carries its operation's request check (oasvalidate.py), so everything else (journal,
near misses, admin API, negotiation, ETags) treats them as the stubs they are. Anything that
keeps the document from being served is a located problem (file, line, JSON pointer), and
nothing is half-loaded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from mockserver.core.errors import KeyPath, Problem, Problems, StubFileError
from mockserver.core.model import ServiceSpec, Stub
from mockserver.core.request import RequestView
from mockserver.formats.openapi.generate import generate
from mockserver.formats.openapi.schemas import Compiler
from mockserver.formats.openapi.validate import (
    BodyRule,
    OperationCheck,
    Param,
    Violation,
    is_json_type,
    pointer_of,
    route,
)
from mockserver.stubfiles.documents import Marks, read_document
from mockserver.stubfiles.stubfile import parse_service

__all__ = [
    "METHODS",
    "OpenApiDocument",
    "Operation",
    "deref",
    "is_openapi",
    "load_openapi",
    "openapi_check",
    "read_openapi",
]

METHODS: Final = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Headers OpenAPI says a parameter of that name does not describe (§4.8.12.1).
_IGNORED_HEADERS: Final = frozenset({"accept", "content-type", "authorization"})
_PARAM: Final = re.compile(r"\{([^{}/]+)\}")
_STYLES: Final = ("simple", "form", "spaceDelimited", "pipeDelimited", "deepObject")
_SAFE_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:~-]{0,127}\Z")


def is_openapi(data: Any) -> bool:
    """The parsed file is an OpenAPI document (top-level ``openapi:``, or Swagger 2's
    ``swagger:``, refused with a hint), not a stub file."""
    return (
        isinstance(data, dict) and ("openapi" in data or "swagger" in data) and "stubs" not in data
    )


@dataclass(frozen=True, slots=True)
class Operation:
    method: str  # upper case
    path: str  # as the document writes it
    at: KeyPath  # where it sits in the document
    spec: Mapping[str, Any]
    check: OperationCheck


@dataclass(frozen=True, slots=True)
class OpenApiDocument:
    source: str
    data: Mapping[str, Any]
    compiler: Compiler
    operations: tuple[Operation, ...]

    def resolve(self, ref: str) -> Any:
        return _follow(self.data, ref)

    def routes(self) -> list[tuple[str, re.Pattern[str], OperationCheck]]:
        return [(op.method, op.check.path_pattern, op.check) for op in self.operations]


def _located(source: str, marks: Marks | None) -> Problems:
    """The problems of an OpenAPI document, each keyed by its JSON pointer."""
    return Problems(source, marks, key_of=lambda at: "#" + pointer_of(at), stubs=False)


def _follow(data: Any, ref: str) -> Any:
    """The value a local ``$ref`` names; KeyError when it names nothing."""
    if not ref.startswith("#"):
        raise KeyError(ref)
    value = data
    for raw in ref[1:].split("/")[1:] if ref != "#" else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise KeyError(ref)
    return value


def _refs(value: Any, at: KeyPath) -> Iterator[tuple[KeyPath, Any]]:
    stack = [(at, value)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, dict):
            if "$ref" in node:
                yield (*where, "$ref"), node["$ref"]
            stack.extend(((*where, k), v) for k, v in node.items() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(((*where, i), v) for i, v in enumerate(node))


def deref(data: Any, value: Any, at: KeyPath) -> tuple[Any, KeyPath]:
    """A Reference Object followed (a few hops) to what it names, with where that sits."""
    for _ in range(8):
        if not (isinstance(value, dict) and isinstance(value.get("$ref"), str)):
            break
        ref = value["$ref"]
        value = _follow(data, ref)
        at = tuple(p.replace("~1", "/").replace("~0", "~") for p in ref[1:].split("/")[1:])
    return value, at


def read_openapi(data: Any, source: str, marks: Marks | None = None) -> OpenApiDocument:
    """Check and compile a parsed OpenAPI document.

    Raises:
        StubFileError: every problem that keeps it from being served, located.
    """
    out = _located(source, marks)
    version = data.get("openapi")
    if isinstance(version, float):  # `openapi: 3.1` unquoted reads as a number
        version = str(version)
    if "openapi" not in data:
        out.add(
            ("swagger",),
            f"Swagger {data.get('swagger')} is not served; convert it to OpenAPI 3 first "
            "(e.g. `npx swagger2openapi`)",
        )
        raise StubFileError(out.items)
    if not isinstance(version, str) or not re.match(r"3\.[01](\.\d+)?\Z", version):
        out.add(("openapi",), f"mockserver serves OpenAPI 3.0 and 3.1 documents, got {version!r}")
        raise StubFileError(out.items)
    for at, ref in _refs(data, ()):
        if not isinstance(ref, str) or not ref.startswith("#"):
            out.add(at, f"$ref {ref!r} points outside the document; bundle it into one file")
            continue
        try:
            _follow(data, ref)
        except KeyError:
            out.add(at, f"$ref {ref!r} names nothing in the document")
    paths = data.get("paths")
    if not isinstance(paths, dict) or not paths:
        out.add(("paths",) if "paths" in data else (), "the document has no paths to serve")
    if out.items:
        raise StubFileError(out.items)
    compiler = Compiler(data, version.startswith("3.1"))
    operations: list[Operation] = []
    for path, raw_item in paths.items():
        if isinstance(path, str) and path.startswith("x-"):
            continue  # a specification extension, not a path
        if not isinstance(path, str) or not path.startswith("/"):
            out.add(("paths", str(path)), f"a path starts with '/', got {path!r}")
            continue
        item, item_at = deref(data, raw_item, ("paths", path))
        if not isinstance(item, dict):
            continue
        for method in METHODS:
            if isinstance(item.get(method), dict):
                op = _operation(data, compiler, item, item_at, path, method, out)
                if op is not None:
                    operations.append(op)
    if not operations and not out.items:
        out.add(("paths",), "the document has no operations to serve")
    if out.items:
        raise StubFileError(out.items)
    return OpenApiDocument(source, data, compiler, tuple(operations))


def _operation(
    data: Any,
    compiler: Compiler,
    item: Mapping[str, Any],
    item_at: KeyPath,
    path: str,
    method: str,
    out: Problems,
) -> Operation | None:
    at = (*item_at, method)
    spec = item[method]
    if isinstance(spec.get("responses"), dict):
        # YAML reads an unquoted `200:` as a number; JSON pointers and lookups need the text.
        spec["responses"] = {str(k): v for k, v in spec["responses"].items()}
    merged: dict[tuple[str, str], tuple[Any, KeyPath]] = {}
    for owner, owner_at in ((item, item_at), (spec, at)):  # the operation's override the path's
        for i, raw in enumerate(owner.get("parameters") or []):
            param, param_at = deref(data, raw, (*owner_at, "parameters", i))
            if isinstance(param, dict) and isinstance(param.get("name"), str):
                merged[(str(param.get("in")), param["name"])] = (param, param_at)
    path_names = tuple(_PARAM.findall(path))
    params = []
    for (where, name), (param, param_at) in merged.items():
        if where == "path" and name not in path_names:
            out.add(param_at, f"path parameter {name!r} is not in the path {path}")
            continue
        if where in ("path", "query", "header", "cookie") and not (
            where == "header" and name.lower() in _IGNORED_HEADERS
        ):
            params.append(_param(data, compiler, param, param_at, where, name))
    check = OperationCheck(
        f"{method.upper()} {path}",
        path,
        params,
        _body_rule(data, compiler, spec.get("requestBody"), (*at, "requestBody")),
        path_names,
    )
    return Operation(method.upper(), path, at, spec, check)


def _schema_type(data: Any, schema: Any) -> str:
    schema, _ = deref(data, schema, ())
    if not isinstance(schema, dict):
        return ""
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "")
    if not kind and "items" in schema:
        kind = "array"
    return kind if isinstance(kind, str) else ""


def _param(
    data: Any, compiler: Compiler, param: Mapping[str, Any], at: KeyPath, where: str, name: str
) -> Param:
    style = param.get("style") or ("form" if where in ("query", "cookie") else "simple")
    explode = param.get("explode", style == "form")
    schema = param.get("schema")
    checked = (
        isinstance(schema, dict)
        and style in _STYLES
        and (style != "deepObject" or where == "query")  # the only place it is defined
    )
    resolved, _ = deref(data, schema, ())
    props = resolved.get("properties") if isinstance(resolved, dict) else None
    props = props if isinstance(props, dict) else {}
    return Param(
        where,
        name,
        bool(param.get("required")) or where == "path",
        str(style),
        bool(explode),
        _schema_type(data, schema),
        _schema_type(data, resolved.get("items")) if isinstance(resolved, dict) else "",
        {str(k): _schema_type(data, v) for k, v in props.items()},
        compiler.validator(pointer_of((*at, "schema"))) if checked and schema else None,
        {str(k): _items_type(data, v) for k, v in props.items()},
    )


def _items_type(data: Any, schema: Any) -> str:
    resolved, _ = deref(data, schema, ())
    return _schema_type(data, resolved.get("items")) if isinstance(resolved, dict) else ""


def _body_rule(data: Any, compiler: Compiler, raw: Any, at: KeyPath) -> BodyRule | None:
    body, at = deref(data, raw, at)
    if not isinstance(body, dict) or not isinstance(body.get("content"), dict):
        return None
    validators = {}
    for media, entry in body["content"].items():
        if (
            is_json_type(media)
            and isinstance(entry, dict)
            and isinstance(entry.get("schema"), dict)
        ):
            pointer = pointer_of((*at, "content", media, "schema"))
            validators[media.lower()] = compiler.validator(pointer)
    types = tuple(str(m).lower() for m in body["content"])
    return BodyRule(bool(body.get("required")), types, validators)


def _chosen_response(data: Any, spec: Mapping[str, Any], at: KeyPath) -> tuple[int, Any, KeyPath]:
    """The operation's first 2xx response (``2XX`` reads as 200), else ``default`` as 200."""
    found = spec.get("responses")
    responses: Mapping[str, Any] = found if isinstance(found, dict) else {}
    for key in [*(k for k in responses if str(k)[:1] == "2"), "default"]:
        if key in responses:
            status = int(key) if str(key).isdigit() else 200
            response, where = deref(data, responses[key], (*at, "responses", str(key)))
            return status, response, where
    raise LookupError


def _example(data: Any, media: Mapping[str, Any], at: KeyPath) -> Any:
    if "example" in media:
        return media["example"]
    examples = media.get("examples")
    if isinstance(examples, dict) and examples:
        first, _ = deref(data, next(iter(examples.values())), ())
        if isinstance(first, dict) and "value" in first:
            return first["value"]
    schema = media.get("schema")
    return generate(schema, lambda ref: _follow(data, ref), pointer_of((*at, "schema")))


def _stub_definition(doc: OpenApiDocument, op: Operation, out: Problems) -> dict[str, Any] | None:
    data = doc.data
    try:
        status, response, where = _chosen_response(data, op.spec, op.at)
    except LookupError:
        out.add((*op.at, "responses"), "no 2xx or default response to serve")
        return None
    answer: dict[str, Any] = {"status": status}
    content = response.get("content") if isinstance(response, dict) else None
    if isinstance(content, dict) and content:
        json_type = next((m for m in content if is_json_type(m) and m != "*/*"), None)
        media_type = json_type or next(iter(content))
        media = content[media_type] if isinstance(content[media_type], dict) else {}
        value = _example(data, media, (*where, "content", media_type))
        if json_type is not None and value is not None:
            answer["json"] = value
        elif value is not None:
            answer["body"] = value if isinstance(value, str) else str(value)
        if media_type.lower() != "application/json":
            answer["headers"] = {"Content-Type": media_type}
    definition: dict[str, Any] = {
        "description": f"OpenAPI {op.method} {op.path}",
        "request": {"method": op.method, "path": _our_template(op.path)},
        "response": answer,
    }
    op_id = op.spec.get("operationId")
    if isinstance(op_id, str) and _ID.match(op_id):
        definition["id"] = op_id
    return definition


def _our_template(path: str) -> str:
    """Our path templates name parameters as identifiers: ``{pet-id}`` is served as ``{p0}``."""
    count = iter(range(1 << 30))
    return _PARAM.sub(
        lambda m: m.group(0) if _SAFE_NAME.match(m.group(1)) else f"{{p{next(count)}}}", path
    )


def parse_openapi(
    data: Any, source: str, default_name: str, marks: Marks | None = None
) -> tuple[ServiceSpec | None, list[Stub], list[Problem]]:
    """An OpenAPI document as one service of stubs, each checking requests against its
    operation; ``default_name`` (the file's stem) names the service."""
    try:
        doc = read_openapi(data, source, marks)
    except StubFileError as exc:
        return None, [], list(exc.problems)
    out = _located(source, marks)
    definitions: list[dict[str, Any]] = []
    checks: list[OperationCheck] = []
    seen: dict[str, KeyPath] = {}
    for op in doc.operations:
        definition = _stub_definition(doc, op, out)
        if definition is None:
            continue
        if "id" in definition and definition["id"] in seen:
            first = pointer_of(seen[definition["id"]])
            out.add((*op.at, "operationId"), f"duplicate operationId (also at #{first})")
            continue
        seen[definition.get("id", "")] = op.at
        definitions.append(definition)
        checks.append(op.check)
    if out.items:
        return None, [], out.items
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", default_name).strip("-._")[:63] or "openapi"

    def no_files(relative: str) -> bytes:
        raise ValueError("an OpenAPI document has no body files")

    service, stubs, problems = parse_service({"stubs": definitions}, source, name, no_files)
    if problems or service is None:
        return None, [], problems
    return service, [replace(s, check=c.entry) for s, c in zip(stubs, checks, strict=True)], []


def load_openapi(path: str) -> OpenApiDocument:
    """Read and compile the OpenAPI document at ``path`` (``serve --openapi``, ``validate``).

    Raises:
        StubFileError: it cannot be read, or cannot be served, with every problem located.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StubFileError([Problem(path, f"cannot read the OpenAPI document: {exc}")]) from None
    data, marks = read_document(text, path, is_json=path.lower().endswith(".json"))
    if not is_openapi(data):
        raise StubFileError([Problem(path, "not an OpenAPI document (no top-level 'openapi:')")])
    return read_openapi(data, path, marks)


def openapi_check(path: str) -> Callable[[RequestView], list[Violation]]:
    """``serve --openapi``: the check of every request a stub matched against the document.

    Raises:
        StubFileError: the document cannot be read or served, located.
    """
    return route(load_openapi(path).routes())
