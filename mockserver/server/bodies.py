"""Request bodies sent with a Content-Encoding, decoded here rather than by aiohttp.

Decoding ourselves lets the server tell a truncated gzip stream from a complete one (aiohttp's
decoder checks the end of the stream for deflate only, so a cut-off gzip body arrived as the
prefix it decoded to), caps the decoded size while decoding (a gzip bomb stops at the cap),
and bounds concatenated gzip members (each one restarts the decoder).
"""

from __future__ import annotations

import zlib
from typing import Final

from mockserver.core.errors import ProblemError

__all__ = ["MAX_GZIP_MEMBERS", "REQUEST_CODINGS", "BodyError", "decode_request_body"]

REQUEST_CODINGS: Final = frozenset({"gzip", "deflate", "identity"})
# RFC 1952 allows several gzip members one after another; real clients send one. A few hundred
# thousand empty members would each restart the decoder (aiohttp GHSA-h4cc-hm5h-fmm9).
MAX_GZIP_MEMBERS: Final = 64


class BodyError(ProblemError):
    """The body cannot be used: ``status`` (400, 413 or 415) with what is wrong."""


def decode_request_body(body: bytes, coding: str | None, cap: int) -> bytes:
    """``body`` without its content coding, at most ``cap`` bytes.

    Raises:
        BodyError: 415 for a coding other than gzip or deflate, 400 for a corrupt or truncated
            stream, 413 past ``cap``.
    """
    name = (coding or "identity").strip().lower()
    if name == "identity":
        return body
    if name not in REQUEST_CODINGS:
        raise BodyError(
            415,
            "unsupported content encoding",
            f"request bodies may be coded with gzip or deflate; got Content-Encoding: {coding}",
        )
    if name == "deflate":
        try:
            return _inflate(body, zlib.MAX_WBITS, cap, name)
        except BodyError as exc:
            if exc.status != 400:
                raise
            # Some clients send raw deflate, without the zlib wrapper RFC 9110 §8.4.1.2 asks for.
            return _inflate(body, -zlib.MAX_WBITS, cap, name)
    return _inflate(body, 16 + zlib.MAX_WBITS, cap, name)


def _inflate(data: bytes, wbits: int, cap: int, name: str) -> bytes:
    out = bytearray()
    for _ in range(MAX_GZIP_MEMBERS):
        decoder = zlib.decompressobj(wbits)
        try:
            out += decoder.decompress(data, cap + 1 - len(out))
            while decoder.unconsumed_tail and len(out) <= cap:
                out += decoder.decompress(decoder.unconsumed_tail, cap + 1 - len(out))
        except zlib.error as exc:
            raise BodyError(400, "malformed request body", f"not valid {name}: {exc}") from None
        if len(out) > cap:
            raise BodyError(
                413,
                "request body too large",
                f"the body decodes to more than the {cap:,}-byte limit "
                "(--max-body-bytes, after decompression)",
            )
        if not decoder.eof:
            raise BodyError(400, "malformed request body", f"the {name} stream is truncated")
        data = decoder.unused_data
        if not data or wbits < 0 or name != "gzip":
            return bytes(out)
    raise BodyError(
        400, "malformed request body", f"more than {MAX_GZIP_MEMBERS} gzip members in one body"
    )
