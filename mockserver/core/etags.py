"""Entity-tags as values (RFC 9110 §8.8.3): a weak flag and an opaque tag.

A tag is parsed from a header once, compared as a value (strong or weak comparison,
§8.8.3.2), derived for another representation of the same body, and formatted only where it
is sent. Nothing edits the quoted form.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ETag"]


@dataclass(frozen=True, slots=True)
class ETag:
    """entity-tag = [ weak ] opaque-tag; ``opaque`` is what stands between the quotes."""

    opaque: str
    weak: bool = False

    def __str__(self) -> str:
        return f'W/"{self.opaque}"' if self.weak else f'"{self.opaque}"'

    @classmethod
    def parse(cls, text: str) -> ETag | None:
        """The tag ``text`` is (``"abc"``, ``W/"abc"``); None when it is none."""
        weak = text.startswith("W/")
        quoted = text[2:] if weak else text
        if len(quoted) < 2 or quoted[0] != '"' or quoted[-1] != '"' or '"' in quoted[1:-1]:
            return None
        return cls(quoted[1:-1], weak)

    @classmethod
    def literal(cls, text: str) -> ETag:
        """A stub's ``etag:`` as written: a tag when it is one (``"v1"``, ``W/"v1"``), else
        the opaque tag it names (``v1``)."""
        if text.startswith('W/"') and text.endswith('"') and len(text) > 3:
            return cls(text[3:-1], weak=True)
        if text.startswith('"') and text.endswith('"') and len(text) > 1:
            return cls(text[1:-1])
        return cls(text)

    def matches(self, other: ETag, *, weak: bool) -> bool:
        """§8.8.3.2: weak comparison holds when the opaque tags are equal; strong comparison
        also needs both tags strong."""
        if self.opaque != other.opaque:
            return False
        return weak or not (self.weak or other.weak)

    def weakened(self) -> ETag:
        return self if self.weak else ETag(self.opaque, weak=True)

    def suffixed(self, suffix: str) -> ETag:
        """The tag of another representation of the same body (``"abc"`` → ``"abc-gzip"``)."""
        return ETag(f"{self.opaque}-{suffix}", self.weak)
