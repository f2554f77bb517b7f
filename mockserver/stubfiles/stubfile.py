"""A whole stub document (one service) → ServiceSpec and Stubs; and stub sets combined.

Pure: the caller passes the parsed document and a reader for ``body_file``; nothing here
touches the disk.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from functools import lru_cache, partial
from typing import Any, Final
from urllib.parse import urlsplit

from mockserver.core.addresses import refused_address
from mockserver.core.amqpspec import parse_amqp, parse_publishes
from mockserver.core.errors import KeyPath, Problem, Problems, StubFileError
from mockserver.core.model import (
    MessageSpec,
    PreparedResponse,
    ResourceSpec,
    ResponseSpec,
    ServiceSpec,
    Stub,
    StubSet,
    WebhookSpec,
)
from mockserver.core.render import DEFAULT_MIN_SIZE, prepare
from mockserver.core.scenarios import parse_scenario
from mockserver.core.shapes import check_keys, expect_int, expect_mapping, type_name
from mockserver.core.stubspec import BodyFileReader, parse_gzip, parse_request, parse_response
from mockserver.core.webhookspec import parse_webhooks

__all__ = ["combine", "parse_service", "parse_stub", "valid_service_name"]

FILE_KEYS: Final = (
    "service",
    "port",
    "upstream",
    "gzip",
    "min_size",
    "stubs",
    "resources",
    "version",
    "amqp",
)
STUB_KEYS: Final = (
    "id",
    "description",
    "priority",
    "request",
    "response",
    "responses",
    "webhooks",
    "scenario",
)
RESOURCE_KEYS: Final = ("path", "id_field", "items")
# \Z, not $: "$" also matches before a final newline, and "users\n" is no name (issue 13).
_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}\Z")
_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:~-]{0,127}\Z")


def valid_service_name(name: str) -> bool:
    return bool(_NAME.match(name))


def parse_service(
    data: Any,
    source: str,
    default_name: str,
    read_body_file: BodyFileReader,
    marks: Mapping[KeyPath, tuple[int, int]] | None = None,
    *,
    release: bool = False,
) -> tuple[ServiceSpec | None, list[Stub], list[Problem]]:
    """Parse one stub document. Returns the service, its stubs, and every problem found.

    ``release`` drops each stub's mapping from ``data`` once it is parsed, for a caller that
    owns ``data`` and is done with it: parsed JSON takes about nine times the file's size, and
    10,000 stubs would otherwise be in memory twice, as mappings and as stubs, at the peak.
    """
    out = Problems(source, marks)
    if data is None:
        out.add((), "the file is empty; a stub file is a mapping with a 'stubs:' list")
        return None, [], out.items
    doc = expect_mapping(data, (), out, "a stub file")
    if doc is None:
        return None, [], out.items
    check_keys(doc, FILE_KEYS, (), out)
    if "version" in doc and doc["version"] != 1:
        out.add(
            ("version",), f"this mockserver reads stub format version 1, got {doc['version']!r}"
        )
    name = doc.get("service", default_name)
    if not isinstance(name, str) or not valid_service_name(name):
        where: KeyPath = ("service",) if "service" in doc else ()
        out.add(
            where,
            f"service name {name!r} must be 1-63 letters, digits, '.', '_' or '-' "
            "starting with a letter or digit"
            + (
                ""
                if "service" in doc
                else "; set 'service:' in the file, since the file name does not make one"
            ),
        )
        name = "invalid"
    port = None
    if doc.get("port") is not None:
        port = expect_int(doc["port"], ("port",), out, 1, 65535)
    upstream = _parse_upstream(doc.get("upstream"), out)
    gzip = parse_gzip(doc["gzip"], ("gzip",), out) if "gzip" in doc else "auto"
    min_size = 256
    if "min_size" in doc:
        min_size = expect_int(doc["min_size"], ("min_size",), out, 0, 1 << 30) or 0
    resources = _parse_resources(doc.get("resources"), out)
    amqp = parse_amqp(doc["amqp"], ("amqp",), out, source) if "amqp" in doc else None
    stubs: list[Stub] = []
    raw_stubs = doc.get("stubs", [])
    if raw_stubs is None:
        raw_stubs = []
    if not isinstance(raw_stubs, list):
        out.add(("stubs",), f"stubs must be a list, got {type_name(raw_stubs)}")
        raw_stubs = []
    first_index: dict[str, int] = {}
    for index, raw in enumerate(raw_stubs):
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            out.stub_labels[index] = repr(raw["id"])
        stub = parse_stub(
            raw,
            ("stubs", index),
            out,
            name,
            read_body_file,
            source,
            index,
            gzip or "auto",
            min_size,
        )
        if release:
            raw_stubs[index] = None
        if stub is None:
            continue
        # Checked here too (combine checks across files) so that the problem has a line.
        first = first_index.setdefault(stub.id, index)
        if first != index and "id" in raw:
            out.add(("stubs", index, "id"), f"duplicate id (also used by stub #{first})")
        elif first != index:
            out.add(("stubs", index), f"the same as stub #{first}, which always answers first")
        stubs.append(stub)
    service = ServiceSpec(
        name,
        port,
        upstream,
        gzip or "auto",  # type: ignore[arg-type]
        min_size,
        (source,),
        resources,
        (amqp,) if amqp is not None else (),
    )
    problems = sorted(out.items, key=lambda p: (p.line or 0, p.column or 0))
    return (None if out else service), stubs, problems


def parse_stub(
    raw: Any,
    at: KeyPath,
    out: Problems,
    service: str,
    read_body_file: BodyFileReader,
    source: str = "<admin>",
    index: int = 0,
    service_gzip: str = "auto",
    min_size: int = DEFAULT_MIN_SIZE,
) -> Stub | None:
    """One stub mapping → Stub (order 0; ``combine`` assigns the load order).

    ``service_gzip`` and ``min_size`` are the service's compression settings.
    """
    spec = expect_mapping(raw, at, out, "a stub")
    if spec is None:
        return None
    before = len(out.items)
    check_keys(spec, STUB_KEYS, at, out)
    stub_id = spec.get("id")
    if stub_id is not None and (not isinstance(stub_id, str) or not _ID.match(stub_id)):
        out.add(
            (*at, "id"),
            f"an id is 1-128 letters, digits or . _ : ~ - (it appears in URLs), got {stub_id!r}",
        )
    priority = 0
    if "priority" in spec:
        priority = expect_int(spec["priority"], (*at, "priority"), out, -(10**6), 10**6) or 0
    if "description" in spec and not isinstance(spec["description"], str):
        out.add((*at, "description"), "description is free text")
    request = parse_request(spec.get("request"), (*at, "request"), out)
    responses = _parse_responses(spec, at, out, read_body_file)
    webhooks: tuple[WebhookSpec, ...] = ()
    if "webhooks" in spec:
        templated = bool(responses) and responses[0].template is not None
        webhooks = parse_webhooks(spec["webhooks"], (*at, "webhooks"), out, templated=templated)
    publishes = _parse_publishes(spec, at, out, responses)
    scenario = None
    if "scenario" in spec:
        scenario = parse_scenario(spec["scenario"], (*at, "scenario"), out)
    if len(out.items) != before or request is None or not responses:
        return None
    return Stub(
        id=stub_id if isinstance(stub_id, str) else default_id(service, spec),
        service=service,
        request=request,
        response=responses[0],
        prepare=_preparer(request.methods, service_gzip, min_size),
        priority=priority,
        source=source,
        index=index,
        line=out.marks.get(at, (None, None))[0],
        definition_json=json.dumps(spec, default=str, separators=(",", ":")).encode(),
        responses=tuple(responses) if "responses" in spec else (),
        webhooks=webhooks,
        publishes=publishes,
        scenario=scenario,
    )


@lru_cache(maxsize=256)
def _preparer(
    methods: frozenset[str] | None, service_gzip: str, min_size: int
) -> Callable[[ResponseSpec], PreparedResponse]:
    """render.prepare for these settings, one shared function for all stubs that have them."""
    return partial(prepare, methods=methods, service_gzip=service_gzip, min_size=min_size)


def _parse_publishes(
    spec: Mapping[str, Any], at: KeyPath, out: Problems, responses: list[ResponseSpec]
) -> tuple[MessageSpec, ...]:
    """``response: {publish: [...]}``: messages sent once the answer is (amqpspec.py)."""
    listed = spec.get("responses")
    for i, item in enumerate(listed if isinstance(listed, list) else ()):  # else located already
        if isinstance(item, dict) and "publish" in item:
            out.add((*at, "responses", i, "publish"), "publish sits on response:, not responses:")
    response = spec.get("response")
    if not isinstance(response, dict) or "publish" not in response:
        return ()
    templated = bool(responses) and responses[0].template is not None
    where = (*at, "response", "publish")
    return parse_publishes(response["publish"], where, out, templated=templated)


def _parse_responses(
    spec: Mapping[str, Any], at: KeyPath, out: Problems, read_body_file: BodyFileReader
) -> list[ResponseSpec]:
    """``response`` (one), or ``responses`` (a sequence: the n-th match gets the n-th, then
    the last repeats)."""
    if "responses" not in spec:
        one = parse_response(spec.get("response"), (*at, "response"), out, read_body_file)
        return [one] if one is not None else []
    if "response" in spec:
        out.add((*at, "responses"), "give response or responses, not both")
        return []
    raw = spec["responses"]
    if not isinstance(raw, list) or not raw:
        out.add((*at, "responses"), "responses is a non-empty list of responses, served in turn")
        return []
    parsed = [
        parse_response(item, (*at, "responses", i), out, read_body_file)
        for i, item in enumerate(raw)
    ]
    return [p for p in parsed if p is not None] if all(p is not None for p in parsed) else []


def default_id(service: str, definition: Mapping[str, Any]) -> str:
    """A readable id derived from the content: service, method, path and a content hash.

    Stable across reordering and reloads, so a journal entry still names the same stub.
    """
    request = definition.get("request") or {}
    method = request.get("method", "any") if isinstance(request, dict) else "any"
    if isinstance(method, list):
        method = "-".join(str(m) for m in method)
    path = ""
    if isinstance(request, dict):
        path = str(request.get("path") or request.get("path_regex") or "")
    slug = re.sub(r"[^a-z0-9]+", "-", f"{method} {path}".lower()).strip("-")[:60]
    try:
        canonical = json.dumps(definition, sort_keys=True, default=str, ensure_ascii=False)
    except TypeError:  # keys of mixed types (YAML reads `1: a` as an int) cannot be sorted
        canonical = json.dumps(
            _str_keys(definition), sort_keys=True, default=str, ensure_ascii=False
        )
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:8]
    return f"{service}-{slug}-{digest}" if slug else f"{service}-{digest}"


def _str_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _str_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_str_keys(v) for v in value]
    return value


def _parse_upstream(raw: Any, out: Problems) -> str | None:
    if raw is None:
        return None
    parts = urlsplit(raw) if isinstance(raw, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        out.add(("upstream",), f"upstream is an http:// or https:// URL, got {raw!r}")
        return None
    refused = refused_address(parts.hostname)
    if refused:
        out.add(("upstream",), f"upstream {raw!r} is refused: {refused}")
        return None
    return str(raw).rstrip("/")


def _parse_resources(raw: Any, out: Problems) -> tuple[ResourceSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        out.add(("resources",), f"resources must be a list, got {type_name(raw)}")
        return ()
    result = []
    for i, item in enumerate(raw):
        at: KeyPath = ("resources", i)
        spec = expect_mapping(item, at, out, "a resource")
        if spec is None:
            continue
        check_keys(spec, RESOURCE_KEYS, at, out)
        path = spec.get("path")
        if not isinstance(path, str) or not path.startswith("/") or "{" in path:
            out.add(
                (*at, "path"), f"a resource path is a literal path such as /api/user, got {path!r}"
            )
            continue
        id_field = spec.get("id_field", "id")
        if not isinstance(id_field, str) or not id_field:
            out.add((*at, "id_field"), f"id_field names a field of the items, got {id_field!r}")
            continue
        items = spec.get("items", [])
        if not isinstance(items, list):
            out.add((*at, "items"), f"items must be a list, got {type_name(items)}")
            continue
        ok = True
        for j, entry in enumerate(items):
            if not isinstance(entry, dict) or id_field not in entry:
                out.add((*at, "items", j), f"each item is a mapping with its {id_field!r} field")
                ok = False
        if ok:
            result.append(ResourceSpec(path.rstrip("/") or "/", id_field, tuple(items)))
    return tuple(result)


def combine(
    parsed: Iterable[tuple[ServiceSpec, Sequence[Stub]]], problems: list[Problem] | None = None
) -> StubSet:
    """Merge per-file results into one StubSet, in file order; check cross-file rules.

    Files naming the same service are merged when their ports and upstreams agree. Stub ids
    are unique across the set; two services may not claim one port.

    Raises:
        StubFileError: with ``problems`` plus every cross-file problem found.
    """
    found = list(problems or [])
    services: dict[str, ServiceSpec] = {}
    stubs: list[Stub] = []
    ids: dict[str, Stub] = {}
    for service, service_stubs in parsed:
        known = services.get(service.name)
        if known is None:
            services[service.name] = service
        else:
            merged = _merge(known, service, found)
            if merged is not None:
                services[service.name] = merged
        for stub in service_stubs:
            first = ids.get(stub.id)
            if first is not None:
                found.append(
                    Problem(
                        stub.source,
                        f"duplicate id (also used by stub #{first.index} in {first.source})",
                        stub=repr(stub.id),
                        key="id",
                    )
                )
                continue
            ids[stub.id] = stub
            stubs.append(replace(stub, order=len(stubs)))
    ports: dict[int, str] = {}
    for service in services.values():
        if service.port is None:
            continue
        if service.port in ports:
            found.append(
                Problem(
                    service.sources[-1],
                    f"port {service.port} is already taken by service {ports[service.port]!r}",
                    key="port",
                )
            )
        ports[service.port] = service.name
    if found:
        raise StubFileError(found)
    return StubSet(services, tuple(stubs))


def _merge(a: ServiceSpec, b: ServiceSpec, found: list[Problem]) -> ServiceSpec | None:
    for key in ("port", "upstream"):
        left, right = getattr(a, key), getattr(b, key)
        if left is not None and right is not None and left != right:
            found.append(
                Problem(
                    b.sources[0],
                    f"service {a.name!r} has {key} {left!r} in {a.sources[0]} but {right!r} here; "
                    "files of one service must agree",
                    key=key,
                )
            )
            return None
    return replace(
        a,
        port=a.port if a.port is not None else b.port,
        upstream=a.upstream or b.upstream,
        sources=a.sources + b.sources,
        resources=a.resources + b.resources,
        amqp=a.amqp + b.amqp,
    )
