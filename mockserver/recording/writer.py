"""Persisting a recording while it runs: each exchange is on disk moments after it completes.

The proxy hands an exchange over on the event loop (a list append); one writer thread per
recorder turns it into a stub (recordstubs.py), writes a large body once beside the stub file,
and writes the stub file again atomically (temp file, fsync, rename: persist.write_atomic), so
a recorder killed with SIGKILL keeps all but its last moments and a file is never half
written. Writes coalesce: what arrives while a file is written goes into its next write, and
the next write waits three times as long as the last one took (50 ms at least), so rewriting
takes at most a quarter of the writer's time however fast exchanges come. Each stub is
rendered once (when it changes), so a write joins texts: N exchanges do not cost N dumps of a
growing file.

Files several processes add to (``--mockserver-record=new|all`` under pytest-xdist, spy mode)
are read, merged and written under a file lock (filelock) held in a hidden file beside them:
stubs other writers put there are kept, ours replace what we wrote before. ``new`` keeps every
stub already in the file; ``all`` replaces the stubs of earlier sessions, keeping those of its
own session (``session``: pytest-xdist's run id, the same in every worker), so the file ends
with what the whole session recorded.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import filelock
import yaml

from mockserver.recording.exchange import Exchange, Redaction
from mockserver.recording.persist import NOTES, WriteMode, recorded_path, write_atomic
from mockserver.recording.stubs import (
    SESSION_MARK,
    Recording,
    StubBuilder,
    document_text,
    header_text,
    render_stub,
)
from mockserver.recording.summary import recording_report

__all__ = ["RECORDING_DEADLINE", "Recorder", "write_recording"]

log = logging.getLogger("mockserver")

# How long stopping may take to write what is still pending: SIGTERM gives requests in flight
# 5 s (--shutdown-timeout) and a container is killed 10 s after it.
RECORDING_DEADLINE: Final = 4.0
_LEAST_PAUSE: Final = 0.05
_PAUSE_FACTOR: Final = 3.0
_RETRY_AFTER: Final = 1.0
_LOCK_TIMEOUT: Final = 60.0
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_HASHED: Final = re.compile(r"[0-9a-f]{32}\.body")  # recordspecs.body_file_name's


@dataclass(slots=True)
class _File:
    """One service's stub file as this recorder writes it."""

    service: str
    upstream: str
    path: Path
    builder: StubBuilder
    recorded: int = 0
    skipped: int = 0
    dirty: bool = False
    due: float = 0.0  # time.monotonic() before which it is not written again
    error: OSError | None = None
    written_ids: frozenset[str] = frozenset()
    stamp: tuple[int, int, int] | None = None  # the file as our last write left it
    others: list[tuple[str, str]] = field(default_factory=list)  # (id, text) of others' stubs


@dataclass(slots=True)
class Recorder:
    """Exchanges recorded per service, written into ``out_dirs`` as they come.

    ``add`` is cheap and thread-safe (the event loop calls it); ``close`` writes what is
    pending and stops the writer. ``mode`` says what the file's header promises and whether
    others' stubs in it are kept (``new``, ``all``: see the module's docstring).
    """

    out_dirs: dict[str, Path]
    redaction: Redaction
    ports: dict[str, int | None] = field(default_factory=dict)
    suffix: str = ""
    mode: WriteMode = "record"
    session: str = field(default_factory=lambda: uuid.uuid4().hex)
    _files: dict[str, _File] = field(default_factory=dict)
    _pending: list[tuple[str, str, Exchange]] = field(default_factory=list)
    _added: int = 0
    _taken: int = 0
    _urgent: int = 0
    _stopping: bool = False
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _thread: threading.Thread | None = None

    @property
    def shared(self) -> bool:
        """Whether other processes may write the same files (merge under a lock)."""
        return self.mode in ("new", "all")

    # -- on the event loop ----------------------------------------------------------------

    def add(self, service: str, upstream: str, exchange: Exchange) -> None:
        """Hand ``exchange`` to the writer thread (started on first use)."""
        with self._cond:
            if self._stopping:
                log.warning("%s: recorded after the recorder stopped; not kept", _named(exchange))
                return
            self._pending.append((service, upstream, exchange))
            self._added += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="mockserver-recorder", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    # -- from any thread ------------------------------------------------------------------

    def flush(self, timeout: float = RECORDING_DEADLINE) -> list[Path]:
        """Write everything added so far, now; returns the files.

        Raises:
            OSError: a file could not be written, or not within ``timeout`` seconds.
        """
        with self._cond:
            target = self._added
            self._urgent += 1
            self._cond.notify_all()
            try:
                done = self._cond.wait_for(lambda: self._settled(target), timeout)
            finally:
                self._urgent -= 1
        return self._outcome(done, timeout)

    def close(self, timeout: float = RECORDING_DEADLINE) -> list[Path]:
        """Write what is pending and stop the writer; returns the files. Safe to call twice.

        Raises:
            OSError: as ``flush``.
        """
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        with self._cond:
            done = self._settled(self._added)
        paths = self._outcome(done, timeout)
        self._prune()
        return paths

    def summary(self) -> list[tuple[Path, int, int]]:
        """(file, exchanges recorded into it, exchanges skipped) per service."""
        with self._cond:
            return [(f.path, f.recorded, f.skipped) for f in self._files.values()]

    def report(self) -> list[str]:
        """Per file written, how its replay will choose: variants, sequences, semantics."""
        with self._cond:
            files = [f for f in self._files.values() if f.recorded]
        return [recording_report(f.path, f.builder.stubs()) for f in files]

    def _settled(self, target: int) -> bool:
        return self._taken >= target and not any(f.dirty for f in self._files.values())

    def _outcome(self, done: bool, timeout: float) -> list[Path]:
        with self._cond:
            failed = [f for f in self._files.values() if f.dirty]
            pending = len(self._pending)
            paths = [f.path for f in self._files.values() if f.recorded]
        if failed and failed[0].error is not None:
            raise OSError(f"{failed[0].path}: {failed[0].error.strerror or failed[0].error}")
        if not done:
            raise OSError(
                f"the recording was not written within {timeout:g} s "
                f"({pending} exchanges not yet taken, {len(failed)} files not yet written)"
            )
        return paths

    # -- the writer thread ----------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._any_ready():
                    if self._stopping and not any(f.dirty for f in self._files.values()):
                        return
                    self._cond.wait(self._until_due())
                batch, self._pending = self._pending, []
                urgent = bool(self._urgent) or self._stopping
            taken = len(batch)
            while batch:  # each exchange (and its body) let go once it is on disk
                self.take(*batch.pop(0))
            now = time.monotonic()
            for file in list(self._files.values()):
                if _ready(file, now, urgent):
                    self._write(file)
            with self._cond:
                self._taken += taken
                self._cond.notify_all()

    def _any_ready(self) -> bool:
        now, urgent = time.monotonic(), bool(self._urgent) or self._stopping
        return any(_ready(file, now, urgent) for file in self._files.values())

    def _until_due(self) -> float | None:
        dues = [f.due for f in self._files.values() if f.dirty]
        return max(0.0, min(dues) - time.monotonic()) if dues else None

    def take(self, service: str, upstream: str, exchange: Exchange) -> None:
        """Turn ``exchange`` into a stub of ``service``'s file (its body file written now)."""
        file: _File | None = None
        try:
            file = self._file(service, upstream)
            problem, body = file.builder.add(exchange)
            if problem is None and body is not None:
                _write_body(file.path.parent / body[0], body[1])
        except Exception as exc:  # one exchange never stops the writer
            problem = f"{type(exc).__name__}: {exc}"
        if file is None or problem is not None:
            if file is not None:
                file.skipped += 1
            log.warning("%s: not recorded: %s", _named(exchange), problem)
            return
        file.recorded += 1
        file.dirty = True

    def _file(self, service: str, upstream: str) -> _File:
        file = self._files.get(service)
        if file is None:
            taken = frozenset(f.path for f in self._files.values())
            path = recorded_path(self.out_dirs[service], service, self.suffix, taken)
            builder = StubBuilder(service, self.redaction, body_dir=f"{path.stem}.bodies")
            with self._cond:
                file = self._files[service] = _File(service, upstream, path, builder)
        return file

    def _write(self, file: _File) -> None:
        started = time.monotonic()
        try:
            file.path.parent.mkdir(parents=True, exist_ok=True)
            if self.shared:
                lock = file.path.with_name(f".{file.path.name}.lock")
                with filelock.FileLock(lock, timeout=_LOCK_TIMEOUT):
                    self._write_merged(file)
            else:
                self._write_merged(file)
        except (OSError, filelock.Timeout) as exc:
            error = exc if isinstance(exc, OSError) else OSError(str(exc))
            if file.error is None:
                log.error("could not write the recording %s: %s", file.path, error)
            file.error, file.due = error, time.monotonic() + _RETRY_AFTER
            return
        took = time.monotonic() - started
        file.dirty, file.error = False, None
        file.due = time.monotonic() + max(_LEAST_PAUSE, _PAUSE_FACTOR * took)

    def _write_merged(self, file: _File) -> None:
        others = self._others(file) if self.shared else []
        file.builder.other_bytes = sum(len(text) for _, text in others)
        taken = {stub_id for stub_id, _ in others}
        items = [text for _, text in others]
        ours: set[str] = set()
        for stub in file.builder.items():
            stub_id, n = stub.stub_id, 2
            while stub_id in taken:  # another writer of the file has this id
                stub_id, n = f"{stub.stub_id}-{n}", n + 1
            taken.add(stub_id)
            ours.add(stub_id)
            items.append(stub.text if stub_id == stub.stub_id else stub.renamed(stub_id))
        session = self.session if self.mode == "all" else None
        header = header_text(file.upstream, NOTES[self.mode], session=session)
        port = self.ports.get(file.service)
        write_atomic(file.path, document_text(file.service, file.upstream, port, items, header))
        file.written_ids = frozenset(ours)
        file.stamp = _stamp(file.path)

    def _others(self, file: _File) -> list[tuple[str, str]]:
        """The stubs in the file that others wrote: re-read only when it changed since our
        last write."""
        stamp = _stamp(file.path)
        if stamp is None:
            file.others = []
        elif stamp != file.stamp:
            file.others = self._read_others(file)
        return file.others

    def _read_others(self, file: _File) -> list[tuple[str, str]]:
        text = file.path.read_text(encoding="utf-8")
        if self.mode == "all" and f"{SESSION_MARK}{self.session}\n" not in text[:2000]:
            return []  # an earlier session's recording: this session's replaces it
        try:
            document = yaml.load(text, Loader=_Loader)
        except yaml.YAMLError as exc:
            raise OSError(f"cannot add to {file.path}, not valid YAML: {exc}") from None
        stubs = document.get("stubs") if isinstance(document, dict) else None
        if not isinstance(stubs, list):
            return []
        return [
            (str(stub.get("id")), render_stub(stub))
            for stub in stubs
            if isinstance(stub, dict) and stub.get("id") not in file.written_ids
        ]

    def write_all(self) -> list[Path]:
        """Write every file now, in this thread (for a recording taken in one go)."""
        for file in self._files.values():
            if file.dirty:
                self._write(file)
                if file.error is not None:
                    raise file.error
        self._prune()
        return [f.path for f in self._files.values() if f.recorded]

    def _prune(self) -> None:
        """Remove the body files a replaced recording left that no stub names any more
        (record and import only: one writer per file, which knows every stub in it)."""
        if self.shared:
            return
        for file in self._files.values():
            if not file.recorded:
                continue
            named = {Path(name).name for name in file.builder.body_files()}
            directory = file.path.parent / file.builder.body_dir
            try:
                for old in directory.glob("*.body"):
                    if _HASHED.fullmatch(old.name) and old.name not in named:
                        old.unlink(missing_ok=True)
            except OSError as exc:  # the recording is written; a leftover is harmless
                log.warning("could not remove old body files in %s: %s", directory, exc)


def _ready(file: _File, now: float, urgent: bool) -> bool:
    """Whether to write ``file`` now: it changed, and its pause is over (or a flush is
    asked for, unless the last write failed: then it waits to retry)."""
    if not file.dirty:
        return False
    if file.error is not None:
        return now >= file.due
    return urgent or now >= file.due


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _write_body(path: Path, data: bytes) -> None:
    """A body file, once: its name is its hash, so one that exists holds these bytes."""
    try:
        if path.stat().st_size == len(data):
            return
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)


def _named(exchange: Exchange) -> str:
    """The exchange in a log line, control characters escaped."""
    return f"{exchange.method} {exchange.path!r}"[:200]


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
    """Write each service's recorded exchanges as a stub file, in one go (a HAR import);
    returns the files written. The same writer as a running recorder's.

    With ``merge``, stubs already in a recorded file are kept and the new ones appended
    (spy mode adds to what earlier runs captured); otherwise the file is replaced. ``mode``
    names the writer for the file's header; by default it follows from ``merge`` and
    ``suffix`` (spy mode writes ``.recorded`` files).

    Raises:
        OSError: a file could not be written.
    """
    if mode is None:
        mode = "new" if merge else "all" if suffix else "record"
    recorder = Recorder(dict(out_dirs), redaction, dict(ports or {}), suffix=suffix, mode=mode)
    for service, exchanges in recording.exchanges.items():
        for exchange in exchanges:
            recorder.take(service, recording.upstreams.get(service, ""), exchange)
    return recorder.write_all()
