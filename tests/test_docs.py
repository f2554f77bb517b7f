"""The documentation holds together: the site builds strictly, every page is in the nav, the
README stays short and shows only examples the docs' tests run, and its links lead somewhere."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from markdown.extensions.toc import slugify

import mockserver

from .integration.readme import (
    DOCS_DIR,
    README,
    REPO,
    STUBS,
    all_fenced_blocks,
    assert_excerpt,
    console_examples,
    docs_page,
    fenced_blocks,
    nav_pages,
)

README_MAX_LINES = 250
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_mkdocs_builds_the_site_strictly(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "index.html").is_file()
    assert (tmp_path / "layout" / "index.html").is_file()


def test_every_docs_page_is_in_the_nav_and_every_nav_entry_is_a_page() -> None:
    pages = sorted(path.name for path in DOCS_DIR.rglob("*.md"))
    assert sorted(nav_pages()) == pages
    assert len(set(nav_pages())) == len(pages)


def test_the_readme_is_short() -> None:
    lines = README.count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move detail into docs/"


def test_the_security_page_is_security_md_itself() -> None:
    assert docs_page("security.md").strip() == '--8<-- "SECURITY.md"'


def test_getting_started_gives_the_readme_commands() -> None:
    # The README's first two blocks are what CI runs (tests/test_repo.py); the docs say the same.
    assert fenced_blocks("bash", docs_page("index.md"))[:2] == fenced_blocks("bash", README)[:2]


def _in_a_bundled_stub_file(block: str) -> bool:
    for path in sorted(STUBS.glob("*.yaml")):
        try:
            assert_excerpt(block.splitlines(), path.read_text(encoding="utf-8"))
        except AssertionError:
            continue
        return True
    return False


def test_every_readme_example_is_one_the_docs_tests_run() -> None:
    """The README's tour shows examples from the docs (run by tests/integration) or excerpts
    of the bundled stub files, so it cannot drift either."""
    shown = all_fenced_blocks(README)[2:]  # after the two commands
    docs_examples = [e for b in fenced_blocks("console") for e in console_examples(b)]
    assert shown, "the README has no tour"
    for language, block in shown:
        if language == "console":
            for example in console_examples(block):
                assert example in docs_examples, example
        elif language == "yaml":
            assert _in_a_bundled_stub_file(block), block
        else:
            assert any(block in docs for docs in fenced_blocks(language)), block


def _headings(markdown: str, level: str = "#{1,6}") -> list[str]:
    """The headings of a Markdown text, those inside fenced blocks (comments) left out."""
    text = markdown
    for _, body in all_fenced_blocks(markdown):
        text = text.replace(body, "")
    return re.findall(rf"^{level} (.+?)\s*$", text, re.MULTILINE)


def _anchors(markdown: str) -> set[str]:
    return {slugify(heading, "-") for heading in _headings(markdown)}


def test_every_readme_link_into_the_repository_leads_somewhere() -> None:
    links = [link for link in _LINK.findall(README) if "://" not in link]
    assert any(link.startswith("docs/") for link in links), links
    for link in links:
        path, _, anchor = link.partition("#")
        target = REPO / path
        assert target.exists(), link
        if anchor:
            assert anchor in _anchors(target.read_text(encoding="utf-8")), link


def test_the_layout_page_names_the_whole_public_api() -> None:
    section = docs_page("layout.md").split("## The public API", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(\w+)`", section.split("\n\n", 2)[1]))
    assert named == set(mockserver.__all__)


@pytest.mark.parametrize("page", [page for page in nav_pages() if page != "security.md"])
def test_every_page_has_one_title(page: str) -> None:
    assert len(_headings(docs_page(page), level="#")) == 1, page
