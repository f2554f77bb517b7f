"""The names of what mockserver keeps in Redis: one place, so a reset can name them all.

Every key of a namespace shares the hash tag ``{ns}``, so a namespace's keys sit in one slot
of a Redis Cluster and one MULTI or Lua script may touch them together. The default
namespace is ``-`` (not a valid namespace name, so it cannot collide with one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["CHANNEL", "DEFAULT_NS", "EPOCH", "NAMESPACES", "PREFIX", "Keys"]

PREFIX: Final = "mockserver"
DEFAULT_NS: Final = "-"
# One channel for every event between replicas: {"ns", "kind", "origin", ...} as JSON.
CHANNEL: Final = f"{PREFIX}:events"
# The namespaces held, scored by their last use (seconds since the epoch): expiry and limits.
NAMESPACES: Final = f"{PREFIX}:namespaces"
# A token set once per Redis data set: gone after a restart without persistence, which tells
# the replicas to put back what they hold (reseed.py). A reset leaves it.
EPOCH: Final = f"{PREFIX}:epoch"


@dataclass(frozen=True, slots=True)
class Keys:
    """The keys of one namespace (``None``: the default one)."""

    namespace: str | None = None

    def key(self, kind: str) -> str:
        return f"{PREFIX}:{{{self.namespace or DEFAULT_NS}}}:{kind}"

    @property
    def stubs(self) -> str:  # hash: runtime stub id -> its definition (JSON)
        return self.key("stubs")

    @property
    def removed(self) -> str:  # set: file stub ids an admin call removed or replaced
        return self.key("removed")

    @property
    def version(self) -> str:  # counter: moves on every change of the runtime stubs
        return self.key("version")

    @property
    def scenarios(self) -> str:  # hash: scenario name -> state (absent: started)
        return self.key("scenarios")

    @property
    def positions(self) -> str:  # hash: sequence stub id -> answers given
        return self.key("positions")

    @property
    def resources(self) -> str:  # hash: resource path -> its items and versions (JSON)
        return self.key("resources")

    @property
    def journal(self) -> str:  # stream, capped at the journal's size
        return self.key("journal")

    @property
    def hits(self) -> str:  # hash: stub id -> requests it answered ("!unmatched": no stub)
        return self.key("hits")

    @property
    def cleared(self) -> str:  # hash: "journal", "hits" -> when last cleared (epoch seconds)
        return self.key("cleared")

    def all(self) -> tuple[str, ...]:
        """Every key of the namespace: what a reset or a namespace's end deletes."""
        return (
            self.stubs,
            self.removed,
            self.version,
            self.scenarios,
            self.positions,
            self.resources,
            self.journal,
            self.hits,
            self.cleared,
        )
