"""The admin API described as OpenAPI 3.1 (served at GET /__admin/openapi.json).

tests/integration/test_openapi.py validates real responses against these schemas, so the
document cannot drift from what the server sends.
"""

from __future__ import annotations

from typing import Any

from mockserver.core.version import __version__
from mockserver.server.admin_schemas import SCHEMAS, ref

__all__ = ["openapi_document"]


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(name)}}}


def _errors(*codes: int) -> dict[str, Any]:
    reasons = {
        400: "malformed JSON or query parameter",
        401: "a token is configured and the call did not send it",
        404: "no such stub",
        409: "conflict (id taken, the journal is off, no broker, or not the default namespace)",
        413: "body too large",
        415: "the body is not sent as application/json",
        422: "the stub or pattern has problems; each is located",
        503: "the broker is down or did not confirm the message",
    }
    return {str(c): _json("Error", reasons[c]) for c in codes}


_NAMESPACES = (
    "Each route is also served under /__ns/{name}/ (e.g. /__ns/ci-42/__admin/reset), on the "
    "state of namespace {name}: its runtime stubs, journal, sequences and resources over the "
    "shared file stubs; its first admin call creates it. A bad name is 400; a namespace past "
    "--max-namespaces is 429 with Retry-After; POST /__admin/reload is the server's only "
    "(409 in a namespace); a service request to a namespace not held is 404."
)

_STUB_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {"oneOf": [ref("StubInput"), {"type": "array", "items": ref("StubInput")}]}
        }
    },
}
_ID_PARAM = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of /__admin."""
    paths: dict[str, Any] = {
        "/__admin/health": {
            "get": {
                "summary": "Liveness and readiness; never needs the token",
                "security": [],
                "responses": {"200": _json("Health", "serving")},
            }
        },
        "/__admin/services": {
            "get": {
                "summary": "Each service: name, port, base URL, stub count",
                "responses": {"200": _json("Services", "the services"), **_errors(401)},
            }
        },
        "/__admin/stubs": {
            "get": {
                "summary": "Every stub served now, with its hit count",
                "responses": {"200": _json("StubList", "the stubs"), **_errors(401)},
            },
            "post": {
                "summary": "Add one stub or a list (all or nothing)",
                "requestBody": _STUB_BODY,
                "responses": {
                    "201": _json("StubList", "the stubs added"),
                    **_errors(400, 401, 409, 413, 415, 422),
                },
            },
            "put": {
                "summary": "Add or replace stubs by their ids, all or nothing, in one rebuild",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"type": "array", "items": ref("StubInput")}}
                    },
                },
                "responses": {
                    "200": _json("StubList", "the stubs stored"),
                    **_errors(400, 401, 413, 415, 422),
                },
            },
        },
        "/__admin/stubs/{id}": {
            "parameters": _ID_PARAM,
            "get": {
                "summary": "One stub",
                "responses": {"200": _json("Stub", "the stub"), **_errors(401, 404)},
            },
            "put": {
                "summary": "Add or replace the stub with this id",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("StubInput")}},
                },
                "responses": {
                    "200": _json("Stub", "replaced"),
                    "201": _json("Stub", "added"),
                    **_errors(400, 401, 413, 415, 422),
                },
            },
            "delete": {
                "summary": "Stop serving a stub (a file stub returns on reset or reload)",
                "responses": {"200": _json("Deleted", "removed"), **_errors(401, 404)},
            },
        },
        "/__admin/namespaces": {
            "get": {
                "summary": "The namespaces held, the limit and the idle time to live",
                "responses": {"200": _json("Namespaces", "the namespaces"), **_errors(401)},
            }
        },
        "/__admin/namespace": {
            "delete": {
                "summary": "End this namespace (under /__ns/{name}/; 409 in the default one)",
                "responses": {"200": _json("Deleted", "ended"), **_errors(401, 409)},
            }
        },
        "/__admin/reset": {
            "post": {
                "summary": "Back to the file stubs; journal and hit counts emptied",
                "responses": {"200": _json("Status", "reset"), **_errors(401)},
            }
        },
        "/__admin/reload": {
            "post": {
                "summary": "Re-read the stub files; a bad set keeps the previous one serving",
                "responses": {"200": _json("Status", "reloaded"), **_errors(401, 422)},
            }
        },
        "/__admin/requests": {
            "get": {
                "summary": "The journal, oldest first (newest last)",
                "parameters": [
                    {"name": n, "in": "query", "schema": {"type": "integer", "minimum": 0}}
                    for n in ("limit", "offset")
                ],
                "responses": {"200": _json("RequestList", "journal entries"), **_errors(400, 401)},
            },
            "delete": {
                "summary": "Empty the journal (hit counts stay)",
                "responses": {"200": _json("Status", "cleared"), **_errors(401)},
            },
        },
        "/__admin/requests/unmatched": {
            "get": {
                "summary": "Journaled requests no stub matched, each with its nearest stubs",
                "responses": {"200": _json("RequestList", "unmatched requests"), **_errors(401)},
            }
        },
        "/__admin/scenarios": {
            "get": {
                "summary": "Each scenario the stubs name, with its state (started until moved)",
                "responses": {"200": _json("ScenarioList", "scenarios"), **_errors(401)},
            }
        },
        "/__admin/scenarios/reset": {
            "post": {
                "summary": "Every scenario back to started",
                "responses": {"200": _json("ScenarioList", "scenarios"), **_errors(401)},
            }
        },
        "/__admin/scenarios/{name}": {
            "put": {
                "summary": "Move a scenario to a state",
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("ScenarioState")}},
                },
                "responses": {
                    "200": _json("ScenarioState", "the scenario, moved"),
                    **_errors(400, 401, 404, 415, 422),
                },
            }
        },
        "/__admin/webhooks": {
            "get": {
                "summary": "The last webhook deliveries (oldest first): status or error each",
                "responses": {"200": _json("WebhookList", "deliveries"), **_errors(401)},
            }
        },
        "/__admin/requests/count": {
            "post": {
                "summary": "How many journaled requests a pattern describes",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("RequestPattern")}},
                },
                "responses": {
                    "200": _json("Count", "the count"),
                    **_errors(400, 401, 409, 413, 415, 422),
                },
            }
        },
        "/__admin/messages": {
            "get": {
                "summary": "The messages the amqp: doubles consumed and published (oldest first)",
                "responses": {"200": _json("MessageList", "messages"), **_errors(401)},
            }
        },
        "/__admin/messages/count": {
            "post": {
                "summary": "How many journaled messages went to an exchange and routing key",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("MessagePattern")}},
                },
                "responses": {
                    "200": _json("Count", "the count"),
                    **_errors(400, 401, 413, 415, 422),
                },
            }
        },
        "/__admin/messages/publish": {
            "post": {
                "summary": "Publish a message on the broker (confirmed) and journal it",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("MessageInput")}},
                },
                "responses": {
                    "200": _json("Published", "published and confirmed"),
                    **_errors(400, 401, 409, 413, 415, 422, 503),
                },
            }
        },
        "/__admin/openapi.json": {
            "get": {
                "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3.1"}, **_errors(401)},
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mockserver admin API",
            "version": __version__,
            "description": _NAMESPACES,
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }
