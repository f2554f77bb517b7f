"""Writing recorded stubs to disk: safe names, confined to the output directory, atomically.

A file is written to a temporary file beside it, flushed to disk and renamed over the target,
so a crash or a full disk never leaves a truncated stub file. A file a person wrote (it lacks
the recorder's mark on its first line) is never overwritten: the recording goes beside it.
A new file gets the mode any program's new file gets (0666 less the umask: 0644 usually), so
another user, such as the image's uid reading a mounted ``stubs/``, can read it; a file written
again keeps its mode.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

import yaml

from .recording import RECORDED_MARK, Recording, Redaction, service_document, stubs_from_exchanges

__all__ = ["WriteMode", "recorded_path", "safe_file_stem", "write_atomic", "write_recording"]

log = logging.getLogger("mockserver")

WriteMode = Literal["record", "new", "all", "import"]
# What writing the file again does, in the header of a file written in each mode: record and
# import replace their file, spy mode's --record-new adds to it, =all replaces what new added.
_NOTES: Final[dict[str, str]] = {
    "record": "recording again (mockserver record) replaces this file.",
    "new": "spy mode (serve --spy --record-new, pytest --mockserver-record=new) adds what it "
    "records\n# to this file and keeps what is here; pytest --mockserver-record=all replaces it.",
    "all": "pytest --mockserver-record=all replaces this file when it records again;\n"
    "# spy mode (serve --spy --record-new, --mockserver-record=new) adds to it.",
    "import": "importing again (mockserver import) replaces this file.",
}
_RESERVED: Final = frozenset(
    {
        "con",
        "prn",
        "aux",
        "nul",
        *(f"com{i}" for i in range(1, 10)),
        *(f"lpt{i}" for i in range(1, 10)),
    }
)


def safe_file_stem(name: str) -> str:
    """A file name stem from a service name: [a-z0-9._-], no leading dot, not reserved."""
    stem = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip(".-")[:60] or "service"
    return f"{stem}-service" if stem in _RESERVED else stem


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step (temp file, fsync, rename), keeping the mode
    of the file it replaces; a new file gets 0666 less the umask."""
    try:
        kept: int | None = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        kept = None
    fd, temp = _create_beside(path)
    try:
        if kept is not None:
            os.fchmod(fd, kept)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _create_beside(path: Path) -> tuple[int, Path]:
    """A new hidden file beside ``path``, opened for writing. Not ``tempfile.mkstemp``: its
    files are 0600, and the rename would hand that mode to the stub file."""
    for _ in range(100):
        temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
            return os.open(temp, flags, 0o666), temp  # the kernel applies the umask
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def _is_recorded(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return handle.readline().startswith(RECORDED_MARK)
    except OSError:
        return False


def recorded_path(
    out_dir: Path, service: str, suffix: str = "", taken: frozenset[Path] = frozenset()
) -> Path:
    """Where a service's recording goes in ``out_dir``: ``<name>.yaml`` unless a person wrote
    that file (or another service of this recording has it: ``taken``), then
    ``<name>.recorded.yaml`` (then ``-2``, ...)."""
    root = out_dir.resolve()
    stem = safe_file_stem(service) + suffix
    candidates = [f"{stem}.yaml", f"{stem}.recorded.yaml"] + [
        f"{stem}.recorded-{n}.yaml" for n in range(2, 100)
    ]
    for name in candidates:
        path = (root / name).resolve()
        if not path.is_relative_to(root):  # cannot happen with a safe stem; belt and braces
            continue
        if path in taken:
            continue
        if not path.exists() or _is_recorded(path):
            if name != candidates[0]:
                log.warning(
                    "%s is taken (written by hand, or by another service); recording %s into %s",
                    candidates[0],
                    service,
                    name,
                )
            return path
    raise OSError(f"no free file name for service {service!r} in {out_dir}")


def write_recording(
    recording: Recording,
    out_dirs: Mapping[str, Path],
    redaction: Redaction,
    ports: Mapping[str, int | None] | None = None,
    suffix: str = "",
    merge: bool = False,
    *,
    mode: WriteMode | None = None,
) -> list[Path]:
    """Write each service's recorded exchanges as a stub file; returns the files written.

    With ``merge``, stubs already in a recorded file are kept and the new ones appended
    (spy mode adds to what earlier runs captured); otherwise the file is replaced. ``mode``
    names the writer for the file's header; by default it follows from ``merge`` and
    ``suffix`` (spy mode writes ``.recorded`` files).
    """
    if mode is None:
        mode = "new" if merge else "all" if suffix else "record"
    written: list[Path] = []
    for service, exchanges in recording.exchanges.items():
        if not exchanges:
            continue
        out_dir = out_dirs[service]
        out_dir.mkdir(parents=True, exist_ok=True)
        stubs = stubs_from_exchanges(service, exchanges, redaction)
        # Two names can make one stem ("../x" and "x"): the second must not replace the first.
        path = recorded_path(out_dir, service, suffix, frozenset(written))
        if merge and path.exists():
            stubs = _merged(_existing_stubs(path), stubs)
        text = service_document(
            service,
            recording.upstreams.get(service),
            stubs,
            port=(ports or {}).get(service),
            note=_NOTES[mode],
        )
        write_atomic(path, text)
        written.append(path)
    return written


def _existing_stubs(path: Path) -> list[dict[str, Any]]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return []
    stubs = document.get("stubs") if isinstance(document, dict) else None
    return [s for s in stubs if isinstance(s, dict)] if isinstance(stubs, list) else []


def _merged(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    taken = {s.get("id") for s in old}
    merged = list(old)
    for stub in new:
        stub_id, n = stub.get("id"), 2
        while stub_id in taken:
            stub_id, n = f"{stub.get('id')}-{n}", n + 1
        taken.add(stub_id)
        merged.append({**stub, "id": stub_id})
    return merged
