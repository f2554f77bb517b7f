"""A WireMock root's ``__files/`` served as WireMock serves it when no mapping matches a GET.

WireMock forwards such a request to Jetty's default servlet over ``__files/`` (its
``WireMockHandlerDispatchingServlet`` and ``Jetty12HttpServer``): the file at the request's
path (decoded; the query plays no part), a directory's first index file among
``index.json``, ``index.html``, ``index.xml``, ``index.txt`` at the directory's path with a
trailing slash (without one, a ``302`` to it), and the ``Content-Type`` of the file's extension,
``application/json`` for none or an unknown one. Every other method gets the ``404``.

Here each file becomes a GET stub at the lowest priority, made at load like every stub: the
journal, the strict pytest run and near-miss reports see them as answers. Nothing is read from
outside ``__files/`` (a link that leaves it is not served, and said so, as Jetty refuses such
aliases), hidden entries are left out as everywhere else, and each file is bounded as a body
file is.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import re
from pathlib import Path
from typing import Any, Final

from mockserver.core.errors import Problem
from mockserver.core.model import ServiceSpec, Stub
from mockserver.core.stubspec import BodyFileReader
from mockserver.formats.realpaths import resolved
from mockserver.formats.wiremock import FILES_DIR
from mockserver.stubfiles.stubfile import parse_service

__all__ = ["INDEX_FILES", "STATIC_PRIORITY", "is_static", "parse_static", "static_document"]

log = logging.getLogger("mockserver.load")

INDEX_FILES: Final = ("index.json", "index.html", "index.xml", "index.txt")
# The stub file's lowest priority: below every mapping, whatever its WireMock priority.
STATIC_PRIORITY: Final = -(10**6)
# WireMock's own mappings; other extensions as the platform's MIME table names them.
_TYPES: Final = {
    ".json": "application/json",
    ".html": "text/html",
    ".xml": "application/xml",
    ".txt": "text/plain",
}
_DEFAULT_TYPE: Final = "application/json"
# Characters that make a path a template or a query in a stub's ``path``.
_NOT_LITERAL: Final = re.compile(r"[{}?#]")


def is_static(stub: Stub) -> bool:
    """``stub`` serves a file of a ``__files/`` directory (its source is that directory)."""
    return Path(stub.source).name == FILES_DIR


def _content_type(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return _TYPES.get(suffix) or mimetypes.guess_type(name, strict=True)[0] or _DEFAULT_TYPE


def _route(path: str) -> dict[str, Any]:
    if _NOT_LITERAL.search(path):
        return {"path_regex": rf"\A{re.escape(path)}\Z"}
    return {"path": path}


def _file_stub(path: str, relative: str) -> dict[str, Any]:
    return {
        "priority": STATIC_PRIORITY,
        "request": {"method": "GET", **_route(path)},
        "response": {
            "headers": {"Content-Type": _content_type(relative)},
            "body_file": relative,
            "etag": False,  # Jetty's default servlet sends none
        },
    }


def _redirect_stub(path: str) -> dict[str, Any]:
    return {
        "priority": STATIC_PRIORITY,
        "request": {"method": "GET", **_route(path)},
        "response": {"status": 302, "headers": {"Location": path + "/"}, "etag": False},
    }


def static_document(files_dir: Path, service: str) -> dict[str, Any]:
    """The stub document that serves ``files_dir`` (a root's ``__files/``); ``body_file``
    paths are relative to it."""
    inside = resolved(files_dir)
    stubs: list[dict[str, Any]] = []
    for directory, subdirs, names in os.walk(files_dir):  # directory links are not entered
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        here = Path(directory)
        prefix = here.relative_to(files_dir).as_posix()
        prefix = "" if prefix == "." else prefix + "/"
        served = []
        for name in sorted(n for n in names if not n.startswith(".")):
            file = here / name
            try:
                target = resolved(file)
            except (OSError, RuntimeError):  # a link loop: nothing to serve
                target = file
            if not target.is_relative_to(inside):
                log.warning("%s: a link to %s, outside %s: not served", file, target, inside)
                continue
            if not target.is_file():  # a dangling link, a socket: Jetty has nothing to send
                continue
            served.append(name)
            stubs.append(_file_stub(f"/{prefix}{name}", prefix + name))
        index = next((name for name in INDEX_FILES if name in served), None)
        if index is not None:
            stubs.append(_file_stub(f"/{prefix}", prefix + index))
            if prefix:
                stubs.append(_redirect_stub(f"/{prefix[:-1]}"))
    return {"service": service, "stubs": stubs}


def parse_static(
    files_dir: Path, service: str, read_body_file: BodyFileReader
) -> tuple[ServiceSpec | None, list[Stub], list[Problem]]:
    """The stubs that serve ``files_dir``, as ``parse_service`` gives them; ``read_body_file``
    is confined to ``files_dir``."""
    document = static_document(files_dir, service)
    return parse_service(document, str(files_dir), service, read_body_file)
