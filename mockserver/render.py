"""A ResponseSpec turned into the status, headers and bytes to send, once, at load time."""

from __future__ import annotations

import json
from typing import Any, Final

from .model import PreparedResponse, ResponseSpec

__all__ = ["encode_json", "prepare"]

JSON_TYPE: Final = "application/json"
TEXT_TYPE: Final = "text/plain; charset=utf-8"
BINARY_TYPE: Final = "application/octet-stream"


def encode_json(value: Any) -> bytes:
    """Compact UTF-8 JSON, as services usually send it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def prepare(spec: ResponseSpec) -> PreparedResponse:
    """Headers and body for ``spec``: Content-Type from the body kind unless the stub sets one."""
    headers = list(spec.headers)
    has_type = any(name.lower() == "content-type" for name, _ in headers)
    if not has_type and spec.content_type and spec.body:
        headers.append(("Content-Type", spec.content_type))
    return PreparedResponse(spec.status, tuple(headers), spec.body, spec.delay_ms)
