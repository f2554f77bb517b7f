"""Responses with ``template: true``: compiled once at load, rendered per request.

Status, header values, ``body`` (or ``body_file``) and the strings of ``json`` are Jinja2
templates, compiled at load in a bounded immutable sandbox (sandbox.py) and rendered against
the request. A ``json`` string that is exactly one expression (``"{{ request.json.n + 1 }}"``)
keeps the expression's type. Request values reach a template as data only: the rendered text
is never rendered again.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from difflib import get_close_matches
from functools import cached_property
from typing import Any, Final

from jinja2 import TemplateError, TemplateSyntaxError, Undefined, meta, nodes
from jinja2.runtime import Context

from mockserver.core.errors import KeyPath, MockServerError, Problems
from mockserver.core.model import Piece, PreparedResponse, ResponseSpec, ResponseTemplate
from mockserver.core.request import NotJson, RequestView
from mockserver.core.sandbox import Budget, RenderRefused, bounded_environment, current, guarded

__all__ = [
    "TemplateFailure",
    "build_template",
    "compile_piece",
    "render_call",
    "render_response",
]

# C0 but tab, DEL and the C1 controls, as stubspec refuses them in written header values.
_BAD_HEADER_CHARS: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_TEMPLATE_MARKS: Final = ("{{", "{%", "{#")


def _now(fmt: str | None = None, **shift: float) -> str:
    """The time now in UTC, RFC 3339 (or ``fmt``), shifted by days=, hours=, minutes=, seconds=."""
    unknown = set(shift) - {"days", "hours", "minutes", "seconds", "weeks"}
    if unknown:
        raise TypeError(f"now() shifts by days, hours, minutes, seconds or weeks, not {unknown}")
    moment = datetime.now(UTC) + timedelta(**shift)
    if fmt is None:
        return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
    return moment.strftime(str(fmt))


def _uuid4() -> str:
    """A version 4 UUID from the server's random source, so ``--seed`` repeats it."""
    return str(uuid.UUID(int=current().rng.getrandbits(128), version=4))


def _random_int(low: int, high: int) -> int:
    """An integer from low to high (both included), from the server's random source."""
    return current().rng.randint(int(low), int(high))


_ENV: Final = bounded_environment({"now": _now, "uuid4": _uuid4, "random_int": _random_int})


class _Headers(Mapping[str, str]):
    """A request's headers by case-insensitive name; several values joined by ", "."""

    def __init__(self, by_lower: Mapping[str, list[str]]) -> None:
        self._by_lower = by_lower

    def __getitem__(self, name: str) -> str:
        return ", ".join(self._by_lower[name.lower()])

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_lower)

    def __len__(self) -> int:
        return len(self._by_lower)


class _Request:
    """``request`` in a template: each part computed when a template first reads it."""

    def __init__(self, view: RequestView, path_params: Mapping[str, str]) -> None:
        self._view = view
        self.method = view.method
        self.path = view.path
        self.path_params = dict(path_params)

    @cached_property
    def query(self) -> dict[str, str]:
        return {name: values[0] for name, values in self._view.query.items()}

    @cached_property
    def query_all(self) -> dict[str, list[str]]:
        return {name: list(values) for name, values in self._view.query.items()}

    @cached_property
    def headers(self) -> _Headers:
        return _Headers(self._view.headers)

    @cached_property
    def cookies(self) -> dict[str, str]:
        return {name: values[0] for name, values in self._view.cookies.items()}

    @cached_property
    def body(self) -> str:
        return self._view.text

    @property
    def json(self) -> Any:
        value = self._view.json()
        if isinstance(value, NotJson):  # undefined, saying why when a template reads into it
            return _ENV.undefined(hint=f"request.json is undefined: {value.reason}")
        return value


class TemplateFailure(MockServerError):
    """A render that failed or was refused: which template, and why."""

    def __init__(self, key: str, why: str) -> None:
        super().__init__(f"{key}: {why}")
        self.key, self.why = key, why


def compile_piece(source: str, key: str, *, keep_type: bool = False) -> Piece | str:
    """``source`` compiled, or itself when it has no template syntax.

    ``keep_type``: a source that is exactly one ``{{ expression }}`` renders to the
    expression's value (a number stays a number) instead of text.

    Raises:
        jinja2.TemplateSyntaxError: located in the source (line), for the loader to report.
    """
    if not any(mark in source for mark in _TEMPLATE_MARKS):
        return source
    tree = _ENV.parse_bounded(source)
    _check_names(tree)
    if keep_type and _is_one_expression(tree):
        # As Environment.compile_expression builds it, but run in the render's one context.
        assign = nodes.Assign(nodes.Name("result", "store"), tree.body[0].nodes[0], lineno=1)  # type: ignore[attr-defined]
        evaluate = _ENV.from_string(nodes.Template([assign], lineno=1)).root_render_func

        def value(context: Context, _budget: Budget) -> Any:
            for _ in evaluate(context):
                pass
            found = context.vars.pop("result", None)
            return None if isinstance(found, Undefined) else found

        return Piece(key, value)
    render = _ENV.from_string(tree).root_render_func

    def run(context: Context, budget: Budget) -> str:
        out: list[str] = []
        for chunk in render(context):
            budget.emit(len(chunk))
            out.append(chunk)
        return "".join(out)

    return Piece(key, run)


def _check_names(tree: nodes.Template) -> None:
    """A name the template neither defines nor has is a load error, not an empty value."""
    known = {"request", "scenario", *_ENV.globals}
    for name in sorted(meta.find_undeclared_variables(tree) - known):
        close = get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise TemplateSyntaxError(
            f"unknown name {name!r}{hint}; a template knows {', '.join(sorted(known))}", 1
        )


def _is_one_expression(tree: nodes.Template) -> bool:
    if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output):
        return False
    parts = tree.body[0].nodes
    return len(parts) == 1 and not isinstance(parts[0], nodes.TemplateData)


def _no_scenario(name: str) -> str:
    return "started"  # no stub names a scenario: every one is where it starts


def render_response(
    spec: ResponseSpec,
    template: ResponseTemplate,
    view: RequestView,
    path_params: Mapping[str, str],
    rng: random.Random,
    prepare: Callable[[ResponseSpec], PreparedResponse],
    scenario: Callable[[str], str] = _no_scenario,
) -> PreparedResponse:
    """The response for this request, rendered, then prepared as a static one would be.

    Raises:
        TemplateFailure: a template failed or went past its bounds; names the template.
    """
    budget = Budget(rng)
    # One context for all the response's templates (Template.new_context per template cost
    # a third of a render); no template here has blocks, so none needs its own.
    names = {**_ENV.globals, "request": _Request(view, path_params), "scenario": scenario}
    context = Context(_ENV, names, None, {})
    with guarded(budget):
        status = spec.status
        if template.status is not None:
            status = _status(_run(template.status, context, budget), template.status.key)
        headers = spec.headers
        if template.headers:
            headers = tuple(
                (name, _header(name, _run(value, context, budget), f"headers.{name}"))
                for name, value in template.headers
            )
        body = spec.body
        if template.has_json:
            value = _render_json(template.json, context, budget)
            body = _encode(value, budget)
        elif template.body is not None:
            body = str(_run(template.body, context, budget)).encode("utf-8", "surrogatepass")
    # The same rendered answer is prepared once: ids from the path repeat, and preparing (the
    # ETag, compressed and MessagePack forms) costs more than rendering.
    if len(body) > _CACHED_BODY:  # not kept, nor hashed to be looked up
        return prepare(replace(spec, status=status, headers=headers, body=body, template=None))
    key = (status, headers, body)
    cache = template.prepared
    found = cache.get(key)
    if found is None:
        found = prepare(replace(spec, status=status, headers=headers, body=body, template=None))
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        cache[key] = found
    return found


_CACHE_SIZE: Final = 64
_CACHED_BODY: Final = 16 * 1024


def render_call(
    url: Piece | str,
    template: ResponseTemplate,
    view: RequestView,
    path_params: Mapping[str, str],
    rng: random.Random,
    headers: tuple[tuple[str, str], ...],
    body: bytes,
) -> tuple[str, tuple[tuple[str, str], ...], bytes]:
    """A webhook's URL, headers and body rendered for this request (webhookspec.py), in the
    same sandbox and bounds as a response.

    Raises:
        TemplateFailure: a template failed or went past its bounds; names the template.
    """
    budget = Budget(rng)
    context = Context(_ENV, {**_ENV.globals, "request": _Request(view, path_params)}, None, {})
    with guarded(budget):
        rendered_url = str(_run(url, context, budget))
        if template.headers:
            headers = tuple(
                (name, _header(name, _run(value, context, budget), f"headers.{name}"))
                for name, value in template.headers
            )
        if template.has_json:
            body = _encode(_render_json(template.json, context, budget), budget)
        elif template.body is not None:
            body = str(_run(template.body, context, budget)).encode("utf-8", "surrogatepass")
    return rendered_url, headers, body


def _run(piece: Piece | str, context: Context, budget: Budget) -> Any:
    if isinstance(piece, str):
        return piece
    try:
        return piece.run(context, budget)
    except RenderRefused as exc:
        raise TemplateFailure(piece.key, f"refused: {exc}") from None
    except TemplateError as exc:  # the sandbox's SecurityError, UndefinedError...
        raise TemplateFailure(piece.key, f"{type(exc).__name__}: {exc}") from None
    except Exception as exc:  # what a filter or a helper raised: the template's error
        raise TemplateFailure(piece.key, f"{type(exc).__name__}: {exc}") from None


def _render_json(value: Any, context: Context, budget: Budget) -> Any:
    if isinstance(value, Piece):
        return _run(value, context, budget)
    if isinstance(value, dict):
        return {k: _render_json(v, context, budget) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_json(v, context, budget) for v in value]
    return value


def _encode(value: Any, budget: Budget) -> bytes:
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TemplateFailure("json", f"the rendered value is not JSON: {exc}") from None
    try:
        budget.emit(len(text))
    except RenderRefused as exc:
        raise TemplateFailure("json", f"refused: {exc}") from None
    return text.encode()


def _status(value: Any, key: str) -> int:
    try:
        status = int(str(value).strip())
    except ValueError:
        raise TemplateFailure(key, f"a status is a number from 100 to 599, got {value!r}") from None
    if not 100 <= status <= 599:
        raise TemplateFailure(key, f"a status is a number from 100 to 599, got {status}")
    return status


def _header(name: str, value: Any, key: str) -> str:
    text = str(value)
    if _BAD_HEADER_CHARS.search(text):
        raise TemplateFailure(
            key, f"{name} contains control characters (CR, LF, NUL...); refused, never sent"
        )
    return text


def build_template(
    raw: Mapping[str, Any],
    headers: tuple[tuple[str, str], ...],
    body: bytes,
    at: KeyPath,
    out: Problems,
) -> ResponseTemplate | None:
    """The templated parts of a ``template: true`` response mapping at ``at``, compiled; None,
    with the problems added to ``out``, for syntax errors and bodies that cannot be templates."""
    before = len(out)

    def compiled(source: str, key_path: KeyPath, keep_type: bool = False) -> Any:
        key = ".".join(str(part) if isinstance(part, str) else f"[{part}]" for part in key_path)
        key = key.replace(".[", "[")
        try:
            return compile_piece(source, key, keep_type=keep_type)
        except TemplateError as exc:
            line = getattr(exc, "lineno", None)
            where = f" (line {line} of the template)" if line and line > 1 else ""
            out.add((*at, *key_path), f"template syntax error{where}: {exc.message or exc}")
            return source

    status = None
    if isinstance(raw.get("status"), str):
        piece = compiled(raw["status"], ("status",), keep_type=True)
        status = piece if isinstance(piece, Piece) else None
        if status is None:
            out.add((*at, "status"), "status is a number from 100 to 599 or a template")
    heads = tuple((name, compiled(value, ("headers", name))) for name, value in headers)
    if not any(isinstance(value, Piece) for _, value in heads):
        heads = ()  # nothing to render: the written headers are sent
    template_body: Piece | str | None = None
    json_tree: Any = None
    if "json" in raw:
        json_tree = _compile_json(raw["json"], ("json",), compiled)
    elif "body_base64" in raw:
        out.add((*at, "body_base64"), "body_base64 is bytes, not a template: use body")
    elif body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            key = "body" if "body" in raw else "body_file"
            out.add((*at, key), "a template body is UTF-8 text")
        else:
            template_body = compiled(text, ("body" if "body" in raw else "body_file",))
    if len(out) != before:
        return None
    return ResponseTemplate(status, heads, template_body, json_tree, has_json="json" in raw)


def _compile_json(value: Any, at: KeyPath, compiled: Callable[..., Any]) -> Any:
    if isinstance(value, str):
        return compiled(value, at, True)
    if isinstance(value, dict):
        return {k: _compile_json(v, (*at, k), compiled) for k, v in value.items()}
    if isinstance(value, list):
        return [_compile_json(v, (*at, i), compiled) for i, v in enumerate(value)]
    return value
