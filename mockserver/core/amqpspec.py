"""A stub file's ``amqp:`` section and a response's ``publish:`` list → AmqpSpec, MessageSpec.

```yaml
amqp:
  url: amqp://guest:guest@127.0.0.1:5672/%2F    # or MOCKSERVER_AMQP_URL
  exchanges: [{name: incoming, type: topic}]
  consumers:
    - id: playstore
      queue: mock.playstore
      bind: {exchange: incoming, routing_key: "publish.*"}
      match: {body: {contains: Android}, headers: {...}, properties: {content_type: ...}}
      reply: {exchange: events, routing_key: "", json: {released: true}}
```

Pure and located like the rest of the stub format (mockserver/messaging/ runs it); here,
not in messaging/, because the stub-file loader, below messaging, must find every problem
before anything is served.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from mockserver.core.errors import KeyPath, Problems
from mockserver.core.model import (
    AmqpSpec,
    BindingSpec,
    ConsumerSpec,
    ExchangeSpec,
    MessageMatch,
    MessageSpec,
    Piece,
)
from mockserver.core.patterns import Pattern
from mockserver.core.patternspec import parse_pattern
from mockserver.core.render import JSON_TYPE, TEXT_TYPE
from mockserver.core.request import RequestView
from mockserver.core.shapes import check_keys, expect_int, expect_mapping, type_name
from mockserver.core.stubspec import MAX_DELAY_MS, encode_json_strict, parse_request

__all__ = [
    "AMQP_KEYS",
    "EXCHANGE_TYPES",
    "AmqpSpec",
    "BindingSpec",
    "ConsumerSpec",
    "ExchangeSpec",
    "MessageMatch",
    "MessageSpec",
    "amqp_url_problem",
    "parse_amqp",
    "parse_message",
    "parse_publishes",
    "rendered_messages",
    "shown_amqp_url",
]

AMQP_KEYS: Final = ("url", "exchanges", "consumers")
EXCHANGE_TYPES: Final = ("topic", "fanout", "direct", "headers")
CONSUMER_KEYS: Final = ("id", "queue", "bind", "match", "reply")
MESSAGE_KEYS: Final = (
    "exchange",
    "routing_key",
    "body",
    "json",
    "properties",
    "headers",
    "delay_ms",
    "template",
)
# The basic properties of AMQP 0-9-1 a stub may set or match, by aio-pika's names.
TEXT_PROPERTIES: Final = (
    "content_type",
    "content_encoding",
    "correlation_id",
    "reply_to",
    "expiration",
    "message_id",
    "type",
    "user_id",
    "app_id",
)
INT_PROPERTIES: Final = ("delivery_mode", "priority")
PROPERTIES: Final = (*TEXT_PROPERTIES, *INT_PROPERTIES)
MAX_MESSAGES: Final = 16  # per stub, as webhooks: a double, not a fan-out service
MAX_NAME: Final = 255  # AMQP short strings: exchange, queue and routing key


def shown_amqp_url(url: str) -> str:
    """``url`` with its password replaced, as logs and errors print it."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def amqp_url_problem(url: Any) -> str | None:
    """Why ``url`` is not a broker URL mockserver can use, or None."""
    if not isinstance(url, str):
        return f"url is an amqp:// or amqps:// URL, got {type_name(url)}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        return f"url is not a valid URL ({exc})"
    if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
        return f"url is an amqp:// or amqps:// URL with a host, got {shown_amqp_url(url)!r}"
    return None


def parse_amqp(raw: Any, at: KeyPath, out: Problems, source: str = "") -> AmqpSpec | None:
    """``amqp:`` → AmqpSpec; None, with every problem located in ``out``, when invalid."""
    spec = expect_mapping(raw, at, out, "amqp")
    if spec is None:
        return None
    before = len(out.items)
    check_keys(spec, AMQP_KEYS, at, out)
    url = spec.get("url")
    if url is not None and (why := amqp_url_problem(url)):
        out.add((*at, "url"), why)
    exchanges = tuple(
        e
        for i, item in enumerate(_list(spec.get("exchanges"), (*at, "exchanges"), out))
        if (e := _parse_exchange(item, (*at, "exchanges", i), out)) is not None
    )
    consumers: list[ConsumerSpec] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(_list(spec.get("consumers"), (*at, "consumers"), out)):
        consumer = _parse_consumer(item, (*at, "consumers", i), out)
        if consumer is None:
            continue
        if consumer.id in seen:
            first = seen[consumer.id]
            out.add((*at, "consumers", i, "id"), f"duplicate id (also consumer #{first})")
        seen.setdefault(consumer.id, i)
        consumers.append(consumer)
    if len(out.items) != before:
        return None
    return AmqpSpec(url, exchanges, tuple(consumers), source)


def _list(raw: Any, at: KeyPath, out: Problems) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        out.add(at, f"{at[-1]} is a list, got {type_name(raw)}")
        return []
    return raw


def _name(raw: Any, at: KeyPath, out: Problems, what: str, *, empty: bool = False) -> str | None:
    if not isinstance(raw, str) or (not raw and not empty) or len(raw) > MAX_NAME:
        need = "a string" if empty else "a non-empty string"
        out.add(at, f"{what} is {need} of at most {MAX_NAME} characters, got {raw!r}")
        return None
    return raw


def _parse_exchange(raw: Any, at: KeyPath, out: Problems) -> ExchangeSpec | None:
    spec = expect_mapping(raw, at, out, "an exchange")
    if spec is None:
        return None
    check_keys(spec, ("name", "type", "durable"), at, out)
    name = _name(spec.get("name"), (*at, "name"), out, "an exchange name")
    kind = spec.get("type", "topic")
    if kind not in EXCHANGE_TYPES:
        out.add((*at, "type"), f"type is one of {', '.join(EXCHANGE_TYPES)}, got {kind!r}")
        return None
    durable = spec.get("durable", False)
    if not isinstance(durable, bool):
        out.add((*at, "durable"), f"durable is true or false, got {durable!r}")
        return None
    return ExchangeSpec(name, kind, durable) if name is not None else None


def _parse_consumer(raw: Any, at: KeyPath, out: Problems) -> ConsumerSpec | None:
    spec = expect_mapping(raw, at, out, "a consumer")
    if spec is None:
        return None
    before = len(out.items)
    check_keys(spec, CONSUMER_KEYS, at, out)
    queue = _name(spec.get("queue"), (*at, "queue"), out, "queue")
    consumer_id = spec.get("id", queue)
    if consumer_id is not None and not isinstance(consumer_id, str):
        out.add((*at, "id"), f"id is a string, got {type_name(consumer_id)}")
    raw_bind = spec.get("bind")
    if raw_bind is None:
        out.add(at, "a consumer needs bind: {exchange: NAME, routing_key: PATTERN}")
        bindings: list[BindingSpec] = []
    elif isinstance(raw_bind, list):
        bindings = [
            b
            for i, item in enumerate(raw_bind)
            if (b := _parse_binding(item, (*at, "bind", i), out)) is not None
        ]
    else:
        one = _parse_binding(raw_bind, (*at, "bind"), out)
        bindings = [one] if one is not None else []
    match = _parse_match(spec["match"], (*at, "match"), out) if "match" in spec else None
    reply = None
    if "reply" in spec:
        reply = parse_message(spec["reply"], (*at, "reply"), out, reply=True)
    if len(out.items) != before or queue is None:
        return None
    return ConsumerSpec(str(consumer_id), queue, tuple(bindings), match, reply)


def _parse_binding(raw: Any, at: KeyPath, out: Problems) -> BindingSpec | None:
    spec = expect_mapping(raw, at, out, "a binding")
    if spec is None:
        return None
    check_keys(spec, ("exchange", "routing_key", "arguments"), at, out)
    exchange = _name(spec.get("exchange"), (*at, "exchange"), out, "exchange")
    key = _name(spec.get("routing_key", ""), (*at, "routing_key"), out, "routing_key", empty=True)
    arguments: list[tuple[str, str]] = []
    if "arguments" in spec:
        mapping = expect_mapping(spec["arguments"], (*at, "arguments"), out, "arguments")
        for name, value in (mapping or {}).items():
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                out.add((*at, "arguments", name), f"an argument is text, got {type_name(value)}")
                continue
            arguments.append((str(name), str(value)))
    if exchange is None or key is None:
        return None
    return BindingSpec(exchange, key, tuple(arguments))


def _parse_match(raw: Any, at: KeyPath, out: Problems) -> MessageMatch | None:
    spec = expect_mapping(raw, at, out, "match")
    if spec is None:
        return None
    before = len(out.items)
    check_keys(spec, ("body", "headers", "properties"), at, out)
    # The HTTP body matchers, read where they are written (text, json, MessagePack by the
    # message's content_type).
    request = parse_request({"body": spec["body"]}, at, out) if "body" in spec else None
    headers = _named(spec.get("headers"), (*at, "headers"), out, ())
    properties = _named(spec.get("properties"), (*at, "properties"), out, PROPERTIES)
    if len(out.items) != before:
        return None
    return MessageMatch(request.body if request is not None else (), headers, properties)


def _named(
    raw: Any, at: KeyPath, out: Problems, allowed: tuple[str, ...]
) -> tuple[tuple[str, Pattern], ...]:
    if raw is None:
        return ()
    mapping = expect_mapping(raw, at, out, str(at[-1]))
    if mapping is None:
        return ()
    if allowed:
        check_keys(mapping, allowed, at, out)
    result = []
    for name, matcher in mapping.items():
        pattern = parse_pattern(matcher, (*at, name), out)
        if pattern is not None and (not allowed or name in allowed):
            result.append((str(name), pattern))
    return tuple(result)


def parse_publishes(
    raw: Any, at: KeyPath, out: Problems, *, templated: bool = False
) -> tuple[MessageSpec, ...]:
    """A response's ``publish:`` list (sent after the answer); () with problems when invalid."""
    if not isinstance(raw, list) or not raw:
        out.add(at, "publish is a non-empty list of messages, each with exchange and routing_key")
        return ()
    if len(raw) > MAX_MESSAGES:
        out.add(at, f"at most {MAX_MESSAGES} messages a stub, got {len(raw)}")
        return ()
    before = len(out.items)
    parsed = [parse_message(item, (*at, i), out, templated=templated) for i, item in enumerate(raw)]
    if len(out.items) != before:
        return ()
    return tuple(p for p in parsed if p is not None)


def parse_message(
    raw: Any, at: KeyPath, out: Problems, *, reply: bool = False, templated: bool = False
) -> MessageSpec | None:
    """One message to publish. A reply without ``exchange`` goes to the message's reply_to."""
    spec = expect_mapping(raw, at, out, "a message")
    if spec is None:
        return None
    before = len(out.items)
    check_keys(spec, MESSAGE_KEYS if reply else MESSAGE_KEYS[:-1], at, out)
    exchange: str | None = None
    if "exchange" in spec or not reply:
        exchange = _name(spec.get("exchange"), (*at, "exchange"), out, "exchange", empty=True)
    routing_key = spec.get("routing_key", "")
    if exchange is not None or "routing_key" in spec:
        routing_key = _name(routing_key, (*at, "routing_key"), out, "routing_key", empty=True)
    properties = _properties(spec.get("properties"), (*at, "properties"), out)
    headers = _headers(spec.get("headers"), (*at, "headers"), out)
    body = b""
    if "json" in spec and "body" in spec:
        out.add((*at, "body"), "give json or body, not both")
    elif "json" in spec:
        try:
            body = encode_json_strict(spec["json"])
        except ValueError as exc:
            out.add((*at, "json"), f"not representable as JSON: {exc}")
        properties = _with_default(properties, "content_type", JSON_TYPE)
    elif "body" in spec:
        if isinstance(spec["body"], dict | list | bool) or spec["body"] is None:
            out.add((*at, "body"), f"body is text (json: for JSON), got {type_name(spec['body'])}")
        else:
            body = str(spec["body"]).encode()
            properties = _with_default(properties, "content_type", TEXT_TYPE.split(";")[0])
    delay = 0
    if "delay_ms" in spec:
        delay = expect_int(spec["delay_ms"], (*at, "delay_ms"), out, 0, MAX_DELAY_MS) or 0
    if spec.get("template", False) not in (True, False):
        out.add((*at, "template"), f"template is true or false, got {spec['template']!r}")
    key_template: Piece | str | None = None
    template = None
    if (templated or spec.get("template") is True) and len(out.items) == before:
        # Jinja2 with the first template only (a plain message never loads it).
        from jinja2 import TemplateError

        from mockserver.core.templates import build_template, compile_piece

        try:
            key_template = compile_piece(str(routing_key), "routing_key")
        except TemplateError as exc:
            out.add((*at, "routing_key"), f"template syntax error: {exc.message or exc}")
        template = build_template(spec, headers, body, at, out)
    if len(out.items) != before:
        return None
    return MessageSpec(
        exchange, str(routing_key), body, properties, headers, delay, key_template, template
    )


def _with_default(
    properties: tuple[tuple[str, str | int], ...], name: str, value: str
) -> tuple[tuple[str, str | int], ...]:
    return properties if any(k == name for k, _ in properties) else (*properties, (name, value))


def _properties(raw: Any, at: KeyPath, out: Problems) -> tuple[tuple[str, str | int], ...]:
    if raw is None:
        return ()
    mapping = expect_mapping(raw, at, out, "properties")
    if mapping is None:
        return ()
    check_keys(mapping, PROPERTIES, at, out)
    result: list[tuple[str, str | int]] = []
    for name, value in mapping.items():
        if name in INT_PROPERTIES:
            number = expect_int(value, (*at, name), out, 0, 255)
            if number is not None:
                result.append((name, number))
        elif name in TEXT_PROPERTIES:
            if not isinstance(value, str | int) or isinstance(value, bool):
                out.add((*at, name), f"{name} is text, got {type_name(value)}")
                continue
            result.append((name, str(value)))
    return tuple(result)


def _headers(raw: Any, at: KeyPath, out: Problems) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    mapping: Mapping[Any, Any] | None = expect_mapping(raw, at, out, "headers")
    result = []
    for name, value in (mapping or {}).items():
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            out.add((*at, name), f"a message header is text or a number, got {type_name(value)}")
            continue
        result.append((str(name), str(value)))
    return tuple(result)


def rendered_messages(
    specs: tuple[MessageSpec, ...],
    view: RequestView,
    path_params: Mapping[str, str],
    rng: random.Random,
) -> tuple[MessageSpec, ...]:
    """``specs`` with their templates rendered for this request or consumed message (as they
    are when none has one); one whose template fails carries why, and is not sent."""
    if all(spec.template is None for spec in specs):
        return specs
    from mockserver.core.templates import TemplateFailure, render_call  # a template exists

    done = []
    for spec in specs:
        if spec.template is None or spec.key_template is None:
            done.append(spec)
            continue
        try:
            key, headers, body = render_call(
                spec.key_template, spec.template, view, path_params, rng, spec.headers, spec.body
            )
        except TemplateFailure as exc:
            done.append(replace(spec, template=None, refused=f"template failed: {exc}"))
            continue
        done.append(replace(spec, routing_key=key, headers=headers, body=body, template=None))
    return tuple(done)
