"""ETag as a value: parsed, formatted and compared per RFC 9110 §8.8.3."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver.core.etags import ETag

# etagc: any visible character but DQUOTE, and obs-text (§8.8.3).
opaque = st.text(st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters='"'))


@pytest.mark.parametrize(
    ("one", "two", "strong", "weak"),
    [
        # The table of §8.8.3.2, row by row.
        ('W/"1"', 'W/"1"', False, True),
        ('W/"1"', 'W/"2"', False, False),
        ('W/"1"', '"1"', False, True),
        ('"1"', '"1"', True, True),
    ],
)
def test_comparison_follows_the_table_of_rfc_9110(
    one: str, two: str, strong: bool, weak: bool
) -> None:
    first, second = ETag.parse(one), ETag.parse(two)
    assert first is not None
    assert second is not None
    assert first.matches(second, weak=False) is strong
    assert first.matches(second, weak=True) is weak
    assert second.matches(first, weak=False) is strong  # both comparisons are symmetric


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"abc"', ETag("abc")),
        ('W/"abc"', ETag("abc", weak=True)),
        ('""', ETag("")),
        ("abc", None),
        ('w/"abc"', None),  # W/ is case-sensitive
        ('W/ "abc"', None),
        ('"abc', None),
        ('"a"b"', None),
        ('"', None),
    ],
)
def test_parse_takes_one_entity_tag_and_nothing_else(text: str, expected: ETag | None) -> None:
    assert ETag.parse(text) == expected


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        ("v1", '"v1"'),
        ('"v1"', '"v1"'),
        ('W/"v1"', 'W/"v1"'),
        ('a"b', '"a"b"'),  # as the stub wrote it, in quotes
        ('"', '"""'),
    ],
)
def test_a_stubs_literal_is_sent_quoted_unless_written_quoted(written: str, sent: str) -> None:
    assert str(ETag.literal(written)) == sent


def test_derived_tags_keep_the_weak_flag_and_put_the_suffix_inside_the_quotes() -> None:
    assert str(ETag("abc").suffixed("gzip")) == '"abc-gzip"'
    assert str(ETag("abc", weak=True).suffixed("msgpack")) == 'W/"abc-msgpack"'
    assert str(ETag("abc").weakened()) == 'W/"abc"'
    assert ETag("abc", weak=True).weakened() == ETag("abc", weak=True)


@given(opaque=opaque, weak=st.booleans())
def test_a_tag_reads_back_from_what_is_sent(opaque: str, weak: bool) -> None:
    tag = ETag(opaque, weak)
    assert ETag.parse(str(tag)) == tag
    assert ETag.literal(str(tag)) == tag
