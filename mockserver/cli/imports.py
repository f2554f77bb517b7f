"""``mockserver import har|vcr|wiremock``: a HAR file, VCR.py cassettes or a WireMock root →
stub files, through the recorder's writer.

The I/O half of ``har`` and ``vcr``: reads the file, writes one stub file per service into ``--out``
(atomically, never over a hand-written file, secrets redacted as when recording), and says
what it wrote and which entries it left out.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from mockserver.core.errors import StubFileError
from mockserver.formats.har import HarError, HarImport, parse_har
from mockserver.formats.vcr import parse_cassette
from mockserver.recording.exchange import Redaction
from mockserver.recording.stubs import Recording
from mockserver.recording.writer import write_recording
from mockserver.stubfiles.documents import read_document
from mockserver.stubfiles.stubfile import valid_service_name

__all__ = ["import_har", "import_vcr", "import_wiremock"]


def import_har(
    file: str,
    out_dir: str,
    *,
    service: str | None = None,
    redact: Sequence[str] = (),
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Import a HAR file; 0 when stubs were written, 1 when the file is unusable, 2 for bad
    arguments."""
    return _import(
        [file],
        out_dir,
        "a HAR 1.2 log",
        lambda text: parse_har(text, service),
        service,
        redact,
        out or sys.stdout,
        err or sys.stderr,
    )


def import_vcr(
    files: Sequence[str],
    out_dir: str,
    *,
    service: str | None = None,
    redact: Sequence[str] = (),
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Import VCR.py cassettes (vcrpy, pytest-recording), merged: the same exit codes."""

    def parse(text: bytes) -> HarImport:
        try:
            document, _ = read_document(text.decode("utf-8"), "cassette")
        except (UnicodeDecodeError, StubFileError) as exc:
            raise HarError(str(exc).splitlines()[-1].strip()) from None
        return parse_cassette(document, service)

    return _import(
        files,
        out_dir,
        "a VCR.py cassette",
        parse,
        service,
        redact,
        out or sys.stdout,
        err or sys.stderr,
    )


def _import(
    files: Sequence[str],
    out_dir: str,
    what: str,
    parse: Callable[[bytes], HarImport],
    service: str | None,
    redact: Sequence[str],
    out: TextIO,
    err: TextIO,
) -> int:
    if service is not None and not valid_service_name(service):
        print(
            f"mockserver import: error: service name {service!r}: letters, digits, '.', '_' "
            "or '-', starting with a letter or digit",
            file=err,
        )
        return 2
    try:
        redaction = Redaction().extended(redact)
    except ValueError as exc:  # a bad JSONPath
        print(f"mockserver import: error: --redact: {exc}", file=err)
        return 2
    merged = Recording()
    origins: dict[str, set[str | None]] = {}
    count = 0
    for file in files:
        try:
            text = Path(file).read_bytes()
        except OSError as exc:
            print(f"mockserver import: error: cannot read {file}: {exc.strerror or exc}", file=err)
            return 1
        try:
            found = parse(text)
        except HarError as exc:
            print(f"mockserver import: {file} is not {what}: {exc}", file=err)
            return 1
        for reason in found.skipped:
            print(f"mockserver import: left out {reason}", file=err)
        for name, exchanges in found.recording.exchanges.items():
            upstream = found.recording.upstreams.get(name)
            origins.setdefault(name, set()).add(upstream)
            for exchange in exchanges:
                merged.add(name, upstream or "", exchange)
        count += found.count
    for name, seen in origins.items():
        if len(seen) != 1 or None in seen:  # several origins: no one upstream
            merged.upstreams.pop(name, None)
    if not count:
        print(f"mockserver import: {', '.join(files)}: nothing to import", file=err)
        return 1
    try:
        written = write_recording(
            merged, dict.fromkeys(merged.exchanges, Path(out_dir)), redaction, mode="import"
        )
    except (OSError, ValueError) as exc:
        print(f"mockserver import: error: cannot write into {out_dir}: {exc}", file=err)
        return 1
    lines = [f"imported {count} entries from {', '.join(files)}:"]
    lines.extend(f"  {path}" for path in written)
    print("\n".join(lines), file=out, flush=True)
    return 0


def import_wiremock(
    root: str, out_dir: str, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Import a WireMock root: one stub file per service, the bodies its mappings name copied
    into ``<file>.bodies/``; 0 when written, 1 when the root cannot be served as it is."""
    from datetime import UTC, datetime

    from mockserver.formats.loader import find_stub_files, load_tree
    from mockserver.formats.wiremock import (
        FILES_DIR,
        is_wiremock,
        service_for,
        translate_mappings,
        wiremock_home,
    )
    from mockserver.formats.wiremock_files import static_document
    from mockserver.recording.exchange import RECORDED_MARK
    from mockserver.recording.persist import recorded_path, write_atomic
    from mockserver.recording.stubs import document_text, render_stub

    out, err = out or sys.stdout, err or sys.stderr
    try:
        load_tree([root])  # every problem, before a file is written
    except StubFileError as exc:
        print(exc, file=err)
        return 1
    services: dict[str, list[dict[str, object]]] = {}
    bodies: dict[str, list[tuple[Path, Path]]] = {}
    homes: dict[str, Path] = {}
    target = Path(out_dir)

    def add(service: str, home: Path, stubs: list[dict[str, Any]]) -> None:
        path = recorded_path(target, service)
        for stub in stubs:
            response = stub["response"]
            if "body_file" in response:  # copied beside the stub file, as a recording's are
                source = (home / FILES_DIR / response["body_file"]).resolve()
                relative = Path(f"{path.stem}.bodies") / source.relative_to(home.resolve())
                bodies.setdefault(service, []).append((source, target / relative))
                response["body_file"] = relative.as_posix()
        services.setdefault(service, []).extend(stubs)

    for file, base in find_stub_files([root])[0]:
        document, _ = read_document(file.read_text("utf-8"), str(file), is_json=True)
        if not is_wiremock(document):
            continue
        home = wiremock_home(file, base)
        service = service_for(home)
        translated, _, _ = translate_mappings(document, str(file), service)
        add(service, home, translated["stubs"])
        if home.is_relative_to(Path(base).resolve()):  # __files/ is inside what was given
            homes[service] = home
    mappings = sum(map(len, services.values()))
    for service, home in homes.items():  # __files/ served as WireMock serves it
        add(service, home, static_document(home / FILES_DIR, service)["stubs"])
    files = sum(map(len, services.values())) - mappings
    if not services:
        print(f"mockserver import: {root}: no WireMock mappings found", file=err)
        return 1
    moment = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    header = (
        f"{RECORDED_MARK} from the WireMock root {root} on {moment}.\n"
        "# Edit freely; importing again replaces this file.\n"
    )
    served = f" (and {files} stubs serving __files/)" if files else ""
    lines = [f"imported {mappings} mappings{served} from {root}:"]
    try:
        target.mkdir(parents=True, exist_ok=True)
        for service, stubs in services.items():
            path = recorded_path(target, service)
            for source, copy in bodies.get(service, []):
                copy.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(copy, source.read_bytes())
            items = [render_stub(stub) for stub in stubs]
            write_atomic(path, document_text(service, None, None, items, header))
            lines.append(f"  {path}")
    except OSError as exc:
        print(f"mockserver import: error: cannot write into {out_dir}: {exc}", file=err)
        return 1
    print("\n".join(lines), file=out, flush=True)
    return 0
