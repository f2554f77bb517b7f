"""``mockserver validate --openapi api.yaml STUBS``: does each stub's response fit the document?

For every stub, the operation its method and path name; then each of its responses: the status
must be one the operation lists (exactly, as ``2XX``, or through ``default``), and a JSON body
must fit that response's schema (read as a response: 3.0's ``writeOnly`` properties absent).
Each misfit is one located line: file, line, stub id, key, what is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from mockserver.core.errors import KeyPath, Problem, Problems, StubFileError
from mockserver.core.model import ResponseSpec, Stub
from mockserver.formats.openapi.load import OpenApiDocument, Operation, deref
from mockserver.formats.openapi.validate import (
    MAX_VIOLATIONS,
    closest,
    is_json_type,
    media_for,
    pointer_of,
)
from mockserver.stubfiles.documents import Marks, read_document

__all__ = ["AnswerCheck", "answer_check", "response_misfits"]

# method, path, status, Content-Type, decoded body → what breaks the document
AnswerCheck = Callable[[str, str, int, str | None, bytes], list[str]]


def response_misfits(doc: OpenApiDocument, stubs: Sequence[Stub]) -> list[Problem]:
    """Every way the stubs' responses break ``doc``, each located in its stub file."""
    marks: dict[str, Marks] = {}
    found: list[Problem] = []
    for stub in stubs:
        if stub.source == doc.source:
            continue  # the document's own operations, served from it
        if stub.source not in marks:
            marks[stub.source] = _marks_of(stub.source)
        # Keys as dotted paths under the stub, which is named by its id.
        located = Problems(stub.source, marks[stub.source], key_of=_dotted)
        located.stub_labels[stub.index] = repr(stub.id)
        _stub_misfits(doc, stub, ("stubs", stub.index), located)
        found.extend(located.items)
    return found


def _dotted(key: KeyPath) -> str:
    return ".".join(str(k) for k in key)


def _stub_misfits(doc: OpenApiDocument, stub: Stub, at_stub: KeyPath, out: Problems) -> None:
    path = stub.request.path
    if path is None or path.kind == "regex":
        out.add((*at_stub, "request"), "not checked: the stub's path is a regex or absent")
        return
    operations = [
        op
        for op in doc.operations
        if (stub.request.methods is None or op.method in stub.request.methods)
        and op.check.path_pattern.match(path.text)
    ]
    if not operations:
        out.add((*at_stub, "request"), f"{stub.describe_route()}: no operation in {doc.source}")
        return
    sequence = stub.responses or (stub.response,)
    for i, response in enumerate(sequence):
        at: KeyPath = (*at_stub, "responses", i) if stub.responses else (*at_stub, "response")
        for op in operations:
            for key, message in _misfits(doc, op, response):
                out.add((*at, *key), f"{op.method} {op.path}: {message}")


def _misfits(
    doc: OpenApiDocument, op: Operation, response: ResponseSpec
) -> Iterator[tuple[KeyPath, str]]:
    if response.fault is not None:
        return
    yield from _answer_misfits(doc, op, response.status, response.body, None, "the stub")


def _answer_misfits(
    doc: OpenApiDocument,
    op: Operation,
    status_code: int,
    body: bytes | str,
    given_media: str | None,
    who: str,
) -> Iterator[tuple[KeyPath, str]]:
    """How one answer breaks the operation. ``given_media`` is the Content-Type's media type
    of a live answer, which must be one the response lists; None (a stub) checks the body
    against the first JSON media type."""
    described = op.spec.get("responses")
    responses: Mapping[str, Any] = described if isinstance(described, dict) else {}
    status = str(status_code)
    key = next(
        (k for k in (status, f"{status[0]}XX", f"{status[0]}xx", "default") if k in responses),
        None,
    )
    if key is None:
        listed = ", ".join(str(k) for k in responses)
        yield ("status",), f"status {status} is not one of the operation's responses ({listed})"
        return
    chosen, chosen_at = deref(doc.data, responses[key], (*op.at, "responses", key))
    content = chosen.get("content") if isinstance(chosen, dict) else None
    if not isinstance(content, dict) or not content:
        if body:
            yield ("body",), f"response {key} has no content, {who} sends a body"
        return
    if who == "the stub":
        media = next((m for m in content if is_json_type(m)), None)
    elif not body:
        return  # nothing sent, nothing to type (a HEAD, a 204 the document gives content)
    else:
        media = media_for(given_media or "", [str(m) for m in content])
        if media is None:
            listed = ", ".join(str(m) for m in content)
            said = f"Content-Type {given_media}" if given_media else "no Content-Type"
            yield ("headers",), f"response {key} is {listed}, {who} sends {said}"
            return
    schema = content[media].get("schema") if media and isinstance(content[media], dict) else None
    if media is None or not is_json_type(given_media or media) or not isinstance(schema, dict):
        return  # not JSON, or no schema: nothing to check the bytes against
    try:
        value = json.loads(body)
    except ValueError:
        yield ("body",), f"response {key} is {media}, {who}'s body is not JSON"
        return
    pointer = pointer_of((*chosen_at, "content", media, "schema"))
    checked = doc.compiler.validator(pointer, response=True)
    for error in sorted(
        (c for e in checked.iter_errors(value) for c in closest(e)),
        key=lambda e: [str(p) for p in e.absolute_path],
    ):
        where = pointer_of(error.absolute_path) or "/"
        yield ("json",), f"response {key}, body {where}: {error.message}"


def answer_check(doc: OpenApiDocument) -> AnswerCheck:
    """``record`` / ``--spy`` / ``diff`` with ``--openapi``: how a real service's answer to
    ``method path`` breaks the document (status, Content-Type, JSON body), one message each;
    empty when it fits. ``body`` is decoded (no Content-Encoding left)."""
    ordered = sorted(doc.operations, key=lambda op: "([^/]+)" in op.check.path_pattern.pattern)

    def check(
        method: str, path: str, status: int, content_type: str | None, body: bytes
    ) -> list[str]:
        if status == 304:
            return []  # the client's condition held: no representation to check
        wanted = (method, "GET") if method == "HEAD" else (method,)
        op = next(
            (
                op
                for asked in wanted
                for op in ordered
                if op.method == asked and op.check.path_pattern.match(path)
            ),
            None,
        )
        if op is None:
            return [f"the document has no operation {method} {path}"]
        media = (content_type or "").split(";", 1)[0].strip().lower() or None
        found = _answer_misfits(doc, op, status, body, media, "the service")
        return [f"{op.method} {op.path}: {message}" for _, message in found][:MAX_VIOLATIONS]

    return check


def _marks_of(source: str) -> Marks:
    """Where each key of a stub file was written (nothing for an admin stub or a JSON file)."""
    try:
        text = Path(source).read_text(encoding="utf-8")
        return read_document(text, source, is_json=source.lower().endswith(".json"))[1]
    except (OSError, UnicodeDecodeError, StubFileError):
        return {}
