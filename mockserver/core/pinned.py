"""How many bytes the admin API's stubs hold, and the bound on it (``admin_stub_bytes``).

Any caller of the admin API can add stubs; each holds its written form and its body bytes
until a reset. A body file named by many stubs is read once and shared (loader.py), so a body
counts once however many stubs name it; past the bound an admin write is refused with a 413
and nothing is added (issue 13: 2,000 stubs reached 2 GB before bodies were shared).
"""

from __future__ import annotations

from collections.abc import Iterable

from mockserver.core.model import Stub

__all__ = ["pinned_bytes", "refusal"]


def pinned_bytes(stubs: Iterable[Stub]) -> int:
    """Bytes ``stubs`` hold: each one's written form, and each distinct body once."""
    total = 0
    bodies: set[int] = set()
    for stub in stubs:
        total += len(stub.definition_json)
        for response in (stub.response, *stub.responses):
            if id(response.body) not in bodies:
                bodies.add(id(response.body))
                total += len(response.body)
    return total


def refusal(kept: Iterable[Stub], added: Iterable[Stub], limit: int) -> str | None:
    """Why adding ``added`` beside ``kept`` is refused, or None when it fits."""
    total = pinned_bytes([*kept, *added])
    if total <= limit:
        return None
    return (
        f"the admin API's stubs would hold {total / 2**20:.1f} MiB of bodies and definitions, "
        f"over the {limit / 2**20:.0f} MiB limit; DELETE stubs, POST /__admin/reset, or name a "
        "shared body_file (read once for every stub naming it)"
    )
