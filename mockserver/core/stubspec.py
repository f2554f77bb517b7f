"""One stub's ``request`` and ``response`` in the stub-file form → RequestSpec and ResponseSpec.

Every problem is reported with its key path, and parsing goes on after a problem so that a
user sees all that is wrong in one run.
"""

from __future__ import annotations

import base64
import binascii
import json
import mimetypes
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final

from mockserver.core.errors import KeyPath, Problems
from mockserver.core.headernames import CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING, lowered
from mockserver.core.model import Fault, RequestSpec, ResponseSpec, Timing
from mockserver.core.paths import PathSpec, parse_path_regex, parse_path_template
from mockserver.core.patterns import MATCHER_NAMES, MODIFIERS, Pattern
from mockserver.core.patternspec import parse_pattern, valid_matchers
from mockserver.core.render import BINARY_TYPE, JSON_TYPE, TEXT_TYPE
from mockserver.core.replayed import parse_expires_in, parse_reason
from mockserver.core.shapes import check_keys, expect_int, expect_mapping, shared, type_name

__all__ = [
    "BodyFileReader",
    "parse_gzip",
    "parse_request",
    "parse_response",
    "parse_response_headers",
]

BodyFileReader = Callable[[str], bytes]
"""Reads a ``body_file`` (relative path) confined to the stubs root; raises ValueError(why)."""

REQUEST_KEYS: Final = (
    "method",
    "path",
    "path_regex",
    "url",
    "query",
    "headers",
    "cookies",
    "body",
)
RESPONSE_KEYS: Final = (
    "status",
    "headers",
    "json",
    "body",
    "body_file",
    "body_base64",
    "etag",
    "last_modified",
    "gzip",
    "delay_ms",
    "dribble",
    "fault",
    "template",
    "reason",
    "expires_in",
    "publish",  # messages sent after the answer: read by stubfile.parse_stub (amqpspec.py)
)
BODY_KEYS: Final = ("json", "body", "body_file", "body_base64")
# Framing is the server's job: a stub that sets these would contradict the bytes sent.
SERVER_HEADERS: Final = lowered(CONTENT_LENGTH, TRANSFER_ENCODING, CONNECTION)
MAX_DELAY_MS: Final = 600_000
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
# C0 but tab, DEL, and the C1 controls (NEL, CSI, ...), which terminals and parsers act on too.
_BAD_HEADER_CHARS: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def parse_gzip(raw: Any, at: KeyPath, out: Problems) -> str | None:
    if raw is True or raw == "true":
        return "true"
    if raw is False or raw == "false":
        return "false"
    if raw == "auto":
        return "auto"
    out.add(at, f"gzip takes auto, true or false, got {raw!r}")
    return None


# ---------------------------------------------------------------------------------------------
# request


def parse_request(raw: Any, at: KeyPath, out: Problems) -> RequestSpec | None:
    """A RequestSpec from a stub's ``request`` mapping (absent means 'any request')."""
    if raw is None:
        return RequestSpec()
    spec = expect_mapping(raw, at, out, "request")
    if spec is None:
        return None
    before = len(out.items)
    check_keys(spec, REQUEST_KEYS, at, out)
    methods = _parse_methods(spec.get("method"), (*at, "method"), out)
    path = _parse_path(spec, at, out)
    query = _parse_named(spec.get("query"), (*at, "query"), out, lower=False)
    headers = _parse_named(spec.get("headers"), (*at, "headers"), out, lower=True)
    cookies = _parse_named(spec.get("cookies"), (*at, "cookies"), out, lower=False)
    body = _parse_body_matchers(spec.get("body"), (*at, "body"), out)
    url = None if spec.get("url") is None else parse_pattern(spec["url"], (*at, "url"), out)
    if len(out.items) != before:
        return None
    return RequestSpec(methods, path, query, headers, cookies, body, url)


def _parse_methods(raw: Any, at: KeyPath, out: Problems) -> frozenset[str] | None:
    if raw is None:
        return None
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        out.add(at, "method list is empty; leave method out to accept any method")
        return None
    methods = set()
    for i, item in enumerate(items):
        where = (*at, i) if isinstance(raw, list) else at
        if not isinstance(item, str) or not _TOKEN.match(item):
            out.add(where, f"a method is a word such as GET or POST, got {item!r}")
            continue
        methods.add(item.upper())
    return shared(frozenset(methods))


def _parse_path(spec: Mapping[str, Any], at: KeyPath, out: Problems) -> PathSpec | None:
    path, path_regex = spec.get("path"), spec.get("path_regex")
    if path is not None and path_regex is not None:
        out.add((*at, "path_regex"), "give path or path_regex, not both")
        return None
    key, raw = ("path", path) if path is not None else ("path_regex", path_regex)
    if raw is None:
        return None
    if not isinstance(raw, str):
        out.add((*at, key), f"{key} must be a string, got {type_name(raw)}")
        return None
    parsed, why = parse_path_template(raw) if key == "path" else parse_path_regex(raw)
    if why:
        out.add((*at, key), why)
    return parsed


def _parse_named(
    raw: Any, at: KeyPath, out: Problems, *, lower: bool
) -> tuple[tuple[str, Pattern], ...]:
    if raw is None:
        return ()
    mapping = expect_mapping(raw, at, out, at[-1] if isinstance(at[-1], str) else "value")
    if mapping is None:
        return ()
    result = []
    for name, matcher_raw in mapping.items():
        pattern = parse_pattern(matcher_raw, (*at, name), out)
        if pattern is not None:
            result.append((str(name).lower() if lower else str(name), pattern))
    return tuple(result)


def _parse_body_matchers(raw: Any, at: KeyPath, out: Problems) -> tuple[Pattern, ...]:
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    result = []
    for i, item in enumerate(items):
        where = (*at, i) if isinstance(raw, list) else at
        if isinstance(item, dict) and item and not any(k in _MATCHER_KEYS for k in item):
            out.add(
                where,
                "a body matcher is a string or a mapping of one of "
                f"{valid_matchers()}; for a JSON body write json: or json_subset: around it",
            )
            continue
        pattern = parse_pattern(item, where, out)
        if pattern is not None:
            result.append(pattern)
    return tuple(result)


_MATCHER_KEYS: Final = frozenset({*MATCHER_NAMES, *MODIFIERS})


# ---------------------------------------------------------------------------------------------
# response


def parse_response(
    raw: Any, at: KeyPath, out: Problems, read_body_file: BodyFileReader
) -> ResponseSpec | None:
    """A ResponseSpec from a stub's ``response`` mapping (absent means an empty 200)."""
    if raw is None:
        return ResponseSpec()
    spec = expect_mapping(raw, at, out, "response")
    if spec is None:
        return None
    before = len(out.items)
    check_keys(spec, RESPONSE_KEYS, at, out)
    templated = spec.get("template", False)
    if not isinstance(templated, bool):
        out.add((*at, "template"), f"template is true or false, got {templated!r}")
    status = 200
    if "status" in spec and not (templated is True and isinstance(spec["status"], str)):
        status = expect_int(spec["status"], (*at, "status"), out, 100, 599) or 200
    headers = parse_response_headers(spec.get("headers"), (*at, "headers"), out)
    body, content_type = _parse_body(spec, at, out, read_body_file)
    etag = _parse_etag(spec.get("etag", "auto"), (*at, "etag"), out)
    last_modified = None
    if "last_modified" in spec:
        last_modified = _parse_http_date(spec["last_modified"], (*at, "last_modified"), out)
    gzip = None
    if "gzip" in spec:
        gzip = parse_gzip(spec["gzip"], (*at, "gzip"), out)
    delay, lognormal = _parse_delay(spec.get("delay_ms", 0), (*at, "delay_ms"), out)
    dribble = _parse_dribble(spec["dribble"], (*at, "dribble"), out) if "dribble" in spec else None
    timing = Timing(lognormal, dribble) if lognormal or dribble else None
    fault = _parse_fault(spec, body, at, out) if "fault" in spec else None
    reason, expires_in = parse_reason(spec, at, out), parse_expires_in(spec, at, out)
    template = None
    if templated is True and len(out.items) == before:
        from mockserver.core.templates import (
            build_template,  # Jinja2, with the first template: not at start
        )

        template = build_template(spec, headers, body, at, out)
    if len(out.items) != before:
        return None
    fault_name, fault_rate = fault if fault is not None else (None, 1.0)
    return ResponseSpec(
        status,
        headers,
        body,
        content_type,
        etag,
        last_modified,
        gzip,  # type: ignore[arg-type]
        delay,
        timing,
        fault_name,
        fault_rate,
        template,
        reason=reason,
        expires_in=expires_in,
    )


def _parse_fault(
    spec: Mapping[str, Any], body: bytes, at: KeyPath, out: Problems
) -> tuple[Fault, float] | None:
    """``fault: NAME`` (every time) or ``fault: {kind: NAME, rate: 0.1}`` (that share of the
    requests, drawn by the server; ``serve --seed`` makes the draws repeatable)."""
    raw = spec["fault"]
    where: KeyPath = (*at, "fault")
    rate = 1.0
    if isinstance(raw, dict):
        check_keys(raw, ("kind", "rate"), where, out)
        if "rate" in raw:
            given = raw["rate"]
            if isinstance(given, bool) or not isinstance(given, int | float) or not 0 < given <= 1:
                out.add((*where, "rate"), f"rate is a share from 0 (excluded) to 1, got {given!r}")
                return None
            rate = float(given)
        raw, where = raw.get("kind"), (*where, "kind")
    fault = next((f for f in Fault if f.value == raw), None)
    if fault is None:
        out.add(where, f"fault is one of {', '.join(Fault)}, got {raw!r}")
        return None
    if fault is Fault.TRUNCATED_BODY and len(body) < 2:
        out.add(where, "truncated_body cuts the response body in half: give a body")
        return None
    return fault, rate


def parse_response_headers(raw: Any, at: KeyPath, out: Problems) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    mapping = expect_mapping(raw, at, out, "headers")
    if mapping is None:
        return ()
    result = []
    for name, value in mapping.items():
        where = (*at, name)
        if not isinstance(name, str) or not _TOKEN.match(name):
            out.add(where, f"{name!r} is not a valid header name")
            continue
        if name.lower() in SERVER_HEADERS:
            out.add(where, f"{name} is set by the server from the body it sends; leave it out")
            continue
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                out.add(
                    where, f"a header value is a string (or a list of them), got {type_name(item)}"
                )
                continue
            text = str(item)
            if _BAD_HEADER_CHARS.search(text):
                out.add(where, "header value contains control characters (CR, LF, NUL...)")
                continue
            result.append((name, text))
    return tuple(result)


def _parse_body(
    spec: Mapping[str, Any], at: KeyPath, out: Problems, read_body_file: BodyFileReader
) -> tuple[bytes, str | None]:
    given = [key for key in BODY_KEYS if key in spec]
    if len(given) > 1:
        out.add(
            (*at, given[1]), f"give one body: {' | '.join(BODY_KEYS)} (found {', '.join(given)})"
        )
        return b"", None
    if not given:
        return b"", None
    key = given[0]
    raw, where = spec[key], (*at, key)
    if key == "json":
        try:
            return encode_json_strict(raw), JSON_TYPE
        except ValueError as exc:
            out.add(where, f"not representable as JSON: {exc}")
            return b"", None
    if key == "body":
        if isinstance(raw, dict | list):
            out.add(where, "body is text; for a JSON body use json: instead of body:")
            return b"", None
        if raw is None or isinstance(raw, bool):
            out.add(where, f"body is text, got {type_name(raw)}")
            return b"", None
        return str(raw).encode(), TEXT_TYPE
    if key == "body_base64":
        if not isinstance(raw, str):
            out.add(where, f"body_base64 takes a base64 string, got {type_name(raw)}")
            return b"", None
        try:
            return base64.b64decode("".join(raw.split()), validate=True), BINARY_TYPE
        except (binascii.Error, ValueError) as exc:
            out.add(where, f"not valid base64: {exc}")
            return b"", None
    if not isinstance(raw, str) or not raw:
        out.add(where, f"body_file takes a relative file path, got {type_name(raw)}")
        return b"", None
    try:
        data = read_body_file(raw)
    except ValueError as exc:
        out.add(where, str(exc))
        return b"", None
    guessed, _ = mimetypes.guess_type(raw)
    return data, guessed or BINARY_TYPE


def encode_json_strict(value: Any) -> bytes:
    """encode_json, refusing NaN and Infinity (not JSON) and non-JSON types."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return text.encode()
    except (TypeError, ValueError) as exc:
        raise ValueError(str(exc)) from None
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _parse_etag(raw: Any, at: KeyPath, out: Problems) -> str | bool:
    if raw == "auto" or raw is False:
        return raw  # type: ignore[no-any-return]
    if isinstance(raw, str) and raw and not _BAD_HEADER_CHARS.search(raw):
        return raw
    out.add(at, f'etag takes auto, false or a literal tag such as "v1", got {raw!r}')
    return "auto"


def _parse_http_date(raw: Any, at: KeyPath, out: Problems) -> datetime | None:
    if isinstance(raw, str):
        parsed: datetime | None = None
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            try:
                parsed = parsedate_to_datetime(raw)
            except (TypeError, ValueError, IndexError):
                parsed = None
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    out.add(
        at,
        "last_modified takes an ISO 8601 date (2021-06-29T21:32:25Z) or an HTTP date "
        f"(Tue, 29 Jun 2021 21:32:25 GMT), got {raw!r}",
    )
    return None


def _parse_delay(
    raw: Any, at: KeyPath, out: Problems
) -> tuple[tuple[int, int], tuple[int, float] | None]:
    """(fixed or uniform range, lognormal (median, sigma) or None)."""
    if isinstance(raw, dict) and "lognormal" in raw:
        check_keys(raw, ("lognormal",), at, out)
        spec = expect_mapping(raw["lognormal"], (*at, "lognormal"), out, "a lognormal delay")
        if spec is None:
            return (0, 0), None
        check_keys(spec, ("median", "sigma"), (*at, "lognormal"), out)
        median = expect_int(spec.get("median"), (*at, "lognormal", "median"), out, 1, MAX_DELAY_MS)
        sigma = spec.get("sigma")
        if isinstance(sigma, bool) or not isinstance(sigma, int | float) or not 0 < sigma <= 4:
            out.add(
                (*at, "lognormal", "sigma"), f"sigma is a number above 0, at most 4, got {sigma!r}"
            )
            return (0, 0), None
        return ((0, 0), (median, float(sigma))) if median is not None else ((0, 0), None)
    return _parse_range(raw, at, out), None


def _parse_dribble(raw: Any, at: KeyPath, out: Problems) -> tuple[int, int] | None:
    spec = expect_mapping(raw, at, out, "dribble")
    if spec is None:
        return None
    check_keys(spec, ("chunks", "duration_ms"), at, out)
    chunks = expect_int(spec.get("chunks"), (*at, "chunks"), out, 2, 1000)
    duration = expect_int(spec.get("duration_ms"), (*at, "duration_ms"), out, 1, MAX_DELAY_MS)
    return (chunks, duration) if chunks is not None and duration is not None else None


def _parse_range(raw: Any, at: KeyPath, out: Problems) -> tuple[int, int]:
    if isinstance(raw, dict):
        check_keys(raw, ("min", "max", "lognormal"), at, out)
        if "min" not in raw or "max" not in raw:
            out.add(at, "a delay range needs both min and max, e.g. {min: 10, max: 50}")
            return (0, 0)
        lo = expect_int(raw["min"], (*at, "min"), out, 0, MAX_DELAY_MS)
        hi = expect_int(raw["max"], (*at, "max"), out, 0, MAX_DELAY_MS)
        if lo is None or hi is None:
            return (0, 0)
        if lo > hi:
            out.add(at, f"min ({lo}) is greater than max ({hi})")
            return (0, 0)
        return shared((lo, hi))
    value = expect_int(raw, at, out, 0, MAX_DELAY_MS)
    return shared((value, value)) if value is not None else (0, 0)
