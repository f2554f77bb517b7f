"""Is the installed ``mockserver`` package ours?

MockServer's Python client, ``mockserver-client``, installs a package of the same import name
(with a ``MockServerClient``, a ``pytest_plugin.py`` and a pytest11 entry point of the same
name). Installed after us it overwrites our ``__init__.py`` and ``pytest_plugin.py`` in
site-packages (and puts its ``client.py`` beside them); installed before us, we overwrite
theirs. Either way one of the two is broken, so the command line and the pytest plugin refuse
to start, with one line saying why and what to do.

This module imports nothing of the package but itself, and the console script and the pytest11
entry point name modules mockserver-client does not ship, so this check runs whichever files
are there. Which distribution owns a file is read from each one's RECORD: a file of ours whose
hash is no longer the one we installed was overwritten (or removed with their uninstall).
"""

from __future__ import annotations

import base64
import hashlib
import sys
from importlib import metadata
from pathlib import Path
from typing import Final

__all__ = ["OURS", "THEIRS", "main", "problem"]

OURS: Final = "mockserver"
THEIRS: Final = "mockserver-client"
_PACKAGE: Final = Path(__file__).resolve().parent


def problem() -> str | None:
    """One line saying what is wrong with the installed package and what to do, or None."""
    try:
        theirs: str | None = metadata.version(THEIRS)
    except metadata.PackageNotFoundError:
        theirs = None
    replaced = replaced_files()
    shown = ", ".join(replaced[:4]) + (", ..." if len(replaced) > 4 else "")
    if theirs is not None:
        ours = f" (ours replaced: {shown})" if replaced else ""
        return (
            f"mockserver: {THEIRS} {theirs} (MockServer's client) is installed here too and its "
            f"package has the same import name, so one overwrote the other's files{ours}; use a "
            f"virtual environment for each (here: pip uninstall {THEIRS}, then reinstall "
            "mockserver), or run mockserver as its container and drive it over HTTP"
        )
    if replaced:
        return (
            f"mockserver: files of this installation were replaced or removed ({shown}), as "
            f"installing or uninstalling {THEIRS} (same import name) does: reinstall mockserver "
            "(pip install --force-reinstall --no-deps ...)"
        )
    return None


def replaced_files() -> list[str]:
    """Our installed files (running from site-packages) that are not what we installed."""
    try:
        files = metadata.distribution(OURS).files or []
    except metadata.PackageNotFoundError:
        return []  # running from a source tree
    replaced = []
    for record in files:
        name = str(record)
        if not name.startswith(f"{OURS}/") or record.hash is None:
            continue
        path = Path(str(record.locate())).resolve()
        if not path.is_relative_to(_PACKAGE):
            return []  # an installed copy, but not the one running (a source tree shadows it)
        if _digest(path, record.hash.mode) != record.hash.value:
            replaced.append(name.removeprefix(f"{OURS}/"))
    return replaced


def _digest(path: Path, mode: str) -> str | None:
    try:
        digest = hashlib.new(mode, path.read_bytes()).digest()
    except OSError:
        return None
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def main() -> int:
    """The console script: the command line, once the package is known to be ours."""
    found = problem()
    if found is not None:
        print(found, file=sys.stderr)
        return 2
    from mockserver.cli.main import main as cli_main

    return cli_main()
