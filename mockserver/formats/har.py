"""HAR 1.2 (what browsers' devtools and many proxies export) → recorded exchanges.

Pure: text in, a Recording out, which ``recordwriter.write_recording`` writes through the same
redaction and the same stub writer as ``mockserver record``. Entries are grouped into one
service per origin (``scheme://host[:port]``), named after the host, unless one service name
is given for all.

A HAR keeps response bodies decoded (``content.text``, base64 when ``content.encoding`` says
so) while the headers still say how they travelled. The recorder expects the body as sent, so
a compressed one is compressed again, with gzip whatever the original coding: the stub keeps
only *that* the service compressed (``gzip: true``), and replay negotiates the coding anew.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import SplitResult, parse_qsl, unquote, urlencode, urlsplit

from mockserver.core.addresses import refused_address
from mockserver.core.errors import MockServerError
from mockserver.core.headernames import CONTENT_ENCODING, LOWER_CONTENT_ENCODING
from mockserver.recording.exchange import Exchange
from mockserver.recording.stubs import Recording

__all__ = [
    "DEFAULT_PORTS",
    "HarError",
    "HarImport",
    "grouped",
    "origin_of",
    "parse_har",
    "service_name",
]

DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_NAME_CHARS: Final = re.compile(r"[^a-z0-9._-]+")


class HarError(MockServerError, ValueError):
    """The text is not a HAR log this importer can read."""


@dataclass(slots=True)
class HarImport:
    """The exchanges found, per service, and the entries left out with the reason."""

    recording: Recording = field(default_factory=Recording)
    skipped: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.recording.exchanges.values())


def service_name(host: str, port: int | None = None) -> str:
    """A valid service name from a host (and a non-default port): ``api.example.com-8443``."""
    name = _NAME_CHARS.sub("-", host.lower()).strip("-._")
    if port is not None:
        name = f"{name}-{port}"
    return name[:63].strip("-._") or "service"


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise HarError(f"{where} must be an object, got {type(value).__name__}")
    return value


def _pairs(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    """A HAR name/value list; HTTP/2 pseudo-headers (``:authority``) are left out."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise HarError(f"{where} must be a list of {{name, value}} objects")
    pairs = []
    for item in value:
        entry = _mapping(item, where)
        name, text = entry.get("name"), entry.get("value", "")
        if not isinstance(name, str) or not isinstance(text, str):
            raise HarError(f"{where}: each item has a string name and value")
        if not name.startswith(":"):
            pairs.append((name, text))
    return tuple(pairs)


def _decoded_text(content: Mapping[str, Any], where: str) -> bytes:
    text = content.get("text")
    if text is None:
        return b""
    if not isinstance(text, str):
        raise HarError(f"{where}.text must be a string")
    if content.get("encoding") == "base64":
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise HarError(f"{where}.text is not valid base64") from None
    return text.encode("utf-8")


def _request_body(request: Mapping[str, Any], where: str) -> bytes:
    post = request.get("postData")
    if post is None:
        return b""
    post = _mapping(post, f"{where}.postData")
    if "text" in post:
        return _decoded_text(post, f"{where}.postData")
    return urlencode(_pairs(post.get("params"), f"{where}.postData.params")).encode()


def _response_body(
    response: Mapping[str, Any], headers: tuple[tuple[str, str], ...], where: str
) -> tuple[bytes, tuple[tuple[str, str], ...]] | None:
    """The body as the recorder expects it (coded when the headers say so), and the headers;
    None when the HAR left out a body the service sent."""
    content = _mapping(response.get("content", {}), f"{where}.content")
    if content.get("text") is None and (content.get("size") or 0) > 0:
        return None
    body = _decoded_text(content, f"{where}.content")
    coding = next((v for k, v in headers if k.lower() == LOWER_CONTENT_ENCODING), None)
    if coding is None or coding.strip().lower() in ("", "identity"):
        return body, headers
    kept = tuple((k, v) for k, v in headers if k.lower() != LOWER_CONTENT_ENCODING)
    return gzip.compress(body, mtime=0), (*kept, (CONTENT_ENCODING, "gzip"))


def origin_of(parts: SplitResult) -> tuple[str, str, int | None] | None:
    """(``scheme://host[:port]``, host, the port when not the scheme's) of an http(s) URL;
    None for a bad port."""
    try:
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname or ""
    explicit = port if port is not None and port != DEFAULT_PORTS[parts.scheme] else None
    netloc = f"[{host}]" if ":" in host else host
    return (
        f"{parts.scheme}://{netloc}" + (f":{explicit}" if explicit is not None else ""),
        host,
        explicit,
    )


Parsed = tuple[str, str, int | None, Exchange] | str


def grouped(parsed: Iterable[Parsed], service: str | None, what: str = "entries") -> HarImport:
    """Exchanges grouped into one service per origin (named after its host), or all under
    ``service``; a refused origin's entries and the ones given as reasons are left out, said."""
    found = HarImport()
    names: dict[str, str] = {}  # origin → service
    origins: dict[str, set[str]] = {}  # service → origins
    for index, item in enumerate(parsed):
        if isinstance(item, str):
            found.skipped.append(item)
            continue
        origin, host, port, exchange = item
        refused = refused_address(host)
        if refused:  # its answer may hold the machine's credentials; never an upstream either
            found.skipped.append(f"{what}[{index}]: {origin} is refused: {refused}")
            continue
        name = service or names.get(origin)
        if name is None:
            base, name, n = service_name(host, port), service_name(host, port), 2
            while name in origins:
                name, n = f"{base[:60]}-{n}", n + 1
            names[origin] = name
        origins.setdefault(name, set()).add(origin)
        found.recording.add(name, origin, exchange)
    for name, seen in origins.items():
        if len(seen) > 1:  # several origins: no one upstream
            del found.recording.upstreams[name]
    return found


def _entry(raw: Any, index: int) -> tuple[str, str, int | None, Exchange] | str:
    """(origin, host, explicit port, exchange) of one entry, or why it is left out."""
    where = f"log.entries[{index}]"
    entry = _mapping(raw, where)
    request = _mapping(entry.get("request"), f"{where}.request")
    response = _mapping(entry.get("response"), f"{where}.response")
    method, url = request.get("method"), request.get("url")
    if not isinstance(method, str) or not isinstance(url, str):
        raise HarError(f"{where}.request needs a method and a url")
    label = f"entry {index} ({method} {url[:100]})"
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return f"{label}: not an http(s) URL"
    status = response.get("status")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        return f"{label}: no response (status {status!r})"
    response_headers = _pairs(response.get("headers"), f"{where}.response.headers")
    answer = _response_body(response, response_headers, f"{where}.response")
    if answer is None:
        return f"{label}: the HAR does not contain the response body"
    body, response_headers = answer
    where_from = origin_of(parts)
    if where_from is None:
        return f"{label}: bad port"
    origin, host, explicit = where_from
    exchange = Exchange(
        method=method.upper(),
        path=unquote(parts.path) or "/",
        query=tuple(parse_qsl(parts.query, keep_blank_values=True)),
        request_headers=_pairs(request.get("headers"), f"{where}.request.headers"),
        request_body=_request_body(request, f"{where}.request"),
        status=status,
        response_headers=response_headers,
        response_body=body,
        reason=str(response.get("statusText") or ""),
    )
    return origin, host, explicit, exchange


def parse_har(text: str | bytes, service: str | None = None) -> HarImport:
    """The exchanges of a HAR log, grouped by origin (or all under ``service``).

    With ``service`` and entries from several origins, the service gets no ``upstream:``.

    Raises:
        HarError: the text is not JSON, or not a HAR log.
    """
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise HarError(f"not JSON: {exc}") from None
    log = _mapping(_mapping(document, "the HAR file").get("log"), "log")
    entries = log.get("entries")
    if not isinstance(entries, list):
        raise HarError("log.entries must be a list")
    return grouped((_entry(raw, index) for index, raw in enumerate(entries)), service)
