"""Stub files and directories on disk → one validated StubSet. The core's only disk reads.

A file that some stub names as its ``body_file`` is a body, never a stub file, whatever its
extension: JSON payloads kept beside the stubs are served, not parsed as stubs. Files are read
before the bodies are set aside, so the outcome does not depend on whether the naming stub file
sorts before or after the body. A WireMock root's ``mappings/`` files are translated
(formats/wiremock.py) and its ``__files/`` is never searched for stub files.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from mockserver.core.errors import Problem, StubFileError
from mockserver.core.model import ServiceSpec, Stub, StubSet
from mockserver.core.shadowing import Shadow, find_shadows, shadow_lines
from mockserver.core.shapes import forget_shared
from mockserver.core.stubspec import BodyFileReader
from mockserver.formats.realpaths import remembering, resolved
from mockserver.formats.wiremock import (
    FILES_DIR,
    MAPPINGS_DIR,
    is_wiremock,
    parse_mappings,
    service_for,
    wiremock_home,
)
from mockserver.formats.wiremock_files import is_static, parse_static
from mockserver.stubfiles.documents import MAX_FILE_BYTES, read_document
from mockserver.stubfiles.stubfile import combine, parse_service

__all__ = [
    "MAX_BODY_FILE_BYTES",
    "STUB_SUFFIXES",
    "LoadedTree",
    "admin_body_reader",
    "find_stub_files",
    "load_paths",
    "load_tree",
]

# A logger of its own, so that worker processes can leave these lines to the parent.
log = logging.getLogger("mockserver.load")

STUB_SUFFIXES: Final = (".yaml", ".yml", ".json")
# A body file is served as it is, never parsed: it may be as large as an upstream's answer
# (proxy.MAX_UPSTREAM_BODY), which a recording writes into one.
MAX_BODY_FILE_BYTES: Final = 100 * 1024 * 1024


def _walk(root: Path, problems: list[Problem]) -> list[Path]:
    """Stub files under ``root``, sorted; a directory that cannot be read is a problem, so a
    volume mounted with the wrong owner is reported instead of served as empty."""

    def unreadable(error: OSError) -> None:
        where = error.filename or str(root)
        problems.append(Problem(str(where), f"cannot read: {error.strerror or error}"))

    files = []
    inside = root.resolve()
    for directory, subdirs, names in os.walk(root, onerror=unreadable):
        # A WireMock root's __files/ holds bodies, never mappings (WireMock reads it so too).
        wiremock = MAPPINGS_DIR in subdirs
        subdirs[:] = sorted(
            d for d in subdirs if not d.startswith(".") and not (wiremock and d == FILES_DIR)
        )
        for name in names:
            if not name.startswith(".") and Path(name).suffix.lower() in STUB_SUFFIXES:
                file = Path(directory) / name
                # Nothing is read outside the root: a stub file that is a link to elsewhere is
                # refused as a body_file link is (os.walk already leaves directory links alone).
                if file.is_symlink() and not file.resolve().is_relative_to(inside):
                    problems.append(
                        Problem(str(file), f"is a link to {file.resolve()}, outside {root}")
                    )
                    continue
                files.append(file)
    return sorted(files)


def find_stub_files(
    paths: Iterable[str | os.PathLike[str]],
) -> tuple[list[tuple[Path, Path]], list[Problem]]:
    """Every stub file under ``paths`` with its root, in a stable order; and missing paths.

    A directory is searched recursively (hidden entries skipped) and is the root of the files
    in it; a file given directly has its own directory as root.
    """
    found: list[tuple[Path, Path]] = []
    problems: list[Problem] = []
    for given in paths:
        path = Path(given)
        try:
            kind = "dir" if path.is_dir() else "file" if path.is_file() else None
        except OSError as exc:  # e.g. a parent directory we may not enter
            problems.append(Problem(str(path), f"cannot read: {exc.strerror or exc}"))
            continue
        if kind == "dir":
            found.extend((file, path) for file in _walk(path, problems))
        elif kind == "file":
            found.append((path, path.parent))
        elif os.path.lexists(path) or (
            os.path.isdir(path.parent) and not os.access(path.parent, os.X_OK)
        ):
            problems.append(Problem(str(path), "cannot read: permission denied"))
        else:
            problems.append(Problem(str(path), "no such file or directory"))
    return found, problems


def body_file_reader(
    stub_file: Path, root: Path, named: Callable[[Path], object] | None = None
) -> BodyFileReader:
    """A reader for ``body_file`` paths: relative to the stub file, confined to ``root``.

    ``named`` is told each file read (resolved), so the loader knows which files are bodies.
    """
    root_resolved = resolved(root)

    def read(relative: str) -> bytes:
        if "\x00" in relative:
            raise ValueError("body_file contains a NUL byte")
        if os.path.isabs(relative):
            raise ValueError(f"body_file {relative!r} must be a relative path inside {root}")
        target = resolved(stub_file.parent / relative)  # follows symlinks
        if not target.is_relative_to(root_resolved):
            raise ValueError(f"body_file {relative!r} is outside the stubs root {root}")
        try:
            found = target.stat()
        except OSError:
            found = None
        if found is None or not stat.S_ISREG(found.st_mode):
            raise ValueError(f"body_file {relative!r} does not exist (looked for {target})")
        size = found.st_size
        if size > MAX_BODY_FILE_BYTES:
            raise ValueError(
                f"body_file {relative!r} is {size:,} bytes; the limit is {MAX_BODY_FILE_BYTES:,}"
            )
        if named is not None:
            named(target)
        try:
            return _shared_body(target, found)
        except OSError as exc:  # e.g. a file the server's user may not read
            why = exc.strerror or exc
            raise ValueError(f"body_file {relative!r} cannot be read: {why}") from None

    return read


# Body files by (path, mtime, size), the bytes shared by every stub that names one: 300 admin
# stubs naming one 1 MiB file held 300 copies (issue 13). Bounded in bytes; an evicted body
# stays alive in the stubs that hold it, and a changed file is a new key.
_BODIES: OrderedDict[tuple[Path, int, int], bytes] = OrderedDict()
_BODIES_BYTES_KEPT: Final = 64 * 1024 * 1024
_bodies_lock = threading.Lock()
_bodies_kept = [0]  # bytes in _BODIES


def _shared_body(target: Path, found: os.stat_result) -> bytes:
    key = (target, found.st_mtime_ns, found.st_size)
    with _bodies_lock:
        body = _BODIES.get(key)
        if body is not None:
            _BODIES.move_to_end(key)
            return body
    body = target.read_bytes()
    with _bodies_lock:
        if key not in _BODIES:
            _BODIES[key] = body
            _bodies_kept[0] += len(body)
        while _bodies_kept[0] > _BODIES_BYTES_KEPT and len(_BODIES) > 1:
            _, dropped = _BODIES.popitem(last=False)
            _bodies_kept[0] -= len(dropped)
    return body


def admin_body_reader(paths: Sequence[str | os.PathLike[str]]) -> BodyFileReader:
    """The ``body_file`` reader for stubs posted to the admin API: relative to the first stubs
    directory, confined to it."""
    for given in paths:
        root = Path(given)
        if root.is_dir():
            return body_file_reader(root / "<admin>", root)

    def refuse(relative: str) -> bytes:
        raise ValueError("body_file needs a stubs directory to be relative to; none is loaded")

    return refuse


def load_file(
    file: Path, root: Path, named: Callable[[Path], object] | None = None
) -> tuple[ServiceSpec | None, list[Stub], list[Problem]]:
    """One stub file; ``named`` is told each body file its stubs read."""
    source = str(file)
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            return (
                None,
                [],
                [Problem(source, f"the file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}")],
            )
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [], [Problem(source, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]
    except OSError as exc:
        return None, [], [Problem(source, f"cannot read: {exc.strerror or exc}")]
    try:
        data, marks = read_document(text, source, is_json=file.suffix.lower() == ".json")
    except StubFileError as exc:
        return None, [], list(exc.problems)
    del text  # a large file's text need not outlive its parse
    if isinstance(data, dict) and ("openapi" in data or "swagger" in data):
        # Imported on the first document: its validators cost 0.3 s of start for everyone else.
        from mockserver.formats.openapi.load import is_openapi, parse_openapi

        if is_openapi(data):
            return parse_openapi(data, source, file.stem, marks)
    if isinstance(data, dict) and "interactions" in data:
        # Imported here: the cassette reader uses the recorder's stub builder, which uses us.
        from mockserver.formats.har import HarError
        from mockserver.formats.vcr import cassette_document, is_cassette

        if is_cassette(data):  # a VCR.py cassette, served as it is
            try:
                data, marks = cassette_document(data, file.stem), {}
            except HarError as exc:
                problem = f"a VCR.py cassette mockserver cannot serve: {exc}"
                return None, [], [Problem(source, problem)]
    if is_wiremock(data):  # a WireMock mapping file: bodyFileName is read from __files/
        home = wiremock_home(file, root)
        confined = home if home.is_relative_to(resolved(root)) else root
        reader = body_file_reader(home / FILES_DIR / "-", confined, named)
        return parse_mappings(data, source, service_for(home), reader)
    reader = body_file_reader(file, root, named)
    return parse_service(data, source, file.stem, reader, marks, release=True)


@dataclass(frozen=True, slots=True)
class LoadedTree:
    """What ``load_tree`` found: the stub set, the stub files read, the body files, and the
    stubs that another file's stub answers in place of."""

    stubs: StubSet
    files: tuple[Path, ...]
    bodies: tuple[Path, ...]
    shadows: tuple[Shadow, ...]


def load_tree(paths: Sequence[str | os.PathLike[str]]) -> LoadedTree:
    """Load every stub file under ``paths`` into one StubSet; files named as bodies are not
    stub files.

    Raises:
        StubFileError: with every problem in every file; nothing is half-loaded.
    """
    with remembering():  # the same directories are resolved for every file (realpaths.py)
        return _load_tree(paths)


def _load_tree(paths: Sequence[str | os.PathLike[str]]) -> LoadedTree:
    forget_shared()
    files, problems = find_stub_files(paths)
    bodies: set[Path] = set()
    results: dict[int, tuple[ServiceSpec | None, list[Stub], list[Problem]]] = {}
    # YAML files first: bodies are mostly JSON, and one already named need not be parsed as a
    # would-be stub file (a 9 MB body costs 0.6 s to parse). The set is served in file order.
    for position in sorted(range(len(files)), key=lambda i: files[i][0].suffix.lower() == ".json"):
        file, root = files[position]
        if _resolved(file) not in bodies:
            results[position] = load_file(file, root, bodies.add)
    parsed: list[tuple[ServiceSpec, Sequence[Stub]]] = []
    stub_files: list[Path] = []
    body_files: list[Path] = []
    for position, (file, _) in enumerate(files):
        if _resolved(file) in bodies:
            body_files.append(file)
            continue
        service, stubs, file_problems = results[position]
        stub_files.append(file)
        problems.extend(file_problems)
        if service is not None and not file_problems:
            parsed.append((service, stubs))
    served = {spec.name for spec, _ in parsed}
    for home in _wiremock_homes(files):
        if service_for(home) in served:  # its mapping files were WireMock's
            parsed.extend(_static_files(home, problems))
    stub_set = combine(parsed, problems)
    listener_of = {name: spec.port for name, spec in stub_set.services.items()}
    # A file of __files/ is served when no mapping is, on purpose: not a shadow to report.
    compared = [stub for stub in stub_set.stubs if not is_static(stub)]
    shadows = tuple(find_shadows(compared, listener_of))
    return LoadedTree(stub_set, tuple(stub_files), tuple(body_files), shadows)


def _wiremock_homes(files: Iterable[tuple[Path, Path]]) -> list[Path]:
    """The WireMock roots among the stub files' directories that have a ``__files/``."""
    homes: dict[Path, None] = {}
    for file, root in files:
        home = wiremock_home(file, root)
        if (
            home / MAPPINGS_DIR in _resolved(file).parents
            and home.is_relative_to(resolved(root))  # not when mappings/ itself was given
            and (home / FILES_DIR).is_dir()
        ):
            homes[home] = None
    return list(homes)


def _static_files(home: Path, problems: list[Problem]) -> list[tuple[ServiceSpec, list[Stub]]]:
    """The stubs that serve ``home``'s ``__files/`` as WireMock does (wiremock_files.py)."""
    files_dir = home / FILES_DIR
    reader = body_file_reader(files_dir / "-", files_dir)
    spec, stubs, found = parse_static(files_dir, service_for(home), reader)
    problems.extend(found)
    return [(spec, stubs)] if spec is not None and not found else []


def _resolved(file: Path) -> Path:
    try:
        return resolved(file)
    except OSError:  # a symlink loop: it cannot be anyone's body either
        return file


def load_paths(paths: Sequence[str | os.PathLike[str]]) -> StubSet:
    """Load every stub file under ``paths`` into one StubSet (see ``load_tree``); a stub that
    another file's stub answers in place of is logged, one warning per route.

    Raises:
        StubFileError: with every problem in every file; nothing is half-loaded.
    """
    tree = load_tree(paths)
    for line in shadow_lines(list(tree.shadows)):
        log.warning("%s", line)
    return tree.stubs
