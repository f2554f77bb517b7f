"""WireMock's ``equalToXml`` → one XPath over our ``xpath`` body matcher.

WireMock compares XML with XMLUnit's "similar": element and attribute names with their
namespace URIs (not prefixes), attribute values in any order, child elements in order, text with
whitespace around it ignored, comments ignored. The expected document is turned into a single
XPath 2.0 expression that holds exactly then, so the request body is read by the same defused
parser as every XML body here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element

from mockserver.core.errors import KeyPath

if TYPE_CHECKING:
    from mockserver.formats.wiremock_patterns import Sink

__all__ = ["equal_to_xml"]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _split(tag: str) -> tuple[str, str]:
    """(namespace URI, local name) of an ElementTree ``{uri}name``."""
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        return uri, local
    return "", tag


def _named(tag: str) -> str:
    uri, local = _split(tag)
    return f"local-name() = {_literal(local)} and namespace-uri() = {_literal(uri)}"


def _conditions(element: Element, at: str, out: list[str]) -> None:
    out.append(f"exists({at}[{_named(str(element.tag))}])")
    out.append(f"count({at}/@*) = {len(element.attrib)}")
    for name, value in element.attrib.items():
        out.append(f"{at}/@*[{_named(name)}] = {_literal(value)}")
    texts = [element.text or ""] + [child.tail or "" for child in element]
    words = " ".join(" ".join(texts).split())
    out.append(f"normalize-space(string-join({at}/text(), ' ')) = {_literal(words)}")
    children = list(element)
    out.append(f"count({at}/*) = {len(children)}")
    for i, child in enumerate(children, start=1):
        _conditions(child, f"{at}/*[{i}]", out)


def equal_to_xml(value: Any, where: KeyPath, sink: Sink) -> Any:
    """``{"equalToXml": "<a/>"}`` → ``{"xpath": {EXPRESSION: "true"}}``, or None."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    if not isinstance(value, str):
        sink(where, "equalToXml takes the expected document as a string")
        return None
    try:
        root = fromstring(value, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as exc:
        sink(where, f"equalToXml is not XML mockserver reads (no DTDs or entities): {exc}")
        return None
    conditions: list[str] = ["count(/*) = 1"]
    _conditions(root, "/*", conditions)
    return {"xpath": {" and ".join(conditions): "true"}}
