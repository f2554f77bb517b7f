"""``mockserver record``: a proxy in front of real services that writes what it sees as stubs.

One target is served on the main port; each further target needs a port of its own
(``NAME=URL@PORT``). Ports rather than path prefixes: the client under test keeps its paths
exactly as the real service has them, so the recording replays at the same URLs.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from mockserver.core.addresses import refused_address
from mockserver.core.config import Settings
from mockserver.core.model import ServiceSpec, StubSet
from mockserver.recording.exchange import Redaction
from mockserver.recording.forwarding import Forwarding, Recorder
from mockserver.recording.proxy import Upstream, UpstreamSettings
from mockserver.stubfiles.stubfile import valid_service_name

__all__ = ["Target", "parse_target", "recording_server"]


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    url: str
    port: int | None = None


_TARGET = re.compile(r"^(?P<name>[^=]+)=(?P<url>https?://[^@\s]+?)(?:@(?P<port>\d+))?\Z")


def parse_target(text: str) -> Target:
    """``users=http://users.internal:8000`` or ``users=http://users.internal@8001``.

    Raises:
        ValueError: with what is wrong.
    """
    found = _TARGET.match(text.strip())
    if found is None:
        raise ValueError(
            f"a target is NAME=URL or NAME=URL@PORT (URL http:// or https://), got {text!r}"
        )
    name, url = found["name"].strip(), found["url"]
    if not valid_service_name(name):
        raise ValueError(
            f"target name {name!r}: letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    parts = urlsplit(url)
    if not parts.hostname:
        raise ValueError(f"target {name!r}: {url!r} names no host")
    refused = refused_address(parts.hostname)
    if refused:
        raise ValueError(f"target {name!r} is refused: {refused}")
    port = int(found["port"]) if found["port"] else None
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"target {name!r}: port {port} is out of range")
    return Target(name, url.rstrip("/"), port)


def check_targets(targets: Sequence[Target]) -> None:
    """One target may take the main port; every other needs its own, all distinct."""
    if not targets:
        raise ValueError("give at least one --target NAME=URL")
    names = [t.name for t in targets]
    if len(set(names)) != len(names):
        raise ValueError("two targets have the same name")
    portless = [t.name for t in targets if t.port is None]
    if len(portless) > 1:
        raise ValueError(
            f"targets {', '.join(portless)} all want the main port; give all but one a port "
            "of its own: NAME=URL@PORT"
        )
    ports = [t.port for t in targets if t.port is not None]
    if len(set(ports)) != len(ports):
        raise ValueError("two targets have the same port")


def check_out_dir(out: Path, what: str = "--out ") -> None:
    """``out`` exists (made if need be) and a file can be created in it."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise ValueError(f"cannot write to {what}{out}: {exc.strerror or exc}") from None


def recording_server(
    targets: Sequence[Target],
    out: Path,
    settings: Settings,
    *,
    redact: Sequence[str] = (),
    upstream: UpstreamSettings | None = None,
) -> tuple[StubSet, Forwarding]:
    """The (empty) stub set and the forwarding that make a MockServer record ``targets``.

    Raises:
        ValueError: the targets are inconsistent, or ``out`` cannot be written (found now,
            not after a whole session of recording).
    """
    check_targets(targets)
    check_out_dir(out)
    services = {
        t.name: ServiceSpec(t.name, port=t.port, upstream=t.url, sources=(f"<record {t.url}>",))
        for t in targets
    }
    redaction = Redaction().extended(redact)
    recorder = Recorder(
        {t.name: out for t in targets}, redaction, ports={t.name: t.port for t in targets}
    )
    upstreams = {t.port: (t.name, Upstream(t.name, t.url, upstream)) for t in targets}
    forwarding = Forwarding(upstreams, record_all=True, redaction=redaction, recorder=recorder)
    return StubSet(services, ()), forwarding
