"""Request bodies with a Content-Encoding: decoded, capped, truncation and junk refused."""

from __future__ import annotations

import gzip
import zlib

import pytest

from mockserver.server.bodies import MAX_GZIP_MEMBERS, BodyError, decode_request_body

TEXT = b'{"name": "Ada"}' * 20


@pytest.mark.parametrize(
    ("coding", "coded"),
    [
        ("gzip", gzip.compress(TEXT, mtime=0)),
        ("GZIP", gzip.compress(TEXT, mtime=0)),
        ("deflate", zlib.compress(TEXT)),
        ("deflate", zlib.compress(TEXT)[2:-4]),  # raw deflate, without the zlib wrapper
        ("identity", TEXT),
        (None, TEXT),
    ],
)
def test_decodes(coding: str | None, coded: bytes) -> None:
    assert decode_request_body(coded, coding, 10_000) == TEXT


def test_concatenated_gzip_members_are_one_body() -> None:
    assert decode_request_body(gzip.compress(b"ab") + gzip.compress(b"cd"), "gzip", 100) == b"abcd"


@pytest.mark.parametrize(
    ("coding", "coded", "status", "says"),
    [
        ("gzip", gzip.compress(TEXT, mtime=0)[:-10], 400, "truncated"),
        ("gzip", b"not gzip at all", 400, "not valid gzip"),
        ("deflate", b"\x78\x9c junk", 400, "not valid deflate"),
        ("gzip", gzip.compress(b"\0" * 100_000), 413, "limit"),
        ("br", b"...", 415, "gzip or deflate"),
        ("x-gzip", gzip.compress(TEXT, mtime=0), 415, "gzip or deflate"),
        ("gzip", gzip.compress(b"") * (MAX_GZIP_MEMBERS + 1), 400, "gzip members"),
    ],
)
def test_refuses(coding: str, coded: bytes, status: int, says: str) -> None:
    with pytest.raises(BodyError) as caught:
        decode_request_body(coded, coding, 10_000)
    assert caught.value.status == status
    assert says in caught.value.detail
