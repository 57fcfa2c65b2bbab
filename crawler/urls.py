"""URL canonicalisation: one spelling per article before anything is fetched or stored.

Pure functions, no Scrapy import. `canonicalize_url` drops tracking parameters
(`utm_*`, `fbclid`, `gclid`, ...), the fragment and default ports, lower-cases the
scheme and host, and normalises percent-encoding and query order (w3lib does that
part). `resolve_canonical` decides which URL a fetched page is stored under, given
the page's own `rel=canonical` link and whether it is an AMP page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url as w3lib_canonicalize_url

WEB_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Query parameters that only say how a reader arrived, never which article it is.
TRACKING_PARAMETERS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
        "igshid", "igsh", "mc_cid", "mc_eid", "mkt_tok", "_ga", "_gl", "_hsenc", "_hsmi",
        "oly_anon_id", "oly_enc_id", "vero_id", "rb_clickid", "s_cid", "ocid", "cmpid", "cmp",
        "smid", "smtyp", "xtor", "ito", "ref_src", "ref_url", "spm", "share", "taid",
        "__twitter_impression", "fb_action_ids", "fb_action_types", "fb_source", "guccounter",
        "guce_referrer", "guce_referrer_sig", "sr_share", "ncid", "soc_src", "soc_trk",
    }
)  # fmt: skip
# Parameter families sharing a prefix (Google Analytics, AT Internet, comScore, Piwik, HubSpot).
TRACKING_PREFIXES = ("utm_", "at_", "ns_", "pk_", "mtm_", "hsa_", "itm_", "stm_")

_AMP_HTML = re.compile(rb"<html\b[^>]*?\s(?:amp|\xe2\x9a\xa1)(?:[\s=>/]|$)", re.IGNORECASE)


def is_web_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host."""
    parts = urlsplit(url.strip())
    return parts.scheme.lower() in WEB_SCHEMES and bool(parts.hostname)


def is_tracking_parameter(name: str) -> bool:
    """True when the query parameter `name` only tracks the visit."""
    lowered = name.lower()
    return lowered in TRACKING_PARAMETERS or lowered.startswith(TRACKING_PREFIXES)


def canonicalize_url(url: str) -> str:
    """The one spelling of `url` that newsfold fetches and stores.

    Non-web URLs (mailto:, file:, ...) come back stripped of surrounding space only;
    callers refuse them separately.
    """
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in WEB_SCHEMES or not parts.hostname:
        return url
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username is not None:
        credentials = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{credentials}@{netloc}"
    query = urlencode(
        [
            (name, value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
            if not is_tracking_parameter(name)
        ]
    )
    rebuilt = urlunsplit((scheme, netloc, parts.path or "/", query, ""))
    return w3lib_canonicalize_url(rebuilt, keep_fragments=False)


def host_of(url: str) -> str:
    """The lower-cased host of `url` without a leading `www.`."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def is_amp_page(html_head: bytes) -> bool:
    """True when the document's `<html>` tag carries the `amp` (or lightning) attribute."""
    return _AMP_HTML.search(html_head[:8192]) is not None


@dataclass(frozen=True)
class CanonicalResolution:
    """Where a fetched page belongs.

    `store_url` is the URL to store the page under; `fetch_url` is set when the page
    is only a stand-in (AMP) and the canonical page should be fetched instead.
    """

    store_url: str
    fetch_url: str | None = None


def resolve_canonical(fetched_url: str, declared: str | None, is_amp: bool) -> CanonicalResolution:
    """Apply a page's `rel=canonical` link to the URL it was fetched from.

    A same-site canonical link renames the page (print views, tracking variants,
    mobile hosts). An AMP page's canonical link, on any host, points at the full page,
    which is fetched instead. A cross-site canonical link on a normal page (syndicated
    wire copy) does not rename it: the copy is kept where it was published, and
    extraction records the declared canonical URL beside it.
    """
    fetched = canonicalize_url(fetched_url)
    if not declared:
        return CanonicalResolution(fetched)
    target = canonicalize_url(urljoin(fetched_url, declared.strip()))
    if not is_web_url(target) or target == fetched:
        return CanonicalResolution(fetched)
    if is_amp:
        return CanonicalResolution(target, fetch_url=target)
    if _same_site(fetched, target):
        return CanonicalResolution(target)
    return CanonicalResolution(fetched)


def _same_site(first: str, second: str) -> bool:
    """Same host, ignoring `www.`, `m.` and `amp.` prefixes."""

    def bare(url: str) -> str:
        host = host_of(url)
        for prefix in ("m.", "amp.", "mobile."):
            host = host.removeprefix(prefix)
        return host

    return bare(first) == bare(second) and bool(bare(first))
