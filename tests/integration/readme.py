"""The examples of README.md and docs/ as data, so the tests check what the documentation
actually says."""

from __future__ import annotations

import re
import shlex
import struct
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from mockserver import MockServer, Settings, load_paths

REPO = Path(__file__).resolve().parents[2]
STUBS = REPO / "stubs"
README = (REPO / "README.md").read_text(encoding="utf-8")
DOCS_DIR = REPO / "docs"


def nav_pages(entries: object = None) -> list[str]:
    """The docs pages in mkdocs.yml's nav, in its order (file names under docs/), sections
    flattened."""
    if entries is None:
        entries = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]
    if isinstance(entries, str):
        return [entries]
    if isinstance(entries, dict):
        return [page for value in entries.values() for page in nav_pages(value)]
    assert isinstance(entries, list), entries
    return [page for entry in entries for page in nav_pages(entry)]


def docs_page(name: str) -> str:
    """The text of one page of docs/, such as ``"pytest.md"``."""
    return (DOCS_DIR / name).read_text(encoding="utf-8")


# Every page, in the nav's order: where an example is looked up by what it says.
DOCS = "\n".join(docs_page(name) for name in nav_pages())

_FENCE = re.compile(r"^```([\w-]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def all_fenced_blocks(text: str) -> list[tuple[str, str]]:
    """Each fenced block of ``text`` as (its language tag, its body), in order."""
    return [(m.group(1), m.group(2)) for m in _FENCE.finditer(text)]


def fenced_blocks(language: str, text: str = DOCS) -> list[str]:
    """The bodies of the fenced blocks tagged ``language`` in ``text`` (all the docs pages
    unless told), in order."""
    return [body for tag, body in all_fenced_blocks(text) if tag == language]


@dataclass(frozen=True)
class ConsoleExample:
    """One ``$ command`` of a console block and the lines it prints."""

    command: str
    output: tuple[str, ...]


def console_examples(block: str) -> list[ConsoleExample]:
    """Split a console block into commands (backslash continuations joined) and their output."""
    examples = []
    lines = block.splitlines()
    i = 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            i += 1
            continue
        command = lines[i][2:]
        while command.endswith("\\"):
            i += 1
            command = command[:-1] + " " + lines[i].strip()
        i += 1
        output = []
        while i < len(lines) and lines[i] and not lines[i].startswith("$ "):
            output.append(lines[i])
            i += 1
        examples.append(ConsoleExample(command, tuple(output)))
    return examples


@dataclass(frozen=True)
class CurlRequest:
    """What a docs ``curl`` command sends, and what its output is piped into."""

    method: str
    port: int
    target: str
    headers: dict[str, str] = field(default_factory=dict)
    data: bytes | None = None
    pipe: tuple[str, ...] = ()

    def sent_headers(self) -> dict[str, str]:
        """The headers curl sends: no Accept-Encoding, so the answer comes as it is stored."""
        return {"User-Agent": "curl/8.5.0", "Accept": "*/*", **self.headers}


def parse_curl(command: str) -> CurlRequest:
    """The request of a ``curl -s [-X M] [-H h]... [-d data] host:port/path`` command."""
    tokens = shlex.split(command, comments=True)
    pipe: list[str] = []
    if "|" in tokens:
        cut = tokens.index("|")
        tokens, pipe = tokens[:cut], tokens[cut + 1 :]
    if tokens[0] != "curl":
        raise ValueError(f"not a curl command: {command}")
    method, url, data = None, None, None
    headers: dict[str, str] = {}
    args = iter(tokens[1:])
    for token in args:
        if token == "-s":
            continue
        if token == "-X":
            method = next(args)
        elif token == "-H":
            name, _, value = next(args).partition(":")
            headers[name.strip()] = value.strip()
        elif token == "-d":
            data = next(args).encode()
        elif token.startswith("-"):
            raise ValueError(f"the docs use a curl option this parser does not know: {token}")
        else:
            url = token
    if url is None:
        raise ValueError(f"no URL in {command}")
    parts = urlsplit(url if "://" in url else "http://" + url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    default_method = "POST" if data is not None else "GET"
    return CurlRequest(
        method or default_method, parts.port or 80, target, headers, data, tuple(pipe)
    )


def describe_png(data: bytes) -> str:
    """The line ``file -`` prints for a PNG, from its IHDR chunk (PNG spec §11.2.2)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    assert data[12:16] == b"IHDR"
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    kind = {0: "grayscale", 2: "RGB", 6: "RGBA"}[color]
    laced = "interlaced" if interlace else "non-interlaced"
    return f"/dev/stdin: PNG image data, {width} x {height}, {depth}-bit/color {kind}, {laced}"


def shown_pattern(shown: Sequence[str]) -> re.Pattern[str]:
    """The lines the docs show as a pattern of the whole output: each line verbatim, and
    ``...`` (on a line of its own or within one) standing for whatever they leave out."""
    parts = (re.escape(part) for part in "\n".join(shown).split("..."))
    return re.compile(".*?".join(parts), re.DOTALL)


def assert_shown(shown: Sequence[str], actual: str) -> None:
    """``actual`` is what the docs show, but for what they mark as left out with ``...``."""
    assert shown_pattern(shown).fullmatch(actual.rstrip("\n")), (
        "the docs show:\n" + "\n".join(shown) + "\n\nthe command printed:\n" + actual
    )


def run_shell(command: str, urls: Mapping[int, str], cwd: Path | None = None) -> str:
    """A docs console command run by bash as written (the real curl), with ``localhost:PORT``
    sent to ``urls[PORT]``; what it prints, with curl's header line ends as a terminal shows
    them."""
    sent = re.sub(r"localhost:(\d+)", lambda m: urls[int(m[1])].removeprefix("http://"), command)
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", sent],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, (sent, done.stderr)
    return done.stdout.replace("\r\n", "\n")


def readme_urls(server: MockServer) -> dict[int, str]:
    """The docs' ports (the main port 8080 and each declared port) → this server's URLs."""
    urls = {Settings().port: server.url}
    for name, spec in load_paths([STUBS]).services.items():
        if spec.port is not None:
            urls[spec.port] = server.url_for(name)
    return urls


def assert_excerpt(shown: Sequence[str], text: str) -> None:
    """Each line the docs show (but ``...``) is a line of ``text``, in order."""
    lines = [line.rstrip() for line in text.splitlines()]
    position = 0
    for line in (s.rstrip() for s in shown):
        if not line or line.strip() == "...":
            continue
        assert line in lines[position:], f"docs line not in the file, in order: {line!r}"
        position = lines.index(line, position) + 1
