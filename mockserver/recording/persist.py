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
from pathlib import Path
from typing import Final, Literal

from mockserver.recording.exchange import RECORDED_MARK

__all__ = ["NOTES", "WriteMode", "recorded_path", "safe_file_stem", "write_atomic"]

log = logging.getLogger("mockserver")

WriteMode = Literal["record", "new", "all", "import"]
# What writing the file again does, in the header of a file written in each mode: record and
# import replace their file, spy mode's --record-new adds to it, =all replaces what new added.
NOTES: Final[dict[str, str]] = {
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


def write_atomic(path: Path, text: str | bytes) -> None:
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
        data = text.encode("utf-8") if isinstance(text, str) else text
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
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
