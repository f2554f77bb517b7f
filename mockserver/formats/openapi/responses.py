"""``mockserver validate --openapi api.yaml STUBS``: does each stub's response fit the document?

For every stub, the operation its method and path name; then each of its responses: the status
must be one the operation lists (exactly, as ``2XX``, or through ``default``), and a JSON body
must fit that response's schema (read as a response: 3.0's ``writeOnly`` properties absent).
Each misfit is one located line: file, line, stub id, key, what is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from mockserver.core.errors import KeyPath, Problem, Problems, StubFileError
from mockserver.core.model import ResponseSpec, Stub
from mockserver.formats.openapi.load import OpenApiDocument, Operation, deref
from mockserver.formats.openapi.validate import closest, is_json_type, pointer_of
from mockserver.stubfiles.documents import Marks, read_document

__all__ = ["response_misfits"]


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
    described = op.spec.get("responses")
    responses: Mapping[str, Any] = described if isinstance(described, dict) else {}
    status = str(response.status)
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
        if response.body:
            yield ("body",), f"response {key} has no content, the stub sends a body"
        return
    media = next((m for m in content if is_json_type(m)), None)
    schema = content[media].get("schema") if media and isinstance(content[media], dict) else None
    if media is None or not isinstance(schema, dict):
        return  # not JSON, or no schema: nothing to check the bytes against
    try:
        value = json.loads(response.body)
    except ValueError:
        yield ("body",), f"response {key} is {media}, the stub's body is not JSON"
        return
    pointer = pointer_of((*chosen_at, "content", media, "schema"))
    checked = doc.compiler.validator(pointer, response=True)
    for error in sorted(
        (c for e in checked.iter_errors(value) for c in closest(e)),
        key=lambda e: [str(p) for p in e.absolute_path],
    ):
        where = pointer_of(error.absolute_path) or "/"
        yield ("json",), f"response {key}, body {where}: {error.message}"


def _marks_of(source: str) -> Marks:
    """Where each key of a stub file was written (nothing for an admin stub or a JSON file)."""
    try:
        text = Path(source).read_text(encoding="utf-8")
        return read_document(text, source, is_json=source.lower().endswith(".json"))[1]
    except (OSError, UnicodeDecodeError, StubFileError):
        return {}
