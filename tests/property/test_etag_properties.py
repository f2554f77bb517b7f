"""The replay's promise about a service's ETag, over generated tags, codings and the forms a
client may hold it in: 304 in every coding while the body is unchanged, 200 for another tag,
and If-Match by strong comparison only (RFC 9110 §8.8.3.2, §13.1.1, §13.1.2)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from mockserver.core.model import PreparedResponse
from mockserver.core.render import available_encodings, choose
from mockserver.core.request import RequestView
from mockserver.stubfiles.stubfile import parse_service

# Opaque tags as services write them (etagc excludes DQUOTE, §8.8.3).
opaque = st.text(st.sampled_from("abcdefXYZ0123456789-_.:/+="), min_size=1, max_size=12)
# How a client may hold the tag: as sent on identity, weakened (nginx), suffixed (Apache, Jetty).
FORMS = ('"{}"', 'W/"{}"', '"{}-gzip"', '"{}--br"', '"{}-deflate"')
accepted = st.sampled_from(["identity", "gzip", "br", "deflate", "gzip, deflate, br", None])
BODY = {"items": [f"item {i}" for i in range(40)]}  # long enough to be compressed


def prepared(etag: str) -> PreparedResponse:
    response = {"json": BODY, "etag": etag}
    document = {"stubs": [{"request": {"method": ["GET", "PUT"]}, "response": response}]}
    _, stubs, problems = parse_service(document, "t.yaml", "svc", lambda name: b"")
    assert not problems, [str(p) for p in problems]
    return stubs[0].prepared


def status(out: PreparedResponse, method: str, coding: str | None, **conditions: str) -> int:
    headers = [(name.replace("_", "-"), value) for name, value in conditions.items()]
    if coding is not None:
        headers.append(("Accept-Encoding", coding))
    return choose(out, RequestView(method, "/", "", headers)).status


@given(tag=opaque, weak=st.booleans(), coding=accepted, form=st.sampled_from(FORMS))
def test_a_client_holding_the_services_tag_in_any_form_gets_304(
    tag: str, weak: bool, coding: str | None, form: str
) -> None:
    out = prepared(('W/"{}"' if weak else '"{}"').format(tag))
    assert status(out, "GET", coding, if_none_match=form.format(tag)) == 304
    assert status(out, "GET", coding, if_none_match=form.format(tag + "x")) == 200


@given(tag=opaque, weak=st.booleans(), coding=accepted)
def test_if_match_holds_for_the_strong_tag_only(tag: str, weak: bool, coding: str | None) -> None:
    literal = ('W/"{}"' if weak else '"{}"').format(tag)
    out = prepared(literal)
    strong = status(out, "PUT", coding, if_match=f'"{tag}"')
    assert strong == (412 if weak else 200)
    assert status(out, "PUT", coding, if_match=f'W/"{tag}"') == 412
    assert status(out, "PUT", coding, if_match=f'"{tag}x"') == 412


def test_the_body_is_compressed_in_every_coding_this_install_offers() -> None:
    # So the properties above meet coded variants, not identity alone.
    out = prepared('"t"')
    for coding in available_encodings():
        sent = choose(out, RequestView("GET", "/", "", [("Accept-Encoding", coding)]))
        assert dict(sent.headers)["Content-Encoding"] == coding
        assert dict(sent.headers)["ETag"] == 'W/"t"'
    assert json.loads(out.body) == BODY
