"""RFC 9110 decisions as pure functions: conditional requests and content negotiation.

Each function decides and returns a value; the server carries the decision out. The RFC
section is cited beside each rule so a reader can check it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

from mockserver.core.etags import ETag

__all__ = [
    "CODINGS_IN_TAGS",
    "FORBIDDEN_IN_HEADERS",
    "Conditional",
    "best_media_type",
    "body_tags",
    "etag_matches",
    "evaluate_conditions",
    "parse_accept",
    "parse_etags",
    "parse_http_date",
    "same_body",
    "select_encoding",
    "without_coding_suffix",
]

# As aiohttp refuses them (http_writer._FORBIDDEN_HEADER_CHARS_RE): a header value must not
# smuggle in a line of its own. Such a stub takes aiohttp's path and gets its error there.
FORBIDDEN_IN_HEADERS: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class Conditional(enum.Enum):
    """What the preconditions of a request say to do (RFC 9110 §13.2.2)."""

    PROCEED = "proceed"
    NOT_MODIFIED = "not_modified"  # 304
    PRECONDITION_FAILED = "precondition_failed"  # 412


def parse_etags(header: str) -> list[ETag] | None:
    """The entity-tags of an If-Match / If-None-Match value; None for ``*``.

    Tolerant of the commas inside quoted tags, and of garbage (which matches nothing).
    RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE.
    """
    if header.strip() == "*":
        return None
    tags: list[ETag] = []
    i, n = 0, len(header)
    while i < n:
        while i < n and header[i] in " \t,":
            i += 1
        if i >= n:
            break
        weak = header.startswith("W/", i)
        if weak:
            i += 2
        if i < n and header[i] == '"':
            end = header.find('"', i + 1)
            if end == -1:
                break  # unterminated: ignore the rest
            tags.append(ETag(header[i + 1 : end], weak))
            i = end + 1
        else:
            while i < n and header[i] != ",":  # not a tag: skip it
                i += 1
    return tags


def etag_matches(current: str | None, header: str, *, weak: bool) -> bool:
    """Whether ``current`` (the ETag sent) satisfies an If-Match (strong) or If-None-Match
    (weak) header.

    RFC 9110 §8.8.3.2: strong comparison needs both tags strong and equal; weak comparison
    compares the opaque tags only. ``*`` matches any current representation (§13.1.1/§13.1.2).
    """
    if current is None:
        return False
    tags = parse_etags(header)
    if tags is None:
        return True
    mine = ETag.parse(current)
    return mine is not None and any(mine.matches(tag, weak=weak) for tag in tags)


# Content codings a server may name in the tag of a coded variant: Apache's mod_deflate sends
# "abc-gzip" for "abc" (DeflateAlterETag), Jetty "abc--gzip"; nginx weakens it instead, W/"abc".
CODINGS_IN_TAGS: Final = ("x-gzip", "gzip", "br", "deflate", "zstd", "compress")
_CODING_SUFFIXES: Final = tuple(f"{dashes}{c}" for c in CODINGS_IN_TAGS for dashes in ("--", "-"))


def body_tags(tag: str) -> frozenset[str]:
    """The opaque-tag of ``tag``, with and without a content-coding suffix: the names it may
    give the body that the coded variants of one body share (``"abc"``, ``W/"abc"``,
    ``"abc-gzip"`` all give abc; ``"a--gzip"`` gives a- (Apache) and a (Jetty)).

    The variants of one body under different content codings are one resource state to a
    cache (RFC 9110 §8.8.3.3 shows the tag changing with the coding; §8.8.3.2 weak comparison
    already ignores ``W/``); the suffix is the other way servers mark them.
    """
    parsed = ETag.parse(tag)
    return _names(parsed.opaque) if parsed is not None else frozenset({tag})


def _names(opaque: str) -> frozenset[str]:
    names = {opaque}
    for suffix in _CODING_SUFFIXES:
        if opaque.endswith(suffix) and len(opaque) > len(suffix):
            names.add(opaque[: -len(suffix)])
    return frozenset(names)


def without_coding_suffix(tag: str, coding: str) -> str:
    """``tag`` as the service would send it for the uncoded body, when it named ``coding`` in
    it (``"abc-gzip"`` sent with gzip → ``"abc"``); otherwise ``tag`` unchanged."""
    parsed = ETag.parse(tag)
    if parsed is None:
        return tag
    for dashes in ("--", "-"):
        suffix = f"{dashes}{coding.strip().lower()}"
        if parsed.opaque.endswith(suffix) and len(parsed.opaque) > len(suffix):
            return str(ETag(parsed.opaque[: -len(suffix)], parsed.weak))
    return tag


def same_body(body_etag: str, header: str) -> bool:
    """Whether an If-None-Match names the body that ``body_etag`` (the service's tag) names,
    in whichever coding the client saw it: weak comparison (§8.8.3.2, §13.1.2) of the tags
    without a content-coding suffix. ``*`` matches."""
    tags = parse_etags(header)
    if tags is None:
        return True
    mine = body_tags(body_etag)
    return any(_names(tag.opaque) & mine for tag in tags)


def parse_http_date(value: str) -> datetime | None:
    """An HTTP-date (RFC 9110 §5.6.7), or None when malformed (a malformed date is ignored)."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    # The asctime form has no zone and means GMT; recipients MUST accept it (§5.6.7).
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def evaluate_conditions(
    method: str,
    etag: str | None,
    last_modified: datetime | None,
    *,
    if_match: str | None = None,
    if_none_match: str | None = None,
    if_modified_since: str | None = None,
    if_unmodified_since: str | None = None,
    body_etag: str | None = None,
) -> Conditional:
    """The precondition outcome for a response that would otherwise be 2xx (§13.2.1).

    The order is RFC 9110 §13.2.2: If-Match, else If-Unmodified-Since; then If-None-Match,
    else If-Modified-Since (GET and HEAD only).

    Args:
        etag: the tag of the representation selected for this request.
        body_etag: the service's tag for the body whatever its coding (a recorded or literal
            ``etag:``): a client holding it, or a coded form of it, holds this body.
    """
    safe = method in ("GET", "HEAD")
    # §13.2.2 step 1: If-Match, strong comparison (§13.1.1): a weak tag never matches. The
    # service's strong tag is the resource's, whichever coding this answer would use.
    if if_match is not None:
        held = etag_matches(etag, if_match, weak=False) or (
            body_etag is not None and etag_matches(body_etag, if_match, weak=False)
        )
        if not held:
            return Conditional.PRECONDITION_FAILED
    # Step 2: If-Unmodified-Since, only without If-Match (§13.1.4).
    elif if_unmodified_since is not None and last_modified is not None:
        date = parse_http_date(if_unmodified_since)
        if date is not None and last_modified.replace(microsecond=0) > date:
            return Conditional.PRECONDITION_FAILED
    # Step 3: If-None-Match, weak comparison (§13.1.2): 304 for GET/HEAD, else 412.
    if if_none_match is not None:
        unchanged = etag_matches(etag, if_none_match, weak=True) or (
            body_etag is not None and same_body(body_etag, if_none_match)
        )
        if unchanged:
            return Conditional.NOT_MODIFIED if safe else Conditional.PRECONDITION_FAILED
        return Conditional.PROCEED
    # Step 4: If-Modified-Since, only for GET/HEAD without If-None-Match (§13.1.3).
    if safe and if_modified_since is not None and last_modified is not None:
        date = parse_http_date(if_modified_since)
        if date is not None and last_modified.replace(microsecond=0) <= date:
            return Conditional.NOT_MODIFIED
    return Conditional.PROCEED


def _weighted(header: str) -> Iterable[tuple[str, float]]:
    """``token;q=0.5, other`` → (token lower-cased, q); a bad q counts as 0 (§12.4.2)."""
    for part in header.split(","):
        token, *params = (p.strip() for p in part.split(";"))
        if not token:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
                if not 0.0 <= q <= 1.0:
                    q = 0.0
        yield token.lower(), q


_ALIASES: Final = {"x-gzip": "gzip"}


def select_encoding(accept_encoding: str | None, available: Sequence[str]) -> str | None:
    """The content coding to send, from ``available`` (best first) plus identity.

    RFC 9110 §12.5.3: no header → identity; a coding with q=0 is refused; ``*`` stands for any
    coding not listed; identity is acceptable unless refused by ``identity;q=0`` or ``*;q=0``.
    The highest-rated coding offered wins, the server's order (``available``, best first)
    breaking ties; identity only when it is rated higher or nothing else is acceptable.
    Returns None when nothing acceptable is left (406).
    """
    if accept_encoding is None:
        return "identity"
    weights: dict[str, float] = {}
    for raw_token, q in _weighted(accept_encoding):
        token = _ALIASES.get(raw_token, raw_token)
        weights[token] = max(q, weights[token]) if token in weights else q
    star = weights.get("*")
    best, best_q = None, 0.0
    for coding in available:
        q = weights.get(coding, star if star is not None else 0.0)
        if q > best_q:
            best, best_q = coding, q
    # Identity is a fallback, "acceptable by default" (§12.5.3), not a rival at q=1: a coding
    # the client lists with any q > 0 beats it unless identity itself is rated higher.
    identity_q = weights.get("identity", star)
    if best is not None and (identity_q is None or best_q >= identity_q):
        return best
    if identity_q == 0.0:
        return None
    return "identity"


def parse_accept(header: str) -> list[tuple[str, float, int]]:
    """Media ranges of an Accept header: (range lower-cased, q, position)."""
    return [(token, q, i) for i, (token, q) in enumerate(_weighted(header))]


def _media_q(ranges: list[tuple[str, float, int]], media: str) -> tuple[float, int, int]:
    """(q, specificity, -position) of the most specific range matching ``media`` (§12.5.1)."""
    kind = media.split("/", 1)[0]
    best = (-1.0, -1, 0)
    for token, q, position in ranges:
        if token == media:
            rank = 2
        elif token == f"{kind}/*":
            rank = 1
        elif token == "*/*":
            rank = 0
        else:
            continue
        if rank > best[1]:
            best = (q, rank, -position)
    return best


def best_media_type(accept: str | None, offered: Sequence[str]) -> str:
    """The offered media type the Accept header prefers; ``offered[0]`` breaks ties and is
    the answer when there is no header or nothing offered is acceptable (a mock answers
    rather than sending 406).

    A type the client names explicitly beats one it only reaches through a wildcard at the
    same q; between two named at the same q, the one listed first wins.
    """
    if not accept:
        return offered[0]
    ranges = parse_accept(accept)
    scored = [(_media_q(ranges, media), -i, media) for i, media in enumerate(offered)]
    (q, _, _), _, media = max(scored)
    return media if q > 0 else offered[0]
