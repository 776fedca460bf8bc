"""Fetch URLs over HTTP(S) with one client: limits, redirects and address checks per hop."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from newsmon.config import HttpSettings
from newsmon.errors import FetchError

log = logging.getLogger(__name__)

_REDIRECTS = {301, 302, 303, 307, 308}


@dataclass
class FetchResult:
    """What one GET produced: the body, or the reason there is none."""

    url: str
    final_url: str | None = None
    status: int | None = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


def _refused_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


class Fetcher:
    """Concurrent GETs with a global and a per-host limit, used as an async context manager."""

    def __init__(self, http: HttpSettings, allow_private_networks: bool = False):
        self.http = http
        self.allow_private_networks = allow_private_networks
        self._global = asyncio.Semaphore(http.max_connections)
        self._hosts: dict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(http.per_host_connections)
        )
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Fetcher:
        timeout = httpx.Timeout(
            connect=self.http.connect_timeout,
            read=self.http.read_timeout,
            write=self.http.read_timeout,
            pool=self.http.total_timeout,
        )
        self._client = httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,  # followed by hand so every hop is checked
            headers={"User-Agent": self.http.agent, "Accept-Encoding": "gzip, deflate"},
            limits=httpx.Limits(max_connections=self.http.max_connections),
        )
        return self

    async def __aexit__(self, *exc_info) -> None:
        assert self._client is not None
        await self._client.aclose()

    async def check_url(self, url: str) -> None:
        """Refuse non-http(s) URLs and, unless allowed, hosts that resolve to private addresses."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise FetchError(f"refused scheme {parts.scheme!r} (only http and https)")
        host = parts.hostname
        if not host:
            raise FetchError("URL has no host")
        if self.allow_private_networks:
            return
        try:
            addresses = [host] if _is_ip(host) else await _resolve(host, parts.port)
        except OSError as exc:
            raise FetchError(f"cannot resolve {host}: {exc}") from None
        for address in addresses:
            if _refused_address(address):
                raise FetchError(
                    f"refused {host}: resolves to non-public address {address} "
                    "(set settings.allow_private_networks to allow)"
                )

    async def get(self, url: str, headers: dict[str, str] | None = None) -> FetchResult:
        """GET one URL; failures come back as FetchResult.error, never as exceptions."""
        host = urlsplit(url).hostname or ""
        started = time.perf_counter()
        result = FetchResult(url=url)
        # Host slot first: tasks queued on a busy host must not hold global slots.
        async with self._hosts[host], self._global:
            try:
                async with asyncio.timeout(self.http.total_timeout):
                    await self._get(url, headers or {}, result)
            except TimeoutError:
                result.error = f"timed out after {self.http.total_timeout:g}s"
            except FetchError as exc:
                result.error = str(exc)
            except httpx.HTTPError as exc:
                result.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        result.elapsed = time.perf_counter() - started
        if result.error:
            log.info("fetch %s failed: %s", url, result.error)
        return result

    async def _get(self, url: str, headers: dict[str, str], result: FetchResult) -> None:
        assert self._client is not None, "use Fetcher as an async context manager"
        current = url
        for _hop in range(self.http.max_redirects + 1):
            await self.check_url(current)
            async with self._client.stream("GET", current, headers=headers) as response:
                result.final_url = str(response.url)
                result.status = response.status_code
                result.headers = {
                    k: response.headers[k]
                    for k in ("content-type", "etag", "last-modified", "retry-after", "location")
                    if k in response.headers
                }
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    current = urljoin(current, response.headers["location"])
                    continue
                if response.status_code >= 400:
                    result.error = f"HTTP {response.status_code}"
                    return
                result.content = await self._read_capped(response)
                return
        raise FetchError(f"more than {self.http.max_redirects} redirects")

    async def _read_capped(self, response: httpx.Response) -> bytes:
        cap = self.http.max_body_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise FetchError(f"body of {int(declared)} bytes exceeds the {cap}-byte cap")
        chunks: list[bytes] = []
        size = 0
        # aiter_bytes yields decompressed data, so the cap also stops gzip bombs.
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > cap:
                raise FetchError(f"body exceeds the {cap}-byte cap")
            chunks.append(chunk)
        return b"".join(chunks)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def _resolve(host: str, port: int | None) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def fetch_all(
    urls: Iterable[str],
    http: HttpSettings,
    allow_private_networks: bool = False,
    headers: dict[str, dict[str, str]] | None = None,
) -> list[FetchResult]:
    """Fetch URLs concurrently (limits from settings); results in input order."""
    urls = list(urls)
    headers = headers or {}

    async def run() -> list[FetchResult]:
        async with Fetcher(http, allow_private_networks) as fetcher:
            return await asyncio.gather(*(fetcher.get(u, headers.get(u)) for u in urls))

    if not urls:
        return []
    return asyncio.run(run())
