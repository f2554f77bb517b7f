"""``mockserver import har``: a HAR file → stub files, through the recorder's writer.

The I/O half of ``har``: reads the file, writes one stub file per service into ``--out``
(atomically, never over a hand-written file, secrets redacted as when recording), and says
what it wrote and which entries it left out.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from .har import HarError, parse_har
from .recording import Redaction
from .recordwriter import write_recording
from .stubfile import valid_service_name

__all__ = ["import_har"]


def import_har(
    file: str,
    out_dir: str,
    *,
    service: str | None = None,
    redact: Sequence[str] = (),
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Import ``file``; 0 when stubs were written, 1 when the file is unusable, 2 for bad
    arguments."""
    out, err = out or sys.stdout, err or sys.stderr
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
    try:
        text = Path(file).read_bytes()
    except OSError as exc:
        print(f"mockserver import: error: cannot read {file}: {exc.strerror or exc}", file=err)
        return 1
    try:
        found = parse_har(text, service)
    except HarError as exc:
        print(f"mockserver import: {file} is not a HAR 1.2 log: {exc}", file=err)
        return 1
    for reason in found.skipped:
        print(f"mockserver import: left out {reason}", file=err)
    if not found.count:
        print(f"mockserver import: {file} has no entries to import", file=err)
        return 1
    target = Path(out_dir)
    try:
        written = write_recording(
            found.recording,
            dict.fromkeys(found.recording.exchanges, target),
            redaction,
            mode="import",
        )
    except (OSError, ValueError) as exc:
        print(f"mockserver import: error: cannot write into {out_dir}: {exc}", file=err)
        return 1
    lines = [f"imported {found.count} entries from {file}:"]
    for path in written:
        lines.append(f"  {path}")
    print("\n".join(lines), file=out, flush=True)
    return 0
