"""The offline demo: the bundled corpus served on a loopback port, ready for one poll cycle."""

from __future__ import annotations

import errno
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from newsmon.demo.corpus import Corpus, load_corpus, routes, sources_yaml
from newsmon.demo.server import StaticSite

log = logging.getLogger(__name__)

# A fixed port keeps the demo's URLs (and so its article identities) the same from
# one `make demo` to the next, so a second demo run adds nothing.
DEFAULT_PORT = 8765


@contextmanager
def serve_corpus(port: int = DEFAULT_PORT) -> Iterator[tuple[StaticSite, Corpus]]:
    """Serve the corpus on 127.0.0.1:port (a free port if that one is taken)."""
    corpus = load_corpus()
    try:
        site = StaticSite(port=port)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        log.warning("port %d is busy; serving the demo on a free port instead", port)
        site = StaticSite(port=0)
    site.routes.update(routes(corpus, site.base_url))
    with site:
        yield site, corpus


def write_sources(
    path: Path, site: StaticSite, corpus: Corpus, warehouse: Path, topics: list[dict] | None = None
) -> Path:
    """Write the sources file that points newsmon at the served corpus (with these topics)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = sources_yaml(corpus, site.base_url, str(warehouse.resolve()), topics)
    path.write_text(text, encoding="utf-8")
    return path
