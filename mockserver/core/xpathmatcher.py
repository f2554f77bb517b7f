"""The ``xpath`` body matcher: ``{"/order/item/@sku": "A-1"}`` over an XML body.

XML is parsed by defusedxml with DTDs, entities and external references forbidden: such a
body is a non-match with its reason, never a file read, a network call or an expansion. XPath
(1.0 and 2.0) is evaluated by elementpath over the parsed tree, so defusedxml stays the only
parser. Names are namespace-aware as XPath defines them: an element in a namespace is named
through a prefix declared in ``namespaces: {prefix: uri}`` beside the paths.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final
from xml.etree.ElementTree import ElementTree, TreeBuilder

from mockserver.core.bodyreading import Unreadable, check_budget, read_body, slices
from mockserver.core.errors import KeyPath
from mockserver.core.patterns import Pattern, Reading, Value, path_mapping, selected_reason

__all__ = ["XPath", "XPathCheck"]


@dataclass(frozen=True, slots=True)
class _Xml:
    """An XML body as elementpath walks it: its node tree, and how many elements it has."""

    tree: Any
    elements: int


# elementpath is pure Python and cannot be interrupted: its node tree and each evaluation cost
# about this much per element (measured here: 15 and 10-30 us on 20,000 elements). What the
# budget left cannot cover is refused up front, as a spent budget ("match budget exceeded").
_TREE_S_PER_ELEMENT: Final = 15e-6
_SELECT_S_PER_ELEMENT: Final = 30e-6


def _parse_xml(data: bytes, content_type: str | None) -> _Xml | Unreadable:
    import elementpath
    from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
    from defusedxml.ElementTree import DefusedXMLParser, ParseError

    if not data.strip():
        return Unreadable("the body is empty, expected XML")
    # The C TreeBuilder: elementpath reads only the stdlib's own Element class as a tree.
    parser = DefusedXMLParser(
        target=TreeBuilder(), forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    refused = "DTDs and entities are refused (never expanded or fetched), so it counts as no match"
    try:
        for piece in slices(data):
            parser.feed(piece)
        root = parser.close()
    except DTDForbidden as exc:
        return Unreadable(f"the XML body has a DTD (<!DOCTYPE {exc.name} ...>): {refused}")
    except EntitiesForbidden as exc:
        return Unreadable(f"the XML body declares the entity {exc.name!r}: {refused}")
    except ExternalReferenceForbidden as exc:
        return Unreadable(f"the XML body refers to {exc.sysid!r}: {refused}")
    except ParseError as exc:
        return Unreadable(f"the body is not XML ({exc})")
    elements = sum(1 for _ in root.iter())
    check_budget(elements * _TREE_S_PER_ELEMENT)
    try:
        return _Xml(elementpath.get_node_tree(ElementTree(root)), elements)
    except RecursionError:  # none seen at 50,000 levels, but the walk is not ours
        return Unreadable("the XML body is nested too deeply to evaluate")


def _item_text(item: Any) -> str:
    """An XPath result as text: an element's string value, an attribute's or a text node's
    value, a number without a needless ``.0``, a boolean as ``true``/``false``."""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, float) and item.is_integer():
        return str(int(item))
    itertext = getattr(item, "itertext", None)
    if itertext is not None:
        return "".join(itertext())
    return str(item)


@dataclass(frozen=True, slots=True)
class XPathCheck:
    """One ``path: expected`` of an xpath matcher."""

    text: str
    matcher: Pattern
    selector: Any = field(compare=False, repr=False)  # from text and the matcher's namespaces


@dataclass(frozen=True, slots=True)
class XPath(Pattern, name="xpath"):
    """``{"/order/item/@sku": expected}``: some node the XPath selects must match."""

    checks: tuple[XPathCheck, ...]
    namespaces: tuple[tuple[str, str], ...] = ()

    @classmethod
    def read(cls, raw: Any, at: KeyPath, reading: Reading) -> Pattern | None:
        import elementpath  # on first use: ~0.2 s of imports that most stub sets never need

        out = reading.out
        raw = path_mapping(
            raw, at, out, 'xpath takes a mapping of XPath to value, e.g. {"/a/@id": 7}'
        )
        if raw is None:
            return None
        namespaces = raw.get("namespaces", {})
        if not isinstance(namespaces, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in namespaces.items()
        ):
            out.add((*at, "namespaces"), "namespaces maps a prefix to a URI, e.g. {s: urn:s}")
            return None
        paths = {k: v for k, v in raw.items() if k != "namespaces"}
        if not paths:
            out.add(at, "xpath needs at least one XPath beside namespaces")
            return None
        before = len(out)
        checks: list[XPathCheck] = []
        for path_text, expected in paths.items():
            where = (*at, path_text)
            try:
                selector = elementpath.Selector(str(path_text), namespaces=namespaces or None)
            except (elementpath.ElementPathError, SyntaxError, ValueError) as exc:
                out.add(where, f"invalid XPath {path_text!r}: {str(exc).splitlines()[0]}")
                continue
            matcher = reading.pattern(expected, where)
            if matcher is not None:
                checks.append(XPathCheck(str(path_text), matcher, selector))
        if len(out) != before:
            return None
        return cls(tuple(checks), tuple(sorted(namespaces.items())))

    def check(self, value: Value) -> str | None:
        xml = read_body(value, "xml", _parse_xml)
        if isinstance(xml, Unreadable):
            return xml.reason
        for one in self.checks:
            check_budget(xml.elements * _SELECT_S_PER_ELEMENT)
            try:
                found = one.selector.iter_select(xml.tree)
                items = found if isinstance(found, Iterable) else (found,)
                reason = selected_reason(one.text, one.matcher, map(_item_text, items))
            except RecursionError:
                return f"{one.text}: the XML body is nested too deeply to evaluate"
            if reason is not None:
                return reason
        return None

    def describe(self) -> str:
        return "xpath " + ", ".join(f"{one.text} {one.matcher.describe()}" for one in self.checks)
