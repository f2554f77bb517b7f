"""Service and replay compared on the wire, as a client sees each answer (issue 16)."""

from __future__ import annotations

import gzip
import zlib
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import brotli
import requests
import zstandard

from .fidelity import SQUASH, squash
from .upstream import recording

Request = tuple[str, str, dict[str, str]]  # method, path and query, headers


def send(base: str, request: Request) -> requests.Response:
    method, target, headers = request
    return requests.request(
        method, base + target, headers=headers, allow_redirects=False, stream=True, timeout=10
    )


def decoded(body: bytes, coding: str | None) -> bytes:
    """The body as a client that knows ``coding`` reads it."""
    decoders: dict[str, Any] = {
        "gzip": gzip.decompress,
        "deflate": zlib.decompress,
        "br": brotli.decompress,
        "zstd": lambda data: zstandard.ZstdDecompressor().decompressobj().decompress(data),
        SQUASH: squash,
    }
    return decoders[coding](body) if coding else body


def accepted(headers: dict[str, str]) -> set[str]:
    given = headers.get("Accept-Encoding", "gzip, deflate, br")  # requests' own
    return {token.split(";")[0].strip() for token in given.split(",")}


def on_the_wire(base: str, request: Request) -> dict[str, Any]:
    """What a client sees of an answer, in terms that do not depend on the server's address
    or the moment."""
    with send(base, request) as answer:
        raw = answer.raw.read(decode_content=False)
        headers = answer.headers
    coding = headers.get("Content-Encoding")
    location = headers.get("Location")
    date, expires = headers.get("Date"), headers.get("Expires")
    cookies = [
        (value.split("=", 1)[0], value.split(";", 1)[1:])
        for name, value in answer.raw.headers.items()
        if name.lower() == "set-cookie"
    ]
    return {
        "status": (answer.status_code, answer.reason),
        "type": headers.get("Content-Type"),
        "coding usable": coding is None or coding in accepted(request[2]),
        "range": headers.get("Content-Range"),
        "etag": headers.get("ETag"),
        "last modified": headers.get("Last-Modified"),
        # To ten seconds: the second may turn between the two headers being written.
        "expires after date": (
            round(
                (parsedate_to_datetime(expires) - parsedate_to_datetime(date)).total_seconds(), -1
            )
            if expires and date
            else None
        ),
        "location stays on": (
            urlsplit(urljoin(base + request[1], location)).netloc == urlsplit(base).netloc
            if location
            else None
        ),
        "location path": urlsplit(location).path if location else None,
        "set-cookie": cookies,
        "length": headers.get("Content-Length") if request[0] == "HEAD" else None,
        "answered by": headers.get("X-Answered-By"),
        "body": decoded(raw, coding) if raw else raw,  # a HEAD's or a 304's: nothing coded
        "vary": {t.strip().lower() for t in headers.get("Vary", "").split(",") if t.strip()},
    }


def same_on_the_wire(service: dict[str, Any], replay: dict[str, Any]) -> list[str]:
    """The fields that differ. Allowed, each for a reason:

    - the replay may add Accept-Encoding and Accept to Vary (it compresses where the service
      did not, and offers JSON as MessagePack), never drop a token;
    - a 304 carries no Content-Type (RFC 9110 §15.4.5), and its ETag is the one a 200 to the
      same request carries (§15.4.5: nginx sends the uncoded body's strong tag instead), the
      same tag but for its strength;
    - a 412's or 416's body is the replay's own explanation (Content-Range must agree);
    - a HEAD may declare the length its GET has where the service declared none (nginx
      compresses a HEAD answer and sends no Content-Length).
    """
    skipped = {"vary"}
    status = service["status"][0]
    if status == 304:
        skipped.add("type")
        if (service["etag"] or "").removeprefix("W/") == (replay["etag"] or "").removeprefix("W/"):
            skipped.add("etag")
    if status in (412, 416):
        skipped |= {"type", "body", "etag", "last modified"}
    if service["length"] is None:
        skipped.add("length")
    differ = [k for k in service if k not in skipped and service[k] != replay[k]]
    added = replay["vary"] - service["vary"]
    if not service["vary"] <= replay["vary"] or added - {"accept-encoding", "accept"}:
        differ.append("vary")
    return differ


def record(url: str, out: Path, requests_: list[Request]) -> None:
    """``requests_`` sent through a recording proxy in front of ``url``; the file in ``out``."""
    with recording(url, out) as proxy:
        for request in requests_:
            with send(proxy.url, request) as answer:
                answer.raw.read()


def differences(
    asked: list[Request], direct: list[dict[str, Any]], replayed: list[dict[str, Any]]
) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Per request whose answers differ: the service's and the replay's differing fields."""
    found = {}
    for request, service, replay in zip(asked, direct, replayed, strict=True):
        fields = same_on_the_wire(service, replay)
        if fields:
            found[" ".join(map(str, request))] = (
                {k: service[k] for k in fields},
                {k: replay[k] for k in fields},
            )
    return found
