"""realpaths.resolved: Path.resolve's answer (or its error), remembered only within a load."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mockserver.formats.realpaths import remembering, resolved


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Directories, files and links of every kind a stubs root can hold."""
    (tmp_path / "root" / "mappings").mkdir(parents=True)
    (tmp_path / "root" / "__files" / "deep").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.json").write_text("{}")
    (tmp_path / "root" / "mappings" / "m.json").write_text("{}")
    (tmp_path / "root" / "__files" / "deep" / "body.json").write_text("{}")
    (tmp_path / "root" / "link-dir").symlink_to(tmp_path / "root" / "__files")
    (tmp_path / "root" / "link-out").symlink_to(tmp_path / "outside" / "secret.json")
    (tmp_path / "root" / "relative-link").symlink_to(Path("__files") / "deep")
    (tmp_path / "root" / "dangling").symlink_to(tmp_path / "nowhere" / "x")
    (tmp_path / "root" / "loop-a").symlink_to(tmp_path / "root" / "loop-b")
    (tmp_path / "root" / "loop-b").symlink_to(tmp_path / "root" / "loop-a")
    return tmp_path


PATHS = [
    "root",
    "root/mappings/m.json",
    "root/__files/deep/body.json",
    "root/link-dir/deep/body.json",  # through a linked directory
    "root/link-out",  # a link that leaves the root
    "root/relative-link/body.json",
    "root/relative-link/../m.json",  # ".." after a link: it applies to what the link names
    "root/mappings/../__files/deep/body.json",
    "root/dangling",
    "root/dangling/more",
    "root/missing/file.json",
    "root/mappings/m.json/inside-a-file",
    "root/loop-a",
    "root/loop-a/x",
]


def _answer(call: object) -> object:
    try:
        return call()  # type: ignore[operator]
    except (OSError, RuntimeError) as exc:
        return type(exc)


@pytest.mark.parametrize("relative", PATHS)
def test_it_answers_as_path_resolve_does(tree: Path, relative: str) -> None:
    path = tree / relative
    expected = _answer(path.resolve)
    with remembering():
        assert _answer(lambda: resolved(path)) == expected
        assert _answer(lambda: resolved(path)) == expected  # remembered, the same
        for other in PATHS:  # in any order, after any other
            other_path = tree / other
            assert _answer(lambda p=other_path: resolved(p)) == _answer(other_path.resolve)
    assert _answer(lambda: resolved(path)) == expected


def test_a_relative_path_is_resolved_from_the_working_directory(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tree / "root")
    with remembering():
        assert (
            resolved(Path("link-dir/deep/body.json"))
            == (tree / "root" / "__files" / "deep" / "body.json").resolve()
        )
        assert resolved(Path(".")) == (tree / "root").resolve()


def test_a_link_changed_after_a_load_is_seen(tree: Path) -> None:
    link = tree / "root" / "moving"
    link.symlink_to(tree / "root" / "mappings")
    with remembering():
        assert resolved(link) == (tree / "root" / "mappings").resolve()
        os.remove(link)
        link.symlink_to(tree / "outside")
        # Within one load the first answer stands (the load reads one tree) ...
        assert resolved(link) == (tree / "root" / "mappings").resolve()
    # ... and outside one, every call looks again.
    assert resolved(link) == (tree / "outside").resolve()
    with remembering():
        assert resolved(link) == (tree / "outside").resolve()
