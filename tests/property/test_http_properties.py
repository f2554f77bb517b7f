"""mockserver.http agrees with small reference models of RFC 9110, written here from the RFC
rather than from the code: conditional requests (§13.2.2), Accept-Encoding (§12.5.3) and
Accept (§12.5.1).

The headers are built from well-formed members (and some junk tokens without quotes or
commas), since for malformed headers the RFC prescribes nothing to compare against; the unit
tests and the loader properties cover those.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from hypothesis import given
from hypothesis import strategies as st

from mockserver.core.http import Conditional, best_media_type, evaluate_conditions, select_encoding

# -- conditional requests ------------------------------------------------------------------------

_TAG = re.compile(r'^(W/)?"([^"]*)"$')
STAR = object()


def tags(header: str) -> object:
    """``*``, or the (weak, opaque) entity-tags of a list; other members match nothing."""
    if header.strip() == "*":
        return STAR
    found = []
    for member in header.split(","):
        tag = _TAG.match(member.strip())
        if tag:
            found.append((bool(tag.group(1)), tag.group(2)))
    return found


def date(text: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def reference_conditions(
    method: str,
    etag: str | None,
    modified: datetime | None,
    if_match: str | None,
    if_none_match: str | None,
    if_modified_since: str | None,
    if_unmodified_since: str | None,
) -> str:
    current = _TAG.match(etag) if etag else None
    weak, opaque = (bool(current.group(1)), current.group(2)) if current else (False, None)
    # 1. If-Match: strong comparison; "*" holds when there is a current representation.
    if if_match is not None:
        listed = tags(if_match)
        holds = current is not None and (
            listed is STAR or (not weak and (False, opaque) in listed)  # type: ignore[operator]
        )
        if not holds:
            return "412"
    # 2. If-Unmodified-Since, only without If-Match; an invalid date is ignored.
    elif if_unmodified_since is not None and modified is not None:
        when = date(if_unmodified_since)
        if when is not None and modified > when:
            return "412"
    # 3. If-None-Match: weak comparison; a match is 304 for GET/HEAD and 412 otherwise.
    if if_none_match is not None:
        listed = tags(if_none_match)
        matched = current is not None and (
            listed is STAR or any(o == opaque for _, o in listed)  # type: ignore[attr-defined]
        )
        if matched:
            return "304" if method in ("GET", "HEAD") else "412"
        return "proceed"
    # 4. If-Modified-Since: GET/HEAD only, without If-None-Match.
    if method in ("GET", "HEAD") and if_modified_since is not None and modified is not None:
        when = date(if_modified_since)
        if when is not None and modified <= when:
            return "304"
    return "proceed"


OUTCOME = {
    Conditional.PROCEED: "proceed",
    Conditional.NOT_MODIFIED: "304",
    Conditional.PRECONDITION_FAILED: "412",
}
MODIFIED = datetime(2021, 6, 29, 21, 32, 25, tzinfo=UTC)
members = st.sampled_from(['"a"', 'W/"a"', '"b"', 'W/"b"', '""', "junk", ""])
tag_lists = st.one_of(
    st.just("*"),
    st.lists(members, min_size=1, max_size=4).flatmap(
        lambda parts: st.sampled_from([", ", ",", " ,\t"]).map(lambda sep: sep.join(parts))
    ),
)
dates = st.one_of(
    st.integers(-3, 3).map(lambda s: format_datetime(MODIFIED.replace(second=25 + s), usegmt=True)),
    st.sampled_from(["yesterday", "", "Tue, 29 Jun 2021", "Tuesday, 29-Jun-21 21:32:25 GMT"]),
)


@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE"]),
    etag=st.sampled_from([None, '"a"', 'W/"a"', '"b"']),
    modified=st.sampled_from([None, MODIFIED]),
    if_match=st.none() | tag_lists,
    if_none_match=st.none() | tag_lists,
    if_modified_since=st.none() | dates,
    if_unmodified_since=st.none() | dates,
)
def test_conditional_requests_agree_with_the_reference(
    method: str,
    etag: str | None,
    modified: datetime | None,
    if_match: str | None,
    if_none_match: str | None,
    if_modified_since: str | None,
    if_unmodified_since: str | None,
) -> None:
    args = (method, etag, modified, if_match, if_none_match, if_modified_since)
    decided = evaluate_conditions(
        method,
        etag,
        modified,
        if_match=if_match,
        if_none_match=if_none_match,
        if_modified_since=if_modified_since,
        if_unmodified_since=if_unmodified_since,
    )
    expected = reference_conditions(*args, if_unmodified_since)
    assert OUTCOME[decided] == expected


# -- Accept-Encoding -----------------------------------------------------------------------------

QS = ["", ";q=0", ";q=0.0", ";q=0.5", ";q=1", ";q=1.000", ";q=0.001", ";q=abc", ";q=2", ";q=-1"]


def q_value(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value)
            except ValueError:
                return 0.0  # unreadable weight: treat as "not acceptable"
            return q if 0.0 <= q <= 1.0 else 0.0
    return 1.0


def reference_encoding(header: str | None, available: list[str]) -> str | None:
    """RFC 9110 §12.5.3 as a ranking: every acceptable coding with its weight, best first."""
    if header is None:
        return "identity"  # no preference stated: identity
    weights: dict[str, float] = {}
    for member in header.split(","):
        name, *params = [p.strip() for p in member.split(";")]
        if not name:
            continue
        name = {"x-gzip": "gzip"}.get(name.lower(), name.lower())
        weights[name] = max(weights.get(name, 0.0), q_value(params))
    star = weights.get("*")
    ranked = []  # (weight, preference) for every acceptable candidate
    for rank, coding in enumerate(available):
        q = weights.get(coding, star if star is not None else 0.0)
        if q > 0:
            ranked.append((q, -rank, coding))
    identity = weights.get("identity", star)
    if identity is None:  # "acceptable by default": below any weight a client gave
        ranked.append((1e-9, -len(available), "identity"))
    elif identity > 0:
        ranked.append((identity, -len(available), "identity"))
    return max(ranked)[2] if ranked else None


codings = st.sampled_from(["gzip", "x-gzip", "GZIP", "deflate", "br", "identity", "*", "zstd"])


@given(
    header=st.none()
    | st.lists(st.tuples(codings, st.sampled_from(QS)), max_size=5).map(
        lambda items: ", ".join(name + q for name, q in items)
    ),
    available=st.lists(st.sampled_from(["br", "gzip", "deflate"]), unique=True, max_size=3),
)
def test_select_encoding_agrees_with_the_reference(
    header: str | None, available: list[str]
) -> None:
    assert select_encoding(header, available) == reference_encoding(header, available)


# -- Accept ------------------------------------------------------------------------------------


def reference_media(header: str | None, offered: list[str]) -> str:
    """RFC 9110 §12.5.1: each offer gets the weight of the most specific range that names it
    (the first such range when several do); higher weight wins, then a more specific range,
    then the range listed first, then the server's order. Nothing acceptable: the first."""
    if not header:
        return offered[0]
    ranges = []
    for position, member in enumerate(header.split(",")):
        name, *params = [p.strip() for p in member.split(";")]
        if name:
            ranges.append((name.lower(), q_value(params), position))

    def score(media: str) -> tuple[float, int, int]:
        kind = media.split("/", 1)[0]
        for specificity, pattern in ((2, media), (1, kind + "/*"), (0, "*/*")):
            named = [(q, position) for name, q, position in ranges if name == pattern]
            if named:
                return (named[0][0], specificity, -named[0][1])
        return (-1.0, -1, 0)

    best = max(offered, key=lambda media: (score(media), -offered.index(media)))
    return best if score(best)[0] > 0 else offered[0]


media = ["application/json", "application/msgpack", "application/x-msgpack", "text/plain"]
ranges_ = st.sampled_from(
    [*media, "application/*", "text/*", "*/*", "image/png", "APPLICATION/JSON"]
)


@given(
    header=st.none()
    | st.lists(st.tuples(ranges_, st.sampled_from(QS)), max_size=5).map(
        lambda items: ", ".join(name + q for name, q in items)
    ),
    offered=st.lists(st.sampled_from(media), unique=True, min_size=1, max_size=4),
)
def test_best_media_type_agrees_with_the_reference(header: str | None, offered: list[str]) -> None:
    chosen = best_media_type(header, offered)
    assert chosen in offered
    assert chosen == reference_media(header, offered)
