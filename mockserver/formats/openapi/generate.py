"""An OpenAPI schema → one value that fits it, for an operation that gives no example.

Pure and deterministic: the same schema always gives the same value (no draws), so a test that
reads a generated body reads the same body on every run, with or without ``--seed``. The value
honours required properties, ``enum``/``const``, formats, ``minimum``/``maximum``,
``minLength``/``maxLength`` and ``minItems``/``maxItems``; ``$ref`` (inside the document),
``allOf`` (merged), ``oneOf``/``anyOf`` (the first), ``nullable`` and 3.1 type lists are
followed. ``pattern`` is not: a string with a pattern gets its ``example`` or a plain value.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

__all__ = ["MAX_DEPTH", "generate"]

Resolve = Callable[[str], Any]

# Deeper than any response body people write by hand; a self-referencing schema (a tree of
# categories) stops here instead of recursing for ever.
MAX_DEPTH: Final = 12

_FORMATS: Final[Mapping[str, str]] = {
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "time": "00:00:00Z",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "iri": "https://example.com/",
    "uri-reference": "/example",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "byte": "c3RyaW5n",
    "binary": "string",
    "password": "password",
    "duration": "P1D",
}


def generate(schema: Any, resolve: Resolve, at: str = "") -> Any:
    """A value that fits ``schema``; ``resolve`` maps a local ``$ref`` to its schema and
    ``at`` (where the schema sits, a JSON pointer) seeds the values that must differ, uuids."""
    return _value(schema, resolve, at, 0, ())


def _value(schema: Any, resolve: Resolve, at: str, depth: int, refs: tuple[str, ...]) -> Any:
    if not isinstance(schema, Mapping) or depth > MAX_DEPTH:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str):
        if ref in refs:  # a cycle: the caller leaves the property out when it may
            return None
        return _value(resolve(ref), resolve, at, depth, (*refs, ref))
    for key in ("const", "example", "default"):
        if key in schema:
            return schema[key]
    examples = schema.get("examples")  # 3.1: a list of values
    if isinstance(examples, list) and examples:
        return examples[0]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    if isinstance(schema.get("allOf"), list):
        return _all_of(schema, resolve, at, depth, refs)
    for key in ("oneOf", "anyOf"):
        choices = schema.get(key)
        if isinstance(choices, list) and choices:
            return _value(choices[0], resolve, f"{at}/{key}/0", depth + 1, refs)
    kind = _type_of(schema)
    if kind == "object":
        return _object(schema, resolve, at, depth, refs)
    if kind == "array":
        return _array(schema, resolve, at, depth, refs)
    if kind == "string":
        return _string(schema, at)
    if kind in ("integer", "number"):
        return _number(schema, kind)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return {}  # no type: any value fits


def _type_of(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):  # 3.1: ["string", "null"] is 3.0's nullable string
        kind = next((k for k in kind if k != "null"), "null")
    if isinstance(kind, str):
        return kind
    if "properties" in schema or "required" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return ""


def _all_of(
    schema: Mapping[str, Any], resolve: Resolve, at: str, depth: int, refs: tuple[str, ...]
) -> Any:
    merged: dict[str, Any] = {}
    parts = list(schema["allOf"])
    rest = {k: v for k, v in schema.items() if k != "allOf"}
    if rest:
        parts.append(rest)
    last: Any = None
    for i, part in enumerate(parts):
        last = _value(part, resolve, f"{at}/allOf/{i}", depth + 1, refs)
        if isinstance(last, dict):
            merged.update(last)
    return merged if merged or not parts else last


def _object(
    schema: Mapping[str, Any], resolve: Resolve, at: str, depth: int, refs: tuple[str, ...]
) -> dict[str, Any]:
    required = schema.get("required") or []
    result: dict[str, Any] = {}
    properties = schema.get("properties") or {}
    for name, sub in properties.items():
        if isinstance(sub, Mapping) and (sub.get("writeOnly") and name not in required):
            continue  # never sent in a response
        value = _value(sub, resolve, f"{at}/properties/{name}", depth + 1, refs)
        if value is None and name not in required and not _nullable(sub, resolve):
            continue  # a cycle or depth cut: leave the optional property out
        result[str(name)] = value
    for name in required:
        result.setdefault(str(name), "string")  # required but not described
    return result


def _nullable(schema: Any, resolve: Resolve) -> bool:
    if isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str):
        return False
    if not isinstance(schema, Mapping):
        return False
    kind = schema.get("type")
    return (
        bool(schema.get("nullable"))
        or kind == "null"
        or (isinstance(kind, list) and "null" in kind)
    )


def _array(
    schema: Mapping[str, Any], resolve: Resolve, at: str, depth: int, refs: tuple[str, ...]
) -> list[Any]:
    low = schema.get("minItems", 1)
    high = schema.get("maxItems")
    count = max(int(low) if isinstance(low, int) else 1, 1)
    if isinstance(high, int):
        count = min(count, high)
    item = schema.get("items", {})
    values = [_value(item, resolve, f"{at}/items/{i}", depth + 1, refs) for i in range(count)]
    return [v for v in values if v is not None] if count else []


def _string(schema: Mapping[str, Any], at: str) -> str:
    fmt = schema.get("format")
    if fmt == "uuid":
        text = str(uuid.uuid5(uuid.NAMESPACE_URL, "mockserver:" + at))
    else:
        text = _FORMATS.get(fmt, "string") if isinstance(fmt, str) else "string"
    low, high = schema.get("minLength"), schema.get("maxLength")
    if isinstance(low, int) and len(text) < low:
        text = text + "x" * (low - len(text))
    if isinstance(high, int) and len(text) > high:
        text = text[:high]
    return text


def _number(schema: Mapping[str, Any], kind: str) -> int | float:
    value: float = 1 if kind == "integer" else 1.5
    step = 1 if kind == "integer" else 0.5
    low = _bound(schema, "minimum", "exclusiveMinimum")
    high = _bound(schema, "maximum", "exclusiveMaximum")
    if (low is not None and value < low[0]) or (low is not None and low[1] and value <= low[0]):
        value = low[0] + (step if low[1] else 0)
    if (high is not None and value > high[0]) or (
        high is not None and high[1] and value >= high[0]
    ):
        value = high[0] - (step if high[1] else 0)
    multiple = schema.get("multipleOf")
    if isinstance(multiple, int | float) and multiple > 0 and not isinstance(multiple, bool):
        value = (value // multiple + (1 if value % multiple else 0)) * multiple
    return int(value) if kind == "integer" else float(value)


def _bound(schema: Mapping[str, Any], inclusive: str, exclusive: str) -> tuple[float, bool] | None:
    """(bound, exclusive?): 3.0 writes ``exclusiveMinimum: true`` beside ``minimum``, 3.1 gives
    the bound itself as ``exclusiveMinimum``."""
    flag = schema.get(exclusive)
    if isinstance(flag, int | float) and not isinstance(flag, bool):
        return float(flag), True
    bound = schema.get(inclusive)
    if isinstance(bound, int | float) and not isinstance(bound, bool):
        return float(bound), flag is True
    return None
