"""Parameter texts checked without the validators, where a schema is plain enough to say so.

Most path parameters are ``{type: integer}`` (perhaps ``format: int64``) or ``{type: string}``:
reading the text and asking jsonschema-rs costs a served request a few microseconds for a
verdict a comparison gives. A test here says True only where the validators would accept the
value (tests/unit/test_openapi_plain.py checks that against them over many texts); any other
text, and every message, is still theirs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from mockserver.formats.openapi.schemas import INT_FORMATS, Checked

__all__ = ["INTEGER", "TextTest", "text_test"]

# The texts validate._scalar reads as an integer.
INTEGER: Final = re.compile(r"-?\d+\Z")
_BOOLEAN_TEXTS: Final = frozenset({"true", "false"})
# An integer of fewer digits is within int64 and int() of it cannot fail.
_SHORT_INTEGER: Final = 19
TextTest = Callable[[str], bool]


def _some_text(text: str) -> bool:
    return text != ""  # an empty segment is no path parameter (the path regex wants one)


def _integer_text(form: str) -> TextTest:
    """True when ``text`` read as an integer fits ``{type: integer, format: form}``: _scalar
    makes it an int exactly when INTEGER matches it; the format bounds it.

    ``str.isdecimal`` is INTEGER's ``\\d+`` (the same Unicode digits, which int() reads too)
    without the regex call, which cost a served GET more than the rest of its check."""
    low, high = INT_FORMATS.get(form, (-(2**63), 2**63 - 1))

    def test(text: str) -> bool:
        return (
            len(text) < _SHORT_INTEGER
            and (text.isdecimal() or (text[:1] == "-" and text[1:].isdecimal()))
            and low <= int(text) <= high
        )

    return test


def text_test(validator: Checked, kind: str) -> TextTest | None:
    """A test of a parameter's text, read as a ``kind`` (validate._scalar), that says True
    only where ``validator`` would accept the value, for a plain scalar schema
    (schemas.Checked.plain); False means "ask the validator". None where the schema says more."""
    plain = validator.plain()
    if plain is None or plain[0] != kind:
        return None
    kind, form = plain
    if kind == "string":
        return _some_text
    if kind == "boolean":
        return _BOOLEAN_TEXTS.__contains__
    return _integer_text(form)
