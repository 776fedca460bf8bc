"""A small real HTTP server on loopback that serves a fixed set of routes (demo and tests)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

log = logging.getLogger(__name__)


@dataclass
class Response:
    """A canned response."""

    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


# A route is a canned Response or a function that writes to the handler itself
# (for slow, endless or malformed answers in tests).
Route = Response | Callable[[BaseHTTPRequestHandler], None]


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # Clients that hang up early (timeouts, caps) are expected here, not worth a traceback.
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class StaticSite:
    """Serve `routes` (path -> Route) on a loopback address; use as a context manager."""

    def __init__(
        self, routes: dict[str, Route] | None = None, port: int = 0, host: str = "127.0.0.1"
    ):
        self.routes: dict[str, Route] = dict(routes or {})
        self.requests: list[tuple[str, dict[str, str]]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                path = urlsplit(self.path).path
                site.requests.append((self.path, dict(self.headers)))
                route = site.routes.get(path) or site.routes.get(self.path)
                if route is None:
                    route = Response(b"not found", 404, "text/plain")
                if callable(route):
                    route(self)
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(route.body)

            def log_message(self, format: str, *args) -> None:  # noqa: A002
                log.debug("%s " + format, self.address_string(), *args)

        self.host = host
        self._server = _QuietServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        """Absolute URL of a path on this site."""
        return self.base_url + path

    def __enter__(self) -> StaticSite:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
