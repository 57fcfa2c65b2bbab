"""Pure rules for fetching politely and safely; the middlewares apply them.

- `forbidden_address`: loopback, private, link-local, cloud-metadata and other
  non-public addresses a crawler must not be steered into (SSRF).
- `retry_after_seconds` and `backoff_delay`: how long to wait before retrying.
- `is_newer`: whether a listing's change date means a stored article changed.
- `user_agent_with_contact`: the User-Agent, always naming where to reach the operator.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

# Metadata endpoints of cloud providers that are not already link-local or private.
CLOUD_METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
        ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
        ipaddress.ip_address("fd00:ec2::254"),  # AWS IPv6
    }
)
# Listing dates may be rounded to the second, or to the day, by the site.
_CHANGE_TOLERANCE = timedelta(seconds=1)


def forbidden_address(address: str) -> str | None:
    """Why `address` (an IP literal) must not be fetched, or None when it is public."""
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return "unparseable address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in CLOUD_METADATA_ADDRESSES:
        return "cloud metadata address"
    if ip.is_loopback:
        return "loopback address"
    if ip.is_link_local:
        return "link-local address"
    if ip.is_private:
        return "private address"
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved or not ip.is_global:
        return "non-public address"
    return None


def retry_after_seconds(value: str | bytes | None, now: datetime) -> float | None:
    """The wait a `Retry-After` header asks for (delta-seconds or an HTTP date), or None."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def backoff_delay(retry_number: int, base: float, maximum: float) -> float:
    """Exponential backoff: `base * 2**(retry_number - 1)`, capped at `maximum`."""
    if retry_number < 1 or base <= 0:
        return 0.0
    return float(min(maximum, base * 2 ** (retry_number - 1)))


def user_agent_with_contact(user_agent: str, contact_url: str) -> str:
    """`user_agent` with its `(+URL)` contact part set to `contact_url`."""
    if contact_url in user_agent:
        return user_agent
    if re.search(r"\(\+[^)]*\)", user_agent):
        return re.sub(r"\(\+[^)]*\)", f"(+{contact_url})", user_agent, count=1)
    return f"{user_agent} (+{contact_url})".strip()


def is_newer(listed: datetime | None, known: datetime | None) -> bool:
    """True when a listing's change date is later than the one already fetched for."""
    if listed is None or known is None:
        return False
    return listed - known > _CHANGE_TOLERANCE
