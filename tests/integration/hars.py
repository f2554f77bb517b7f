"""HAR 1.2 files as a browser's devtools export them, for the import tests."""

from __future__ import annotations

from typing import Any


def har_entry(method: str, url: str, request: dict[str, Any], response: dict[str, Any]) -> Any:
    """One HAR 1.2 entry (http://www.softwareishard.com/blog/har-12-spec/)."""
    return {
        "pageref": "page_1",
        "startedDateTime": "2024-05-01T10:00:00.000+02:00",
        "time": 50,
        "request": {
            "method": method,
            "url": url,
            "httpVersion": "HTTP/2.0",
            "cookies": [],
            "queryString": [],
            "headersSize": -1,
            "bodySize": 0,
            **request,
        },
        "response": {
            "statusText": "",
            "httpVersion": "HTTP/2.0",
            "cookies": [],
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
            **response,
        },
        "cache": {},
        "timings": {"blocked": 1, "dns": 0, "connect": 0, "send": 0, "wait": 40, "receive": 9},
    }


def header(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in pairs]


def har_log(entries: list[Any]) -> dict[str, Any]:
    """A HAR 1.2 document holding ``entries``."""
    return {
        "log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, "entries": entries}
    }
