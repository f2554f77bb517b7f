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
import random
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final
from urllib.parse import urlsplit

from mockserver.core.addresses import refused_address
from mockserver.core.errors import KeyPath, Problems
from mockserver.core.headernames import CONTENT_TYPE, LOWER_CONTENT_TYPE
from mockserver.core.model import Piece, WebhookSpec
from mockserver.core.request import RequestView
from mockserver.core.shapes import check_keys, expect_int, expect_mapping, type_name
from mockserver.core.stubspec import MAX_DELAY_MS, parse_response_headers

__all__ = ["MAX_WEBHOOKS", "WEBHOOK_KEYS", "WebhookSpec", "parse_webhooks", "rendered_calls"]

WEBHOOK_KEYS: Final = ("url", "method", "delay_ms", "headers", "json", "body")
MAX_WEBHOOKS: Final = 16  # per stub: a stub is a test double, not a fan-out service
_METHODS: Final = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


def parse_webhooks(
    raw: Any, at: KeyPath, out: Problems, *, templated: bool = False
) -> tuple[WebhookSpec, ...]:
    """``webhooks:`` → specs; every problem located, none returned when there is one.

    ``templated``: the stub's response has ``template: true``, and so do its webhooks."""
    if not isinstance(raw, list) or not raw:
        out.add(at, "webhooks is a non-empty list of calls, each with a url")
        return ()
    if len(raw) > MAX_WEBHOOKS:
        out.add(at, f"at most {MAX_WEBHOOKS} webhooks a stub, got {len(raw)}")
        return ()
    before = len(out.items)
    parsed = [_parse_one(item, (*at, i), out, templated) for i, item in enumerate(raw)]
    if len(out.items) != before:
        return ()
    return tuple(p for p in parsed if p is not None)


def _parse_one(raw: Any, at: KeyPath, out: Problems, templated: bool) -> WebhookSpec | None:
    spec = expect_mapping(raw, at, out, "a webhook")
    if spec is None:
        return None
    check_keys(spec, WEBHOOK_KEYS, at, out)
    url = spec.get("url")
    if not isinstance(url, str):
        out.add((*at, "url"), f"url is an http(s) URL, got {type_name(url)}")
        return None
    url_template: Piece | str | None = None
    if templated:
        # Jinja2 with the first template only (a plain webhook never loads it).
        from jinja2 import TemplateError

        from mockserver.core.templates import compile_piece

        try:
            url_template = compile_piece(url, "webhooks.url")
        except TemplateError as exc:
            out.add((*at, "url"), f"template syntax error: {exc.message or exc}")
            return None
    if url_template is None or isinstance(url_template, str):  # checked now; else rendered
        refused = _refused_url(url)
        if refused:
            out.add((*at, "url"), refused)
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
        if not any(k.lower() == LOWER_CONTENT_TYPE for k, _ in headers):
            headers = (*headers, (CONTENT_TYPE, "application/json"))
    elif "body" in spec:
        if not isinstance(spec["body"], str):
            out.add((*at, "body"), f"body is text, got {type_name(spec['body'])}")
            return None
        body = spec["body"].encode()
    template = None
    if templated:
        from mockserver.core.templates import build_template

        template = build_template(spec, headers, body, at, out)
        if template is None:
            return None
    return WebhookSpec(url, method.upper(), delay, headers, body, url_template, template)


def _refused_url(url: str) -> str | None:
    """Why ``url`` cannot be a webhook's destination, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"url is an http(s) URL, got {url!r}"
    refused = refused_address(parts.hostname)
    return f"{url!r} is refused: {refused}" if refused else None


def rendered_calls(
    specs: tuple[WebhookSpec, ...],
    view: RequestView,
    path_params: Mapping[str, str],
    rng: random.Random,
) -> tuple[WebhookSpec, ...]:
    """``specs`` with their templates rendered for this request (as they are when none has
    one); a call whose template fails or whose URL is refused carries why, and is not made."""
    if all(spec.template is None for spec in specs):
        return specs
    from mockserver.core.templates import TemplateFailure, render_call  # loaded: a template exists

    calls = []
    for spec in specs:
        if spec.template is None or spec.url_template is None:
            calls.append(spec)
            continue
        try:
            url, headers, body = render_call(
                spec.url_template, spec.template, view, path_params, rng, spec.headers, spec.body
            )
        except TemplateFailure as exc:
            calls.append(replace(spec, template=None, refused=f"template failed: {exc}"))
            continue
        calls.append(
            replace(
                spec, url=url, headers=headers, body=body, template=None, refused=_refused_url(url)
            )
        )
    return tuple(calls)
