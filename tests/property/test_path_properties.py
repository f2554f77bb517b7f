"""Path templates with several parameters in one segment capture what the lazy regex did.

The segment matcher splits at the literals instead of running ``(?P<a>[^/]+?)`` groups (which
backtrack with the cube of the length, issue 13): for any template and any segment it must
accept the same segments and capture the same values as the regex it replaced.
"""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from mockserver.core.paths import parse_path_template

# Few letters, so literals recur and overlap inside the segments (the hard cases).
LITERALS = st.text(alphabet="a.-", max_size=3)
SEGMENTS = st.text(alphabet="ab.-x", max_size=12)


@st.composite
def templates(draw: st.DrawFn) -> list[str]:
    """literal, name, literal, ..., name, literal: one to four parameters."""
    count = draw(st.integers(min_value=1, max_value=4))
    pieces = [draw(LITERALS)]
    for i in range(count):
        pieces += [f"p{i}", draw(LITERALS)]
    return pieces


def lazy_regex(pieces: list[str], segment: str) -> dict[str, str] | None:
    expression = "".join(
        re.escape(piece) if i % 2 == 0 else f"(?P<{piece}>[^/]+?)" for i, piece in enumerate(pieces)
    )
    found = re.fullmatch(expression, segment)
    return found.groupdict() if found else None


@given(templates(), SEGMENTS)
def test_a_mixed_segment_captures_what_the_lazy_regex_captured(
    pieces: list[str], segment: str
) -> None:
    template = "".join(p if i % 2 == 0 else "{" + p + "}" for i, p in enumerate(pieces))
    spec, problem = parse_path_template("/t/" + template)
    assert spec is not None, problem
    assert spec.match("/t/" + segment) == lazy_regex(pieces, segment)
