"""``mockserver import har|vcr``: a HAR file or VCR.py cassettes → stub files, through the
recorder's writer.

The I/O half of ``har`` and ``vcr``: reads the file, writes one stub file per service into ``--out``
(atomically, never over a hand-written file, secrets redacted as when recording), and says
what it wrote and which entries it left out.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from mockserver.core.errors import StubFileError
from mockserver.formats.har import HarError, HarImport, parse_har
from mockserver.formats.vcr import parse_cassette
from mockserver.recording.exchange import Redaction
from mockserver.recording.stubs import Recording
from mockserver.recording.writer import write_recording
from mockserver.stubfiles.documents import read_document
from mockserver.stubfiles.stubfile import valid_service_name

__all__ = ["import_har", "import_vcr"]


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
