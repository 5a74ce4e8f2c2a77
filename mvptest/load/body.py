"""A response body read whole but bounded: a provider that streams gigabytes, or a gzip bomb, is refused."""

from __future__ import annotations

import os
from typing import Any

# A response body larger than this (as sent, and once decompressed) is a failed call, read no further: a provider
# that streams gigabytes (or a gzip bomb) must not take the generator's memory. MVPTEST_MAX_BODY_MB raises it.
MAX_BODY = int(float(os.environ.get("MVPTEST_MAX_BODY_MB", "16")) * 1024 * 1024)
_READ_BLOCK = 64 * 1024


class BodyRefused(Exception):
    """The response arrived with the right status but its body cannot be judged: too large, or not decodable."""


def read_body(response: Any) -> bytes:
    """The body, bounded by MAX_BODY (as sent and once decompressed); kept where Locust looks for it."""
    headers = response.headers
    if headers is None:
        return b""
    declared = headers.get("content-length")
    encoding = headers.get("content-encoding")
    length = int(declared) if declared is not None and declared.strip().isdigit() else None
    if length is not None:
        if length > MAX_BODY:
            response.release()  # the rest is never read: the connection is closed, not reused
            raise BodyRefused(f"the body is {length:,} bytes, over the limit of {MAX_BODY:,} (MVPTEST_MAX_BODY_MB)")
        raw = response.read()  # the parser stops at the declared length: at most MAX_BODY bytes
    else:  # chunked, or until the connection closes: read in blocks and stop at the limit
        chunks, size = [], 0
        while True:
            block = response.read(_READ_BLOCK)
            if not block:
                break
            size += len(block)
            if size > MAX_BODY:
                response.release()
                raise BodyRefused(f"the body is over the limit of {MAX_BODY:,} bytes (MVPTEST_MAX_BODY_MB)")
            chunks.append(block)
        raw = b"".join(chunks)
    if encoding is not None and encoding.strip().lower() not in ("identity", ""):
        raw = _decompress(raw, encoding.strip().lower())
    response._cached_content = raw
    return raw


def _decompress(raw: bytes, encoding: str) -> bytes:
    import zlib

    try:
        if encoding in ("gzip", "x-gzip"):
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":  # zlib-wrapped, or raw deflate as some servers send it
            d = zlib.decompressobj(zlib.MAX_WBITS if raw[:1] == b"\x78" else -zlib.MAX_WBITS)
        elif encoding == "br":
            import brotli

            out = brotli.Decompressor().process(raw, output_buffer_limit=MAX_BODY + 1)
            if len(out) > MAX_BODY:
                raise BodyRefused(f"the body decompresses to over {MAX_BODY:,} bytes (MVPTEST_MAX_BODY_MB)")
            return out
        else:
            raise BodyRefused(f"the body is sent with Content-Encoding {encoding!r}, which mvptest cannot decode")
        out = d.decompress(raw, MAX_BODY + 1)
    except (zlib.error, brotli_error()) as exc:
        raise BodyRefused(f"the body is not valid {encoding} ({exc})") from None
    if len(out) > MAX_BODY or d.unconsumed_tail:
        raise BodyRefused(f"the body decompresses to over {MAX_BODY:,} bytes (MVPTEST_MAX_BODY_MB)")
    return out


def brotli_error() -> type[BaseException]:
    try:
        import brotli

        return brotli.error
    except (ImportError, AttributeError):
        return ValueError
