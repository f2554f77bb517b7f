"""Stateful REST resources: a collection and its items, with versions and conditional writes.

``resources: [{path: /api/user, id_field: id, items: [...]}]`` serves GET on the collection and
on items, POST (201, Location, ETag), PUT (replace or create), PATCH (JSON merge patch,
RFC 7396) and DELETE. Each item's ETag changes on every write, so If-Match with a stale tag
gets 412: a client may only write the version it read (RFC 9110 §13.1.1, the lost-update
problem). Every operation runs to completion without yielding to the event loop, so
concurrent writers are serialised and no lost update can succeed.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from mockserver.core.errors import HttpProblem
from mockserver.core.headernames import (
    ALLOW,
    CONTENT_TYPE,
    ETAG,
    LOCATION,
    LOWER_IF_MATCH,
    LOWER_IF_NONE_MATCH,
)
from mockserver.core.http import Conditional, evaluate_conditions
from mockserver.core.model import ResourceSpec
from mockserver.core.render import JSON_TYPE, encode_json
from mockserver.core.request import NotJson, RequestView

__all__ = ["ResourceOutcome", "ResourceState", "merge_patch"]

_ITEM_METHODS: Final = ("GET", "HEAD", "PUT", "PATCH", "DELETE")
_COLLECTION_METHODS: Final = ("GET", "HEAD", "POST")
# An id is one path segment as it is, so it can go into a Location header and come back in a
# URL unchanged: RFC 3986 pchar without percent-escapes, bounded. Anything else (control
# characters that would split a header, a 5,000-digit number, "²" that isdigit() but not
# int()) is a 422, and nothing is stored.
_ID: Final = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@]{1,200}")
# How deep an item may nest, and how many bytes of items one resource holds: a write past
# either is refused, so every item can be answered and a collection GET stays bounded.
MAX_DEPTH: Final = 64
MAX_RESOURCE_BYTES: Final = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ResourceOutcome:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch: objects merge recursively, null deletes, the rest replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _error(status: int, error: str, detail: str, *extra: tuple[str, str]) -> ResourceOutcome:
    body = encode_json(HttpProblem(status, error, detail).as_dict())
    return ResourceOutcome(status, ((CONTENT_TYPE, JSON_TYPE), *extra), body)


class ResourceState:
    """The live items of one resource; ``reset`` would be a new instance from the spec."""

    def __init__(self, spec: ResourceSpec, service: str | None = None) -> None:
        self.spec = spec
        self.service = service
        self.items: dict[str, tuple[dict[str, Any], int]] = {}
        self.sizes: dict[str, int] = {}  # each item's encoded bytes, for MAX_RESOURCE_BYTES
        for item in spec.items:
            key = str(item[spec.id_field])
            self.items[key] = (dict(item), 1)
            self.sizes[key] = len(encode_json(item))
        self.size = sum(self.sizes.values())

    def dumped(self) -> str:
        """The items and their versions as JSON text, in order (what ``restored`` reads)."""
        return json.dumps(self.items, ensure_ascii=False, separators=(",", ":"))

    def restored(self, text: str) -> ResourceState:
        """A copy of this resource holding the items ``dumped`` wrote (a shared store's)."""
        copy = ResourceState.__new__(ResourceState)
        copy.spec, copy.service = self.spec, self.service
        copy.items = {key: (item, version) for key, (item, version) in json.loads(text).items()}
        copy.sizes = {key: len(encode_json(item)) for key, (item, _) in copy.items.items()}
        copy.size = sum(copy.sizes.values())
        return copy

    def owns(self, path: str) -> bool:
        base = self.spec.path
        if path == base:
            return True
        key = path[len(base) + 1 :]  # an item's id: one segment, never empty (PUT would make it)
        return path.startswith(base + "/") and key != "" and "/" not in key

    def _etag(self, key: str) -> str | None:
        found = self.items.get(key)
        if found is None:
            return None
        item, version = found
        digest = hashlib.blake2b(encode_json(item), digest_size=6).hexdigest()
        return f'"v{version}-{digest}"'

    def _item_response(self, status: int, key: str, *extra: tuple[str, str]) -> ResourceOutcome:
        item, _ = self.items[key]
        etag = self._etag(key)
        assert etag is not None
        headers = ((CONTENT_TYPE, JSON_TYPE), (ETAG, etag), *extra)
        return ResourceOutcome(status, headers, encode_json(item))

    def handle(self, request: RequestView) -> ResourceOutcome:
        """Answer ``request`` (whose path this resource owns)."""
        base = self.spec.path
        if request.path == base:
            return self._collection(request)
        return self._item(request, request.path[len(base) + 1 :])

    def _collection(self, request: RequestView) -> ResourceOutcome:
        method = request.method
        if method in ("GET", "HEAD"):
            body = encode_json([item for item, _ in self.items.values()])
            etag = '"' + hashlib.blake2b(body, digest_size=9).hexdigest() + '"'
            decision = _conditions(request, etag)
            if decision is Conditional.NOT_MODIFIED:
                return ResourceOutcome(304, ((ETAG, etag),), b"")
            if decision is Conditional.PRECONDITION_FAILED:
                return _error(412, "precondition failed", "the collection has changed")
            return ResourceOutcome(200, ((CONTENT_TYPE, JSON_TYPE), (ETAG, etag)), body)
        if method != "POST":
            return _not_allowed(method, _COLLECTION_METHODS)
        item = _json_object(request)
        if isinstance(item, ResourceOutcome):
            return item
        id_field = self.spec.id_field
        given = item.get(id_field)
        if id_field in item and (isinstance(given, bool) or not isinstance(given, str | int)):
            return _error(422, "invalid id", f"{id_field} must be a string or a whole number")
        key = str(given) if id_field in item else self._new_id()
        if key in self.items:
            return _error(409, "conflict", f"an item with {id_field} {key!r} already exists")
        invalid = _invalid_id(id_field, key)
        if invalid is not None:
            return invalid
        item[id_field] = item.get(id_field, key)
        refused = self._store(key, item, 1)
        if refused is not None:
            return refused
        return self._item_response(201, key, (LOCATION, f"{self.spec.path}/{key}"))

    def _new_id(self) -> str:
        # Only ids that are plain ASCII numbers count (bounded by _ID, so int() cannot fail).
        numbers = [int(k) for k in self.items if k.isascii() and k.isdigit() and len(k) <= 200]
        if numbers or not self.items:
            return str(max(numbers, default=0) + 1)
        return uuid.uuid4().hex

    def _store(self, key: str, item: dict[str, Any], version: int) -> ResourceOutcome | None:
        """Keep ``item`` at ``key``; or, when it could not be answered or held, refuse it and
        change nothing."""
        if _too_deep(item, MAX_DEPTH):
            return _error(422, "item too deep", f"an item nests at most {MAX_DEPTH} levels deep")
        try:
            size = len(encode_json(item))
        except (TypeError, ValueError, RecursionError) as exc:  # what could not be answered
            return _error(422, "invalid item", str(exc))
        total = self.size - self.sizes.get(key, 0) + size
        if total > MAX_RESOURCE_BYTES:
            return _error(
                413,
                "resource full",
                f"{self.spec.path} holds at most {MAX_RESOURCE_BYTES:,} bytes of items; "
                "delete some, or reset",
            )
        self.items[key] = (item, version)
        self.sizes[key] = size
        self.size = total
        return None

    def _item(self, request: RequestView, key: str) -> ResourceOutcome:
        method = request.method
        if method not in _ITEM_METHODS:
            return _not_allowed(method, _ITEM_METHODS)
        exists = key in self.items
        if not exists and method != "PUT":
            # Preconditions only apply to what would otherwise be a 2xx (RFC 9110 §13.2.1).
            return self._missing(key)
        decision = _conditions(request, self._etag(key))
        if decision is Conditional.PRECONDITION_FAILED:
            detail = (
                "the item has changed since you read it (If-Match names an old version)"
                if exists
                else "the item does not exist (If-Match needs a current version)"
            )
            if exists and request.headers.get(LOWER_IF_NONE_MATCH):
                detail = "the item exists (If-None-Match: * refuses to overwrite it)"
            return _error(412, "precondition failed", detail)
        if method in ("GET", "HEAD"):
            if decision is Conditional.NOT_MODIFIED:
                return ResourceOutcome(304, ((ETAG, self._etag(key) or ""),), b"")
            return self._item_response(200, key)
        if method == "DELETE":
            del self.items[key]
            self.size -= self.sizes.pop(key, 0)
            return ResourceOutcome(204, (), b"")
        body = _json_object(request)
        if isinstance(body, ResourceOutcome):
            return body
        id_field = self.spec.id_field
        if id_field in body and str(body[id_field]) != key:
            return _error(
                422, "id mismatch", f"the body's {id_field} {body[id_field]!r} is not {key!r}"
            )
        if method == "PATCH":
            current, version = self.items[key]
            patched = merge_patch(current, body)
            patched[id_field] = current.get(id_field, key)
            refused = self._store(key, patched, version + 1)
            return refused or self._item_response(200, key)
        # PUT: replace, or create at a client-chosen id.
        if not exists:
            invalid = _invalid_id(id_field, key)
            if invalid is not None:
                return invalid
        kept_id = _typed_id(self.items.get(key), key, id_field)
        replacement = {**body, id_field: body.get(id_field, kept_id)}
        version = self.items[key][1] + 1 if exists else 1
        refused = self._store(key, replacement, version)
        return refused or self._item_response(200 if exists else 201, key)

    def _missing(self, key: str) -> ResourceOutcome:
        where = f"no item with {self.spec.id_field} {key!r} in {self.spec.path}"
        return _error(404, "not found", where)


def _invalid_id(id_field: str, key: str) -> ResourceOutcome | None:
    if _ID.fullmatch(key):
        return None
    shown = key if len(key) <= 40 else f"{key[:40]}... ({len(key)} characters)"
    return _error(
        422,
        "invalid id",
        f"{id_field} {shown!r} cannot be used in a path: "
        "1 to 200 of A-Z a-z 0-9 and -._~!$&'()*+,;=:@",
    )


def _too_deep(value: Any, limit: int) -> bool:
    """Whether ``value`` nests more than ``limit`` containers deep (no recursion of ours)."""
    level: list[Any] = [value]
    for _ in range(limit):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return True


def _typed_id(existing: tuple[dict[str, Any], int] | None, key: str, id_field: str) -> Any:
    return existing[0].get(id_field, key) if existing else key


def _conditions(request: RequestView, etag: str | None) -> Conditional:
    headers = request.headers

    def first(name: str) -> str | None:
        values = headers.get(name)
        return ", ".join(values) if values else None

    return evaluate_conditions(
        request.method,
        etag,
        None,
        if_match=first(LOWER_IF_MATCH),
        if_none_match=first(LOWER_IF_NONE_MATCH),
    )


def _json_object(request: RequestView) -> dict[str, Any] | ResourceOutcome:
    value = request.json()
    if isinstance(value, NotJson):
        return _error(400, "malformed JSON", value.reason)
    if not isinstance(value, dict):
        return _error(422, "not an object", "an item is a JSON object")
    return dict(value)


def _not_allowed(method: str, allowed: tuple[str, ...]) -> ResourceOutcome:
    return _error(
        405, "method not allowed", f"{method} is not allowed here", (ALLOW, ", ".join(allowed))
    )


def states_for(specs: Mapping[str, tuple[ResourceSpec, ...]]) -> dict[str, list[ResourceState]]:
    """Fresh state for every service's resources (what a reset restores)."""
    return {service: [ResourceState(spec) for spec in group] for service, group in specs.items()}
