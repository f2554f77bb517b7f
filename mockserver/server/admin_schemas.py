"""The schemas of the admin API's OpenAPI document (admin_openapi.py): what each route takes
and answers, checked against real answers by tests/integration/test_openapi.py."""

from __future__ import annotations

from typing import Any

from mockserver.core.model import Fault

__all__ = ["SCHEMAS", "ref"]


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


MATCHER = {
    "description": "a string (equals) or a matcher mapping",
    "type": ["string", "object", "number", "boolean"],
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "detail"],
        "properties": {
            "error": {"type": "string"},
            "detail": {"type": "string"},
            "problems": {"type": "array", "items": ref("Problem")},
        },
    },
    "Problem": {
        "type": "object",
        "required": ["file", "message"],
        "properties": {
            "file": {"type": "string"},
            "stub": {"type": ["string", "null"]},
            "key": {"type": ["string", "null"]},
            "line": {"type": ["integer", "null"]},
            "column": {"type": ["integer", "null"]},
            "message": {"type": "string"},
        },
    },
    "Health": {
        "type": "object",
        "description": "With a token set, a caller without it gets only status and message",
        "required": ["status"],
        "properties": {
            "status": {"const": "ok"},
            "message": {"type": "string", "description": "serving, or that a reload failed"},
            "version": {"type": "string"},
            "services": {"type": "integer"},
            "stubs": {"type": "integer"},
            "journal": {
                "type": "object",
                "required": ["size", "max"],
                "properties": {"size": {"type": "integer"}, "max": {"type": "integer"}},
            },
            "workers": {
                "description": "serve --workers: each worker process",
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["index", "pid", "served"],
                    "properties": {k: {"type": "integer"} for k in ("index", "pid", "served")},
                },
            },
            "state": {
                "description": "where shared state lives (serve --state); with Redis "
                "unreachable the status stays ok: static stubs keep serving",
                "type": "object",
                "required": ["store"],
                "properties": {
                    "store": {"enum": ["memory", "redis"]},
                    "location": {"type": "string", "description": "the URL, password hidden"},
                    "available": {"type": "boolean"},
                    "error": {"type": ["string", "null"]},
                },
            },
            "last_reload": {
                "type": "object",
                "required": ["ok", "at", "problems", "message"],
                "properties": {
                    "ok": {"type": "boolean"},
                    "at": {"type": ["number", "null"]},
                    "problems": {"type": "array", "items": ref("Problem")},
                    "message": {"type": ["string", "null"]},
                },
            },
        },
    },
    "Services": {
        "type": "object",
        "required": ["services"],
        "properties": {
            "services": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "port", "url", "stubs"],
                    "properties": {
                        "name": {"type": "string"},
                        "port": {"type": ["integer", "null"]},
                        "declared_port": {"type": ["integer", "null"]},
                        "url": {"type": "string"},
                        "stubs": {"type": "integer"},
                        "upstream": {"type": ["string", "null"]},
                        "sources": {"type": "array", "items": {"type": "string"}},
                    },
                },
            }
        },
    },
    "StubInput": {
        "type": "object",
        "description": "A stub in the stub-file keys, plus 'service' when several share the port.",
        "properties": {
            "id": {"type": "string"},
            "service": {"type": "string"},
            "description": {"type": "string"},
            "priority": {"type": "integer"},
            "request": {"type": "object"},
            "response": {"type": "object"},
            "responses": {"type": "array", "items": {"type": "object"}},
        },
        "additionalProperties": False,
    },
    "Stub": {
        "type": "object",
        "required": ["id", "service", "origin", "source", "priority", "hits"],
        "properties": {
            "id": {"type": "string"},
            "service": {"type": "string"},
            "origin": {"enum": ["file", "admin"]},
            "source": {"type": "string"},
            "priority": {"type": "integer"},
            "hits": {"type": "integer"},
            "description": {"type": "string"},
            "request": {"type": "object"},
            "response": {"type": "object"},
            "responses": {"type": "array", "items": {"type": "object"}},
        },
    },
    "StubList": {
        "type": "object",
        "required": ["stubs"],
        "properties": {"stubs": {"type": "array", "items": ref("Stub")}},
    },
    "RequestPattern": {
        "type": "object",
        "description": "The keys of a stub's request: method, path, path_regex, query, ...",
        "properties": {
            "method": {"type": ["string", "array"]},
            "path": {"type": "string"},
            "path_regex": {"type": "string"},
            "query": {"type": "object", "additionalProperties": MATCHER},
            "headers": {"type": "object", "additionalProperties": MATCHER},
            "cookies": {"type": "object", "additionalProperties": MATCHER},
            "body": {},
        },
        "additionalProperties": False,
    },
    "NearMiss": {
        "type": "object",
        "required": ["stub", "service", "route", "source", "first_difference", "differences"],
        "properties": {
            "stub": {"type": "string"},
            "service": {"type": "string"},
            "route": {"type": "string"},
            "source": {"type": "string"},
            "first_difference": {"oneOf": [ref("Difference"), {"type": "null"}]},
            "differences": {"type": "array", "items": ref("Difference")},
        },
    },
    "Difference": {
        "type": "object",
        "required": ["field", "expected", "actual", "why"],
        "properties": {k: {"type": "string"} for k in ("field", "expected", "actual", "why")},
    },
    "JournalEntry": {
        "type": "object",
        "required": [
            "seq",
            "at",
            "method",
            "path",
            "query",
            "headers",
            "body",
            "body_encoding",
            "body_size",
            "body_truncated",
            "matched",
            "stub",
            "service",
            "status",
        ],
        "properties": {
            "seq": {"type": "integer"},
            "at": {"type": "string"},
            "method": {"type": "string"},
            "path": {"type": "string"},
            "query": {"type": "object"},
            "headers": {"type": "object"},
            "body": {"type": "string"},
            "body_encoding": {"enum": ["text", "base64"]},
            "body_size": {"type": "integer"},
            "body_truncated": {"type": "boolean"},
            "content_encoding": {"type": ["string", "null"]},
            "error": {"type": "string"},
            "fault": {
                "enum": [fault.value for fault in Fault],
                "description": "the stub broke the connection this way instead of answering",
            },
            "matched": {"type": "boolean"},
            "stub": {"type": ["string", "null"]},
            "service": {"type": ["string", "null"]},
            "status": {"type": "integer"},
            "nearest": {"type": "array", "items": ref("NearMiss")},
            "worker": {"type": "integer", "description": "serve --workers: which one served it"},
        },
    },
    "RequestList": {
        "type": "object",
        "required": ["requests"],
        "properties": {
            "requests": {"type": "array", "items": ref("JournalEntry")},
            "total": {"type": "integer"},
            "offset": {"type": "integer"},
            "journal_size": {"type": "integer"},
        },
    },
    "ScenarioList": {
        "type": "object",
        "required": ["scenarios"],
        "properties": {
            "scenarios": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "state"],
                    "properties": {"name": {"type": "string"}, "state": {"type": "string"}},
                },
            }
        },
    },
    "ScenarioState": {
        "type": "object",
        "required": ["state"],
        "properties": {"name": {"type": "string"}, "state": {"type": "string"}},
    },
    "WebhookList": {
        "type": "object",
        "required": ["webhooks"],
        "properties": {
            "webhooks": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["seq", "at", "stub", "method", "url", "status", "error"],
                    "properties": {
                        "seq": {"type": "integer"},
                        "at": {"type": "string"},
                        "stub": {"type": "string"},
                        "method": {"type": "string"},
                        "url": {"type": "string"},
                        "status": {"type": ["integer", "null"]},
                        "error": {"type": ["string", "null"]},
                        "duration_ms": {"type": "number"},
                    },
                },
            }
        },
    },
    "Count": {
        "type": "object",
        "required": ["count"],
        "properties": {"count": {"type": "integer", "minimum": 0}},
    },
    "Status": {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"type": "string"},
            "services": {"type": "integer"},
            "stubs": {"type": "integer"},
        },
    },
    "Deleted": {
        "type": "object",
        "required": ["deleted"],
        "properties": {"deleted": {"type": "string"}},
    },
    "Namespaces": {
        "type": "object",
        "required": ["namespaces", "max_namespaces", "namespace_ttl"],
        "properties": {
            "namespaces": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "idle_seconds", "runtime_stubs", "requests"],
                    "properties": {
                        "name": {"type": "string"},
                        "idle_seconds": {"type": "number"},
                        "runtime_stubs": {"type": "integer"},
                        "requests": {"type": "integer"},
                    },
                },
            },
            "max_namespaces": {"type": "integer"},
            "namespace_ttl": {"type": "number"},
        },
    },
}

# Every route is also served under /__ns/{name}/ for that namespace (namespaces.py).
