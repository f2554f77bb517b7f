"""Builders shared by the unit tests: stubs parsed exactly as a stub file's are."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from mockserver.core.errors import Problem, StubFileError
from mockserver.core.matching import StubIndex
from mockserver.core.model import Stub
from mockserver.formats.loader import load_paths
from mockserver.stubfiles.stubfile import combine, parse_service


def _no_body_files(relative: str) -> bytes:
    raise ValueError(f"no body files in this test ({relative!r})")


def stubs_of(
    *definitions: Mapping[str, Any], files: Mapping[str, bytes] | None = None
) -> list[Stub]:
    """Stubs from stub mappings written as in a file, in load order (``order`` assigned)."""

    def read(relative: str) -> bytes:
        if files is None or relative not in files:
            return _no_body_files(relative)
        return files[relative]

    document = {"stubs": [dict(d) for d in definitions]}
    service, stubs, problems = parse_service(document, "test.yaml", "svc", read)
    assert not problems, [str(p) for p in problems]
    assert service is not None
    return list(combine([(service, stubs)]).stubs)


def stub_of(definition: Mapping[str, Any], files: Mapping[str, bytes] | None = None) -> Stub:
    (stub,) = stubs_of(definition, files=files)
    return stub


def index_of(*definitions: Mapping[str, Any]) -> StubIndex:
    return StubIndex(stubs_of(*definitions))


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(*paths: Path) -> tuple[Problem, ...]:
    with pytest.raises(StubFileError) as info:
        load_paths(list(paths))
    return info.value.problems


def only_problem(*paths: Path) -> Problem:
    found = problems_of(*paths)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]
