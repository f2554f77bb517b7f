"""README.md's examples as data, so the tests check what the README actually says."""

from __future__ import annotations

import re
import shlex
import struct
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")

_FENCE = re.compile(r"^```([\w-]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def fenced_blocks(language: str, text: str = README) -> list[str]:
    """The bodies of the fenced blocks tagged ``language``, in order."""
    return [m.group(2) for m in _FENCE.finditer(text) if m.group(1) == language]


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
    """What a README ``curl`` command sends, and what its output is piped into."""

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
            raise ValueError(f"the README uses a curl option this parser does not know: {token}")
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
