"""Stub-file text → plain data, safely, remembering where each key was written.

YAML goes through PyYAML's safe loader only (no tags that build objects), with duplicate keys
rejected (PyYAML would silently keep the last), timestamps left as strings (a date in a JSON
body must stay the text the user wrote), and a cap on the size after aliases are expanded
(an alias bomb is small on disk and enormous in memory).
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any, Final

import yaml

from mockserver.core.errors import KeyPath, MockServerError, Problem, StubFileError

__all__ = ["MAX_FILE_BYTES", "MAX_NODES", "Marks", "read_document"]

Marks = dict[KeyPath, tuple[int, int]]

# Nodes a document may have once aliases are expanded. 10,000 stubs of a dozen keys each
# stay far below; a 9x9 alias bomb (387 million nodes) is refused after the first million.
MAX_NODES: Final = 2_000_000

# A stub file is written by a person or a recorder; 10 MiB is far beyond either, and a cap
# keeps a stray multi-gigabyte file from taking the process down.
MAX_FILE_BYTES: Final = 10 * 1024 * 1024

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc]
    """Safe loader that records key positions and refuses duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.key_marks: dict[int, dict[Hashable, tuple[int, int]]] = {}
        self.item_marks: dict[int, list[tuple[int, int]]] = {}

    def construct_yaml_map(self, node: yaml.MappingNode) -> Any:
        data: dict[Any, Any] = {}
        yield data
        seen: dict[Hashable, yaml.Node] = {}
        marks: dict[Hashable, tuple[int, int]] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    "found an unhashable key",
                    key_node.start_mark,
                )
            if key in seen:
                first = seen[key].start_mark
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r} (first defined on line {first.line + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node
            marks[key] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        data.update(self.construct_mapping(node, deep=True))
        self.key_marks[id(data)] = marks

    def construct_yaml_seq(self, node: yaml.SequenceNode) -> Any:
        data: list[Any] = []
        yield data
        data.extend(self.construct_sequence(node, deep=True))
        self.item_marks[id(data)] = [
            (item.start_mark.line + 1, item.start_mark.column + 1) for item in node.value
        ]


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_yaml_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _Loader.construct_yaml_seq)
# Keep timestamps as the strings the user typed: `modified: 2021-06-29T21:32:25Z` in a JSON
# body must be sent back as that text, not re-formatted by datetime.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}


def read_document(text: str, source: str, *, is_json: bool = False) -> tuple[Any, Marks]:
    """Parse ``text`` (YAML, or JSON when ``is_json``) into plain data and key positions.

    Raises:
        StubFileError: the text is not well-formed, has duplicate keys or unsafe tags, or is
            too large once aliases are expanded; the problem carries the line and column.
    """
    if is_json:
        return _read_json(text, source), {}
    loader = _Loader(text)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(part for part in (exc.context, exc.problem) if part) or "not valid YAML"
        if "could not determine a constructor" in message:
            message += " (only plain YAML is read: tags that build objects are refused)"
        raise StubFileError(
            [Problem(source, f"not valid YAML: {message}", line=_line(mark), column=_col(mark))]
        ) from None
    except yaml.YAMLError as exc:
        raise StubFileError([Problem(source, f"not valid YAML: {exc}")]) from None
    except RecursionError:
        raise StubFileError([Problem(source, "not valid YAML: nested too deeply")]) from None
    finally:
        loader.dispose()
    try:
        size = _expanded_size(data, {})
    except _Cycle:  # PyYAML refuses an anchor inside itself, but not at the document's top
        raise StubFileError([Problem(source, "not valid YAML: an alias inside itself")]) from None
    except RecursionError:
        raise StubFileError([Problem(source, "not valid YAML: nested too deeply")]) from None
    if size > MAX_NODES:
        raise StubFileError([Problem(source, _TOO_LARGE)])
    marks: Marks = {}
    _collect_marks(data, (), loader, marks, [MAX_NODES], source)
    return data, marks


_TOO_LARGE: Final = (
    f"the document has more than {MAX_NODES:,} values once aliases "
    "are expanded (an alias bomb?); split it or drop the aliases"
)


class _Cycle(MockServerError):
    pass


def _expanded_size(data: Any, seen: dict[int, int]) -> int:
    # Counted per distinct object (an alias is the same object), so a bomb is refused in
    # microseconds instead of after walking (and recording marks for) its first million nodes.
    if not isinstance(data, dict | list):
        return 1
    known = seen.get(id(data))
    if known is None:
        seen[id(data)] = -1  # in progress: meeting it again means a cycle
        items = data.values() if isinstance(data, dict) else data
        known = seen[id(data)] = 1 + sum(_expanded_size(item, seen) for item in items)
    elif known < 0:
        raise _Cycle
    return known


def _line(mark: Any) -> int | None:
    return None if mark is None else int(mark.line) + 1


def _col(mark: Any) -> int | None:
    return None if mark is None else int(mark.column) + 1


def _collect_marks(
    data: Any, at: KeyPath, loader: _Loader, marks: Marks, budget: list[int], source: str
) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise StubFileError([Problem(source, _TOO_LARGE)])
    if isinstance(data, dict):
        key_marks = loader.key_marks.get(id(data), {})
        for key, value in data.items():
            path = (*at, key)
            if key in key_marks and path not in marks:
                marks[path] = key_marks[key]
            _collect_marks(value, path, loader, marks, budget, source)
    elif isinstance(data, list):
        item_marks = loader.item_marks.get(id(data), [])
        for index, value in enumerate(data):
            path = (*at, index)
            if index < len(item_marks) and path not in marks:
                marks[path] = item_marks[index]
            _collect_marks(value, path, loader, marks, budget, source)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _read_json(text: str, source: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise StubFileError(
            [Problem(source, f"not valid JSON: {exc.msg}", line=exc.lineno, column=exc.colno)]
        ) from None
    except ValueError as exc:
        raise StubFileError([Problem(source, f"not valid JSON: {exc}")]) from None
    except RecursionError:
        raise StubFileError([Problem(source, "not valid JSON: nested too deeply")]) from None
