"""The text of a strict failure: the unmatched requests of a test, for a terminal.

Every value a client sent is cut (request.excerpt: its start, its size and a hash) and made
printable (logstream.printable), so neither a 2 MB body nor an escape sequence reaches the
terminal whole; identical requests (a client's retries) are shown once with their count; a
JSON body is shown with its characters, as the near-miss reasons show them, not
``\\u``-escaped.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

from mockserver.core.report import NearStub, RequestSummary, report_text
from mockserver.core.request import REPORTED_BODY_CHARS, REPORTED_VALUE_CHARS, excerpt
from mockserver.output.logstream import printable, printable_values, strings_changed

__all__ = ["unmatched_text"]


def unmatched_text(
    entries: Sequence[Mapping[str, Any]],
    *,
    count: int | None = None,
    to: str = "",
    where: str = "",
    journal_size: int | None = None,
) -> str:
    """The near-miss report of ``count`` unmatched requests, of which the journal still
    holds ``entries`` (the newest). The first line reads "N requests{to} matched no stub{where}"."""
    count = len(entries) if count is None else count
    groups: dict[str, int] = {}
    for entry in entries:
        block = _block(entry)
        groups[block] = groups.get(block, 0) + 1
    parts = [_counted(block, times) for block, times in groups.items()]
    failed = any(e.get("error") for e in entries)
    what = "failed or matched no stub" if failed else "matched no stub"
    head = f"mockserver: {count} request{'s' * (count != 1)}{to} {what}{where}:"
    lost = count - len(entries)
    if lost > 0:
        parts.append(_lost_note(lost, journal_size))
    return head + "\n\n" + "\n\n".join(parts)


def _counted(block: str, times: int) -> str:
    if times == 1:
        return block
    first, _, rest = block.partition("\n")
    return f"{first} ({times} times)" + (f"\n{rest}" if rest else "")


def _lost_note(lost: int, journal_size: int | None) -> str:
    them = "it" if lost == 1 else f"{lost:,} of them"
    if journal_size is None:
        return f"(the journal no longer holds {them}: raise the server's --journal-size)"
    return (
        f"(the journal no longer holds {them}: it keeps the last {journal_size} requests; "
        "raise journal_size in mockserver_settings to see it)"
    )


def _block(entry: Mapping[str, Any]) -> str:
    if entry.get("error"):
        target = printable(f"{entry['method']} {entry['path']}")
        return f"The server failed answering {target}: {printable(str(entry['error']))}"
    # The entry is JSON (the admin API's, or the journal's own as_dict): its near misses are
    # read back into the report's values, each string cut to a value's share of a report.
    request = RequestSummary(
        entry["method"], entry["path"], entry.get("query") or {}, {}, _body(entry)
    )
    nearest = tuple(
        strings_changed(NearStub.from_json(n), _cut) for n in entry.get("nearest") or ()
    )
    hint = "" if nearest else "no stub came near"
    return report_text(*printable_values((request, nearest, hint)))


def _body(entry: Mapping[str, Any]) -> str:
    """The body as text: a base64 one decoded when it is UTF-8 (the journal encodes bodies
    with control characters so), JSON with its characters rather than their escapes."""
    body = str(entry.get("body") or "")
    if entry.get("body_encoding") == "base64":
        try:
            body = base64.b64decode(body).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return excerpt(f"(binary, base64) {body}", REPORTED_BODY_CHARS)
    size = entry.get("body_size")
    shown = excerpt(_characters(body), REPORTED_BODY_CHARS)
    if entry.get("body_truncated") and isinstance(size, int):
        shown += f" (the journal kept the first {len(body):,} of the request's {size:,} bytes)"
    return shown


def _characters(text: str) -> str:
    """JSON sent ASCII-escaped (``\\u00e9``, as requests and json.dumps send it) with its
    characters, as the near-miss reasons show them; control characters stay escaped."""
    if "\\u" not in text or text.lstrip()[:1] not in ("{", "["):
        return text
    try:
        return json.dumps(json.loads(text), ensure_ascii=False)
    except (ValueError, RecursionError):
        return text


def _cut(value: str) -> str:
    return excerpt(_characters(value), REPORTED_VALUE_CHARS)
