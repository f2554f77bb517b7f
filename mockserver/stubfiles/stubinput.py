"""Stubs and request patterns sent to the admin API → Stubs and RequestSpecs, or located errors.

The admin API takes the stub-file keys, plus ``service`` to say which service a stub belongs
to when several share a port. Problems are reported like the loader's, with the stub's index
in the batch and the key path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from mockserver.core.errors import Problems, StubFileError
from mockserver.core.model import RequestSpec, ServiceSpec, Stub
from mockserver.core.render import DEFAULT_MIN_SIZE
from mockserver.core.stubspec import BodyFileReader, parse_request
from mockserver.stubfiles.stubfile import parse_stub, valid_service_name

__all__ = ["ADMIN_SOURCE", "parse_pattern_input", "parse_stub_input"]

ADMIN_SOURCE: Final = "<admin>"
TOO_DEEP: Final = "nested too deeply to parse; flatten the JSON"


def parse_stub_input(
    raw: Any,
    services_here: Sequence[str],
    read_body_file: BodyFileReader,
    services: Mapping[str, ServiceSpec] | None = None,
) -> tuple[list[Stub], set[str]]:
    """One stub mapping or a list of them → Stubs, and the ids the caller chose.

    Args:
        raw: the decoded JSON body.
        services_here: the services on the port the call came in on; a stub without
            ``service`` belongs to the only one, or to "default" when there is none.
        read_body_file: reader for ``body_file``, confined to the stubs root.
        services: the services served now, whose compression settings apply.

    Raises:
        StubFileError: every problem in every stub of the batch (nothing is added).
    """
    items = raw if isinstance(raw, list) else [raw]
    out = Problems(ADMIN_SOURCE)
    if not items:
        out.add((), "the list of stubs is empty")
    stubs: list[Stub] = []
    explicit: set[str] = set()
    for index, item in enumerate(items):
        at = ("stubs", index)
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            out.stub_labels[index] = repr(item["id"])
        service = _service_for(item, services_here, at, out)
        body = {k: v for k, v in item.items() if k != "service"} if isinstance(item, dict) else item
        spec = (services or {}).get(service or "default")
        try:
            stub = parse_stub(
                body,
                at,
                out,
                service or "default",
                read_body_file,
                ADMIN_SOURCE,
                index,
                spec.gzip if spec else "auto",
                spec.min_size if spec else DEFAULT_MIN_SIZE,
            )
        except RecursionError:  # JSON that json.loads took but the stub parser cannot walk
            out.add(at, TOO_DEEP)
            stub = None
        if stub is not None and service is not None:
            stubs.append(stub)
            if isinstance(body.get("id"), str):
                if body["id"] in explicit:
                    out.add((*at, "id"), f"id {body['id']!r} appears twice in this batch")
                explicit.add(body["id"])
    if out:
        raise StubFileError(out.items)
    return stubs, explicit


def _service_for(item: Any, services_here: Sequence[str], at: Any, out: Problems) -> str | None:
    if not isinstance(item, dict):
        return "default"
    name = item.get("service")
    if name is None:
        if len(services_here) > 1:
            out.add(
                (*at, "service"),
                f"several services share this port ({', '.join(services_here)}); "
                "say which one with 'service'",
            )
            return None
        return services_here[0] if services_here else "default"
    if not isinstance(name, str) or not valid_service_name(name):
        out.add((*at, "service"), f"service name {name!r} is not valid")
        return None
    return name


def parse_pattern_input(raw: Any) -> RequestSpec:
    """A request pattern (the keys of a stub's ``request``) for counting journal entries.

    Raises:
        StubFileError: the pattern has problems.
    """
    out = Problems(ADMIN_SOURCE)
    try:
        spec = parse_request(raw if raw is not None else {}, ("request",), out)
    except RecursionError:
        out.add(("request",), TOO_DEEP)
        spec = None
    if out or spec is None:
        raise StubFileError(out.items)
    return spec
