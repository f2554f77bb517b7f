"""A stub's ``webhooks:`` in the stub-file form → WebhookSpec: calls made after it answers.

```yaml
webhooks:
  - url: http://127.0.0.1:9000/callbacks/paid
    method: POST            # the default
    delay_ms: 50            # after the answer was sent
    headers: {X-Signature: abc}
    json: {order: 42, status: paid}     # or body: text
```

Destinations follow the upstream rules: link-local and cloud-metadata addresses are refused
here for a literal host and again at connect time for every resolved address (webhooks.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from .addresses import refused_address
from .stubspec import (
    MAX_DELAY_MS,
    Problems,
    check_keys,
    expect_int,
    expect_mapping,
    parse_response_headers,
    type_name,
)

__all__ = ["MAX_WEBHOOKS", "WEBHOOK_KEYS", "WebhookSpec", "parse_webhooks"]

KeyPath = tuple[str | int, ...]
WEBHOOK_KEYS: Final = ("url", "method", "delay_ms", "headers", "json", "body")
MAX_WEBHOOKS: Final = 16  # per stub: a stub is a test double, not a fan-out service
_METHODS: Final = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class WebhookSpec:
    """One call a stub makes after it answered."""

    url: str
    method: str = "POST"
    delay_ms: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


def parse_webhooks(raw: Any, at: KeyPath, out: Problems) -> tuple[WebhookSpec, ...]:
    """``webhooks:`` → specs; every problem located, none returned when there is one."""
    if not isinstance(raw, list) or not raw:
        out.add(at, "webhooks is a non-empty list of calls, each with a url")
        return ()
    if len(raw) > MAX_WEBHOOKS:
        out.add(at, f"at most {MAX_WEBHOOKS} webhooks a stub, got {len(raw)}")
        return ()
    before = len(out.items)
    parsed = [_parse_one(item, (*at, i), out) for i, item in enumerate(raw)]
    if len(out.items) != before:
        return ()
    return tuple(p for p in parsed if p is not None)


def _parse_one(raw: Any, at: KeyPath, out: Problems) -> WebhookSpec | None:
    spec = expect_mapping(raw, at, out, "a webhook")
    if spec is None:
        return None
    check_keys(spec, WEBHOOK_KEYS, at, out)
    url = spec.get("url")
    if not isinstance(url, str):
        out.add((*at, "url"), f"url is an http(s) URL, got {type_name(url)}")
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        out.add((*at, "url"), f"url is an http(s) URL, got {url!r}")
        return None
    refused = refused_address(parts.hostname)
    if refused:
        out.add((*at, "url"), f"{url!r} is refused: {refused}")
        return None
    method = spec.get("method", "POST")
    if not isinstance(method, str) or method.upper() not in _METHODS:
        out.add((*at, "method"), f"method is one of {', '.join(sorted(_METHODS))}, got {method!r}")
        return None
    delay = 0
    if "delay_ms" in spec:
        delay = expect_int(spec["delay_ms"], (*at, "delay_ms"), out, 0, MAX_DELAY_MS) or 0
    headers = parse_response_headers(spec.get("headers", {}), (*at, "headers"), out)
    if "json" in spec and "body" in spec:
        out.add(at, "give json or body, not both")
        return None
    body = b""
    if "json" in spec:
        body = json.dumps(spec["json"], ensure_ascii=False, separators=(",", ":")).encode()
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers = (*headers, ("Content-Type", "application/json"))
    elif "body" in spec:
        if not isinstance(spec["body"], str):
            out.add((*at, "body"), f"body is text, got {type_name(spec['body'])}")
            return None
        body = spec["body"].encode()
    return WebhookSpec(url, method.upper(), delay, headers, body)
