"""Fetch URLs over HTTP(S) with one client: limits, redirects and address checks per hop."""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import socket
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

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
    # The cause in plain words: 'HTTP 503', 'connection refused', 'DNS lookup failed for
    # host (...)', 'read timed out after 20s', 'robots.txt: HTTP 503'.
    error: str | None = None
    # 'hard' (will not fix itself: a refused address or scheme, 4xx, caps, a robots.txt
    # Disallow), 'soft' (5xx), 'temporary' (timeouts, failed DNS lookups,
    # refused or reset connections, 429, robots.txt unreachable or 5xx);
    # None when there is no error.
    error_kind: str | None = None
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


Networks = bool | Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]


def _refused_address(address: str, allowed: Networks = False) -> bool:
    """Whether an address is off limits: private, loopback, link-local, multicast, reserved."""
    if allowed is True:
        return False
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if allowed and any(ip in network for network in allowed):
        return False
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


class _Refused(FetchError):
    """A fetch the policy forbids; never worth retrying soon."""


class _Unresolved(_Refused):
    """The host name did not resolve while checking its addresses."""


class _TooManyRedirects(_Refused):
    """More redirects than settings.http.max_redirects."""


@dataclass(frozen=True)
class _Robots:
    """What a site's robots.txt lets us do: follow its rules, or fetch nothing now."""

    rules: RobotFileParser | None = None  # None: every path is allowed
    error: str | None = None  # set when no page of the site may be fetched now
    error_kind: str = "temporary"


def _http_error_kind(status: int) -> str:
    if status == 429:
        return "temporary"
    return "soft" if status >= 500 else "hard"


class Fetcher:
    """Concurrent GETs with a global and a per-host limit, used as an async context manager."""

    def __init__(
        self, http: HttpSettings, allow_private_networks: Networks = False, robots_txt: bool = False
    ):
        self.http = http
        self.allow_private_networks = allow_private_networks
        self.robots_txt = robots_txt
        self._robots: dict[str, asyncio.Task[_Robots]] = {}
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
            # The semaphores cap concurrent requests; the pool itself must not be the
            # bottleneck, or with more hosts than pool slots it closes idle connections
            # to one host to open another (measured: ~950 new connections for 1,000
            # feeds on 10 hosts, instead of 20).
            limits=httpx.Limits(
                max_connections=None,
                max_keepalive_connections=self.http.max_connections * 4,
            ),
        )
        return self

    async def __aexit__(self, *exc_info) -> None:
        assert self._client is not None
        await self._client.aclose()

    async def check_url(self, url: str) -> None:
        """Refuse non-http(s) URLs and, unless allowed, hosts that resolve to private addresses."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise _Refused(f"refused scheme {parts.scheme!r} (only http and https)")
        host = parts.hostname
        if not host:
            raise _Refused("URL has no host")
        if self.allow_private_networks is True:
            return
        try:
            addresses = [host] if _is_ip(host) else await _resolve(host, parts.port)
        except OSError as exc:
            raise _Unresolved(_dns_failure(host, exc)) from None
        for address in addresses:
            self._check_address(host, address)

    def _check_address(self, host: str, address: str) -> None:
        if _refused_address(address, self.allow_private_networks):
            raise _Refused(
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
            # robots.txt is awaited outside the page's own time limit: a slow robots.txt
            # must be reported as such, not as the page timing out.
            # (A URL with another scheme has no robots.txt; _fetch refuses it.)
            web = urlsplit(url).scheme in ("http", "https")
            robots = await self._robots_for(url) if self.robots_txt and web else _Robots()
            if robots.error:
                result.error, result.error_kind = robots.error, robots.error_kind
            elif robots.rules is not None and not robots.rules.can_fetch(self.http.agent, url):
                result.error, result.error_kind = "disallowed by robots.txt", "hard"
            else:
                await self._fetch(url, headers or {}, result)
        result.elapsed = time.perf_counter() - started
        if result.error:
            log.info("fetch %s failed: %s", url, result.error)
        return result

    async def _fetch(self, url: str, headers: dict[str, str], result: FetchResult) -> None:
        """_get within the total time limit; every failure ends up in result.error."""
        try:
            async with asyncio.timeout(self.http.total_timeout):
                await self._get(url, headers, result)
        except TimeoutError:
            result.error = f"timed out after {self.http.total_timeout:g}s"
            result.error_kind = "temporary"
        except _Unresolved as exc:  # the network may be down: as temporary as a refused connection
            result.error, result.error_kind = str(exc), "temporary"
        except FetchError as exc:
            result.error, result.error_kind = str(exc), "hard"
        except httpx.HTTPError as exc:
            result.error, result.error_kind = _describe(exc, url, self.http), "temporary"
        if result.error:
            result.content = None

    async def _get(
        self, url: str, headers: dict[str, str], result: FetchResult, truncate: bool = False
    ) -> None:
        assert self._client is not None, "use Fetcher as an async context manager"
        current = url
        for _hop in range(self.http.max_redirects + 1):
            await self.check_url(current)
            async with self._client.stream("GET", current, headers=headers) as response:
                # The name was checked before connecting; check the address actually
                # connected to as well, so a DNS answer that changed in between
                # (rebinding) cannot reach a private address.
                stream = response.extensions.get("network_stream")
                peer = stream.get_extra_info("server_addr") if stream else None
                if peer:
                    self._check_address(urlsplit(current).hostname or "", peer[0])
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
                    result.error_kind = _http_error_kind(response.status_code)
                    return
                result.content = await self._read_capped(response, truncate)
                return
        raise _TooManyRedirects(f"more than {self.http.max_redirects} redirects")

    async def _robots_for(self, url: str) -> _Robots:
        """The robots.txt verdict for the URL's site, read once per site and shared."""
        parts = urlsplit(url)
        site = f"{parts.scheme}://{parts.netloc}"
        if site not in self._robots:
            self._robots[site] = asyncio.ensure_future(self._load_robots(site))
        # Shielded: the read is shared by every page of the site, so one page being
        # cancelled must not cancel it for the others.
        return await asyncio.shield(self._robots[site])

    async def _load_robots(self, site: str) -> _Robots:
        """Read robots.txt as RFC 9309 says (section 2.3.1).

        2xx: follow its rules. 4xx ("unavailable", no file) or too many redirects: every
        path is allowed. 5xx or unreachable (DNS, refused, reset, timeout): nothing may be
        fetched now — a temporary state, put off until a later run, never a refusal.
        429 counts as 5xx here: it asks us to come back later, it does not say "no file".
        An unreachable site's pages carry the network's failure itself ('DNS lookup failed
        for ...', 'connection refused'): robots.txt is not the cause, the network is.
        """
        url = f"{site}/robots.txt"
        result = FetchResult(url=url)
        try:
            async with asyncio.timeout(self.http.total_timeout):
                # RFC 9309 2.5: a parser may stop at a size limit, so a long file is cut
                # at the body cap rather than refused.
                await self._get(url, {}, result, truncate=True)
        except TimeoutError:
            return _Robots(error=f"timed out after {self.http.total_timeout:g}s")
        except _TooManyRedirects:
            return _Robots()
        except _Unresolved as exc:
            return _Robots(error=str(exc))
        except FetchError as exc:  # our own policy (address, scheme): as hard as for the page
            return _Robots(error=f"robots.txt: {exc}", error_kind="hard")
        except httpx.HTTPError as exc:
            return _Robots(error=_describe(exc, url, self.http))
        status = result.status or 0
        if 400 <= status < 500 and status != 429:
            return _Robots()
        if not 200 <= status < 300 or result.content is None:
            log.info("robots.txt of %s: HTTP %s; not fetching its pages now", site, status)
            return _Robots(error=f"robots.txt: HTTP {status}")
        rules = RobotFileParser()
        rules.parse(result.content.decode("utf-8", "replace").splitlines())
        return _Robots(rules=rules)

    async def _read_capped(self, response: httpx.Response, truncate: bool = False) -> bytes:
        """The body up to the byte cap; beyond it, refused (or cut there with `truncate`)."""
        cap = self.http.max_body_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap and not truncate:
            raise _Refused(f"body of {int(declared)} bytes exceeds the {cap}-byte cap")
        chunks: list[bytes] = []
        size = 0
        # aiter_bytes yields decompressed data, so the cap also stops gzip bombs.
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > cap:
                if truncate:
                    chunks.append(chunk[: cap - size + len(chunk)])
                    break
                raise _Refused(f"body exceeds the {cap}-byte cap")
            chunks.append(chunk)
        return b"".join(chunks)


def _dns_failure(host: str, exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    return f"DNS lookup failed for {host}" + (f" ({reason})" if reason else "")


def _causes(exc: BaseException) -> Iterable[BaseException]:
    """The exception and those it wraps (httpx wraps httpcore, which wraps the socket's)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _describe(exc: httpx.HTTPError, url: str, http: HttpSettings) -> str:
    """A transport error in plain words: which step failed and why."""
    try:
        host = exc.request.url.host  # the hop that failed, which may follow a redirect
    except RuntimeError:  # no request attached
        host = urlsplit(url).hostname or url
    if isinstance(exc, httpx.ConnectTimeout):
        return f"connect timed out after {http.connect_timeout:g}s"
    if isinstance(exc, httpx.ReadTimeout):
        return f"read timed out after {http.read_timeout:g}s"
    if isinstance(exc, httpx.WriteTimeout):
        return f"write timed out after {http.read_timeout:g}s"
    if isinstance(exc, httpx.PoolTimeout):
        return "timed out waiting for a free connection"
    if isinstance(exc, httpx.ConnectError):
        for cause in _causes(exc):
            if isinstance(cause, socket.gaierror):
                return _dns_failure(host, cause)
            if isinstance(cause, ConnectionRefusedError):
                return "connection refused"
            if isinstance(cause, ConnectionResetError):
                return "connection reset while connecting"
            if isinstance(cause, OSError) and cause.errno == errno.EHOSTUNREACH:
                return f"no route to host {host}"
            if isinstance(cause, OSError) and cause.errno == errno.ENETUNREACH:
                return f"network unreachable for {host}"
        return f"connection to {host} failed: {exc}" if str(exc) else f"connection to {host} failed"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


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
    allow_private_networks: Networks = False,
    headers: dict[str, dict[str, str]] | None = None,
    robots_txt: bool = False,
) -> list[FetchResult]:
    """Fetch URLs concurrently (limits from settings); results in input order.

    `headers` maps a URL to extra request headers (conditional GET); with `robots_txt`
    each site's robots.txt is read once and disallowed URLs are not fetched.
    """
    urls = list(urls)
    headers = headers or {}

    async def run() -> list[FetchResult]:
        async with Fetcher(http, allow_private_networks, robots_txt) as fetcher:
            return await asyncio.gather(*(fetcher.get(u, headers.get(u)) for u in urls))

    if not urls:
        return []
    return asyncio.run(run())
