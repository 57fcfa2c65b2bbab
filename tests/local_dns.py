"""A test-only DNS resolver: names from `LOCAL_DNS_HOSTS`, and `.test` names that fail.

Crawls started by tests set `-s TWISTED_DNS_RESOLVER=tests.local_dns.LocalNamesResolver`
and `-s LOCAL_DNS_HOSTS={"news.example.com": "127.0.0.1"}`, so a public-looking name
resolves to a local address (no /etc/hosts, no network), and `anything.test` fails as
an unknown name would, without asking a real DNS server.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer
from twisted.internet.base import ReactorBase
from twisted.internet.error import DNSLookupError


class LocalNamesResolver(CachingThreadedResolver):
    """Scrapy's resolver, answering the names of `LOCAL_DNS_HOSTS` itself."""

    def __init__(
        self, reactor: ReactorBase, cache_size: int, timeout: float, hosts: dict[str, str]
    ) -> None:
        super().__init__(reactor, cache_size, timeout)
        self.hosts = hosts

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: ReactorBase) -> Self:
        hosts = {
            str(k).lower(): str(v) for k, v in crawler.settings.getdict("LOCAL_DNS_HOSTS").items()
        }
        return cls(reactor, 0, crawler.settings.getfloat("DNS_TIMEOUT"), hosts)

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[Any]:
        address = self.hosts.get(name.lower())
        if address is not None:
            return defer.succeed(address)
        if name.lower().endswith(".test"):
            return defer.fail(DNSLookupError(f"{name}: no such test host"))
        return super().getHostByName(name, timeout)
