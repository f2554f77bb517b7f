"""Writing recorded stubs to disk: safe names, confined to the output directory, atomically.

A file is written to a temporary file beside it, flushed to disk and renamed over the target,
so a crash or a full disk never leaves a truncated stub file. A file a person wrote (it lacks
the recorder's mark on its first line) is never overwritten: the recording goes beside it.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml

from .recording import RECORDED_MARK, Recording, Redaction, service_document, stubs_from_exchanges

__all__ = ["recorded_path", "safe_file_stem", "write_atomic", "write_recording"]

log = logging.getLogger("mockserver")

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
    """Replace ``path`` with ``text`` in one step (temp file, fsync, rename)."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


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
) -> list[Path]:
    """Write each service's recorded exchanges as a stub file; returns the files written.

    With ``merge``, stubs already in a recorded file are kept and the new ones appended
    (spy mode adds to what earlier runs captured); otherwise the file is replaced.
    """
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
            service, recording.upstreams.get(service), stubs, port=(ports or {}).get(service)
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
