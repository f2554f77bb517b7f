"""Request paths a stub accepts: exact, ``{name}`` templates, or a regex; and the trie of templates.

Exact paths are looked up in a dict; templates live in a trie keyed by their literal segments,
so finding the candidates for a request costs the depth of the path, not the number of stubs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Generic, Literal, TypeVar

from mockserver.core.budget import regex_timeout
from mockserver.core.shapes import shared

if TYPE_CHECKING:
    import regex

__all__ = ["PathSpec", "PathTrie", "parse_path_template"]

_PARAM: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_WHOLE_PARAM: Final = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}\Z")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Segment:
    """One template segment: a literal, a whole-segment parameter, or a mixed one."""

    literal: str | None = None
    param: str | None = None
    # A mixed segment such as "{stem}.{ext}.gz": literal, name, literal, ..., name, literal.
    pieces: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PathSpec:
    kind: Literal["exact", "template", "regex"]
    text: str
    segments: tuple[Segment, ...] = ()
    compiled: regex.Pattern[str] | None = field(default=None, compare=False)  # from text

    def match(self, path: str) -> dict[str, str] | None:
        """Captured parameters when ``path`` matches (empty for exact paths), else None."""
        if self.kind == "exact":
            return {} if path == self.text else None
        if self.kind == "regex":
            assert self.compiled is not None
            timeout = regex_timeout()  # the request's budget (budget.py)
            if timeout <= 0:
                return None
            try:
                found = self.compiled.search(path, timeout=timeout)
            except TimeoutError:
                return None
            return {k: v for k, v in found.groupdict().items() if v is not None} if found else None
        parts = path.split("/")
        if len(parts) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for part, seg in zip(parts, self.segments, strict=True):
            if not _segment_match(seg, part, params):
                return None
        return params


def _segment_match(seg: Segment, part: str, params: dict[str, str]) -> bool:
    if seg.literal is not None:
        return part == seg.literal
    if seg.param is not None:
        if not part:
            return False
        params[seg.param] = part
        return True
    captured = _mixed_match(seg.pieces, part)
    if captured is None:
        return False
    params.update(captured)
    return True


def _mixed_match(pieces: tuple[str, ...], part: str) -> dict[str, str] | None:
    """``part`` split at the literals of a mixed segment, each parameter one character or more.

    Each literal is taken at its first place after the previous parameter's first character:
    what is left is then the longest it can be, so a split exists exactly when this one fits,
    and each parameter is the shortest that lets the rest fit (what ``(?P<a>[^/]+?)`` would
    capture). One ``str.find`` per literal, linear in the segment's length: a regex with
    several lazy groups backtracks with the cube of it (22 s for 1,600 dots, issue 13).
    """
    prefix, suffix = pieces[0], pieces[-1]
    end = len(part) - len(suffix)
    if end < len(prefix) or not part.startswith(prefix) or not part.endswith(suffix):
        return None
    captured: dict[str, str] = {}
    start = len(prefix)
    for i in range(1, len(pieces) - 2, 2):
        name, literal = pieces[i], pieces[i + 1]
        at = part.find(literal, start + 1, end)
        if at < 0:
            return None
        captured[name] = part[start:at]
        start = at + len(literal)
    if end - start < 1:
        return None
    captured[pieces[-2]] = part[start:end]
    return captured


def parse_path_template(text: str) -> tuple[PathSpec | None, str | None]:
    """A PathSpec for ``path:`` (exact when it has no ``{name}``), or None and why not."""
    if not text.startswith("/"):
        return None, f"a path starts with '/', got {text!r}"
    if "?" in text or "#" in text:
        return None, "put the query in request.query, not in the path"
    if "{" not in text and "}" not in text:
        return PathSpec("exact", text), None
    segments: list[Segment] = []
    seen: set[str] = set()
    for part in text.split("/"):
        names = _PARAM.findall(part)
        leftover = _PARAM.sub("", part)
        if "{" in leftover or "}" in leftover:
            return None, (
                f"bad template segment {part!r}: parameters are {{name}} with a letter or _ "
                "first, then letters, digits or _"
            )
        for name in names:
            if name in seen:
                return None, f"parameter {{{name}}} appears twice"
            seen.add(name)
        whole = _WHOLE_PARAM.match(part)
        if whole:
            segments.append(shared(Segment(param=whole.group(1))))
        elif names:
            # literal, name, literal, name, ..., literal
            segments.append(Segment(pieces=tuple(_PARAM.split(part))))
        else:
            segments.append(shared(Segment(literal=part)))
    return PathSpec("template", text, tuple(segments)), None


def parse_path_regex(text: str) -> tuple[PathSpec | None, str | None]:
    import regex  # on first use: 1.5 MB of memory that stub sets without a regex never need

    try:
        compiled = regex.compile(text)
    except regex.error as exc:
        return None, f"invalid regex {text!r}: {exc}"
    return PathSpec("regex", text, compiled=compiled), None


class _Node(Generic[T]):
    """One segment position. Containers are made when first needed: most nodes of a large
    stub set are leaves holding one stub, and four empty containers each would be most of
    the trie's memory."""

    __slots__ = ("items", "literal", "mixed", "param")

    def __init__(self) -> None:
        self.literal: dict[str, _Node[T]] | None = None
        self.param: dict[str, _Node[T]] | None = None  # by parameter name
        self.mixed: list[tuple[Segment, _Node[T]]] | None = None
        self.items: list[T] | None = None


class PathTrie(Generic[T]):
    """Templates by segment; ``find`` lists the items of every template that fits a path
    (their parameters are the PathSpec's to capture, when someone asks)."""

    def __init__(self) -> None:
        self._root: _Node[T] = _Node()
        self.size = 0

    def add(self, spec: PathSpec, item: T) -> None:
        node = self._root
        for seg in spec.segments:
            if seg.literal is not None:
                node = _child(node, "literal", seg.literal)
            elif seg.param is not None:
                node = _child(node, "param", seg.param)
            else:
                mixed = node.mixed if node.mixed is not None else []
                node.mixed = mixed
                for existing, child in mixed:
                    if existing == seg:
                        node = child
                        break
                else:
                    child = _Node()
                    mixed.append((seg, child))
                    node = child
        if node.items is None:
            node.items = []
        node.items.append(item)
        self.size += 1

    def find(self, path: str) -> list[T]:
        """The items of every template that fits ``path``."""
        found: list[T] = []
        if self.size:
            _walk(self._root, path.split("/"), 0, found)
        return found


def _child(node: _Node[T], kind: Literal["literal", "param"], key: str) -> _Node[T]:
    children = getattr(node, kind)
    if children is None:
        children = {}
        setattr(node, kind, children)
    child: _Node[T] | None = children.get(key)
    if child is None:
        child = children[key] = _Node()
    return child


def _walk(node: _Node[T], parts: list[str], depth: int, found: list[T]) -> None:
    # Plain recursion into a list: every request to a stub set with templates walks here,
    # and generator frames cost several times a call.
    if depth == len(parts):
        if node.items:
            found.extend(node.items)
        return
    part = parts[depth]
    if node.literal is not None:
        child = node.literal.get(part)
        if child is not None:
            _walk(child, parts, depth + 1, found)
    if part and node.param is not None:
        for child in node.param.values():
            _walk(child, parts, depth + 1, found)
    for seg, child in node.mixed or ():
        if _mixed_match(seg.pieces, part) is not None:
            _walk(child, parts, depth + 1, found)
