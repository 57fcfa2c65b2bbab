"""Pure rules for meeting hostile input safely; the guards in `crawler.guards` apply them.

No Scrapy import. `redact_secrets` takes credentials out of text bound for logs and the
rejects table; `crosses_origin` says when a redirect leaves the site whose credentials a
request carries; `gzip_inflates_beyond` measures a gzip body against a size limit
without holding what it inflates to.
"""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

GZIP_MAGIC = b"\x1f\x8b"
_DEFAULT_PORTS = {"http": 80, "https": 443}
# `scheme://user:password@` in any URL-shaped text.
_URL_CREDENTIALS = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/?#@\s]*:)[^@/?#\s]+@")
_MASK = "***"
# Inflate this much at a time, so a bomb is stopped without ever being held.
_INFLATE_CHUNK = 64 * 1024


def url_secrets(url: str) -> list[str]:
    """The password of a URL (as written and percent-decoded) and its Basic-auth form."""
    try:
        parts = urlsplit(url)
        password = parts.password
        username = parts.username or ""
    except ValueError:
        return []
    if not password:
        return []
    found = {password, unquote(password)}
    for user, secret in ((username, password), (unquote(username), unquote(password))):
        found.add(base64.b64encode(f"{user}:{secret}".encode()).decode("ascii"))
    return sorted(found, key=len, reverse=True)


def redact_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with URL passwords and each of `secrets` replaced by `***`."""
    redacted = _URL_CREDENTIALS.sub(lambda match: match.group("head") + _MASK + "@", text)
    for secret in secrets:
        if secret and len(secret) >= 3:
            redacted = redacted.replace(secret, _MASK)
    return redacted


def crosses_origin(original_url: str, url: str, header: str) -> bool:
    """Whether a redirect from `original_url` to `url` must lose the `header` credentials.

    `Authorization` belongs to one origin (scheme, host, port); a `Cookie` to one host,
    and never travels from https to plain http. The rules are Scrapy's
    `RedirectMiddleware`'s, applied against the first URL of the redirect chain.
    """
    source, target = urlsplit(original_url), urlsplit(url)
    if header.lower() == "cookie":
        return source.hostname != target.hostname or target.scheme not in {
            source.scheme,
            "https",
        }
    return (
        source.scheme != target.scheme
        or source.hostname != target.hostname
        or _port(source.scheme, source.port) != _port(target.scheme, target.port)
    )


def gzip_inflates_beyond(body: bytes, max_bytes: int) -> int | None:
    """The inflated size reached once past `max_bytes` (a bomb), or None when within it.

    Data that is not valid gzip counts as within the limit: reading it is the reader's
    business, this only measures.
    """
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    total = 0
    try:
        for start in range(0, len(body), _INFLATE_CHUNK):
            pending = body[start : start + _INFLATE_CHUNK]
            while pending:
                total += len(inflater.decompress(pending, _INFLATE_CHUNK))
                if total > max_bytes:
                    return total
                pending = inflater.unconsumed_tail
            if inflater.eof:
                break
    except zlib.error:
        return None
    return None


def _port(scheme: str, port: int | None) -> int | None:
    return port or _DEFAULT_PORTS.get(scheme)
