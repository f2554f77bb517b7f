"""The start line of ``serve``: where each service is, how the admin API is guarded, spy mode.

As text for a person, or one JSON object (``"event": "started"``) for a log collector. A
generated admin token is shown only as text on a terminal: a log is kept, copied and read by
many, and is no place for a secret (set ``MOCKSERVER_ADMIN_TOKEN`` to have one you know).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from mockserver.core.config import is_loopback
from mockserver.core.version import __version__
from mockserver.output.logs import announce

__all__ = ["print_banner", "spy_lines"]

log = logging.getLogger("mockserver")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def print_banner(server: Any, log_format: str = "text") -> None:
    snapshot = server.store.snapshot
    stubs = snapshot.stubs
    counts: dict[str, int] = {}
    for stub in stubs.stubs:
        counts[stub.service] = counts.get(stub.service, 0) + 1
    paths = " ".join(server.settings.paths)
    lines = [
        f"mockserver {__version__}: {_plural(len(stubs.services), 'service')}, "
        f"{_plural(len(stubs.stubs), 'stub')} "
        f"from {paths}"
    ]
    width = max((len(name) for name in stubs.services), default=0)
    for name in stubs.services:
        count = _plural(counts.get(name, 0), "stub")
        lines.append(f"  {name:<{width}}  {server.url_for(name)}  ({count})")
    lines.append(f"  admin: {server.url}/__admin/health")
    settings = server.settings
    fields: dict[str, Any] = {
        "version": __version__,
        "paths": list(settings.paths),
        "services": [
            {"name": name, "url": server.url_for(name), "stubs": counts.get(name, 0)}
            for name in stubs.services
        ],
        "admin": f"{server.url}/__admin/health",
        "watching": settings.watch,
    }
    lines += _admin_lines(server, log_format, fields)
    spy_text, fields["spy"] = spy_lines(server)
    lines += spy_text
    if settings.watch:
        lines.append("  watching the stub files for changes")
    announce("started", "\n".join(lines), fields, log_format)


def _admin_lines(server: Any, log_format: str, fields: dict[str, Any]) -> list[str]:
    settings = server.settings
    if server.admin_token_generated:
        fields["admin_token_generated"] = True
        if log_format == "text" and sys.stdout.isatty():
            return [
                f"  admin token (generated, shown once): {settings.admin_token}",
                "  admin calls need: Authorization: Bearer <token>",
            ]
        hint = "set MOCKSERVER_ADMIN_TOKEN (--admin-token) to call the admin API"
        fields["admin_token_hint"] = hint
        return [f"  admin token: generated and not shown (a log is no place for a secret); {hint}"]
    if not settings.admin_token and not is_loopback(settings.host):  # --admin-open
        fields["admin_open"] = True
        return [
            f"  WARNING: the admin API is open to anyone who can reach {settings.host} "
            "(--admin-open)"
        ]
    return []


def spy_lines(server: Any) -> tuple[list[str], dict[str, Any] | None]:
    """The banner's spy-mode lines and JSON field (None when spy mode is off); with no
    upstream to forward to, a warning that says how to give one."""
    settings = server.settings
    if not settings.record.spies:
        return [], None
    forwarding = server.state.forwarding
    if forwarding is not None:
        upstreams = {name: up.base_url for name, up in forwarding.upstreams.values()}
    else:  # serve --workers: the workers forward; this process only describes the set
        services = server.store.snapshot.stubs.services.values()
        upstreams = {spec.name: spec.upstream for spec in services if spec.upstream}
    recorder = forwarding.recorder if forwarding is not None else None
    into = {name: str(path) for name, path in recorder.out_dirs.items()} if recorder else {}
    field = {"upstreams": upstreams, "record_new": settings.record.writes, "recording_into": into}
    if not upstreams:
        log.warning(
            "spy mode is on but no service in %s names an 'upstream:', so nothing is "
            "forwarded%s; add 'upstream: http://host:port' beside 'service:' in a stub file",
            " ".join(settings.paths),
            " or recorded" if settings.record.writes else "",
        )
        return ["  spy: on, but no service has an upstream: nothing is forwarded"], field
    lines = ["  spy: requests no stub matches are forwarded to"]
    width = max(len(name) for name in upstreams)
    for name, url in upstreams.items():
        where = f"  (new ones recorded into {into[name]})" if name in into else ""
        lines.append(f"    {name:<{width}}  {url}{where}")
    return lines, field
