"""The bundled demo corpus: invented outlets, their article pages and their RSS/Atom feeds."""

from __future__ import annotations

import dataclasses
import html
import logging
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from importlib import resources
from string import Template
from xml.sax.saxutils import escape

import yaml

from newsmon.demo.server import Response

log = logging.getLogger(__name__)

_HERE = resources.files("newsmon.demo")


@dataclass
class Outlet:
    id: str
    name: str
    feed_format: str
    template: str
    language: str
    tagline: str


@dataclass
class DemoArticle:
    id: str
    outlet: str
    path: str
    title: str
    author: str
    published: datetime
    summary: str
    tags: list[str]
    body: str
    syndicated_from: str | None = None
    update_of: str | None = None
    page: str = "ok"
    comments: list[dict] | None = None
    # The article as its outlet first published it (title, summary, body) before updating
    # it in place at the same address.
    first_edition: dict | None = None

    def __post_init__(self) -> None:
        extra = set(self.first_edition or {}) - {"title", "summary", "body"}
        if extra:
            raise ValueError(f"{self.id}: first_edition can set title, summary, body, not {extra}")


@dataclass
class Corpus:
    outlets: dict[str, Outlet]
    articles: list[DemoArticle]

    def by_outlet(self, outlet_id: str) -> list[DemoArticle]:
        return [a for a in self.articles if a.outlet == outlet_id]

    def first_editions(self) -> Corpus:
        """The corpus as first published: articles updated in place in their first edition."""
        return Corpus(
            self.outlets,
            [
                dataclasses.replace(a, **a.first_edition) if a.first_edition else a
                for a in self.articles
            ],
        )


def load_corpus() -> Corpus:
    """Read corpus.yaml; syndicated copies without a body of their own get the original's."""
    data = yaml.safe_load((_HERE / "corpus.yaml").read_text(encoding="utf-8"))
    outlets = {o["id"]: Outlet(**o) for o in data["outlets"]}
    articles = [
        DemoArticle(**a) if "body" in a else DemoArticle(body="", **a) for a in data["articles"]
    ]
    by_id = {a.id: a for a in articles}
    for article in articles:
        if article.syndicated_from and not article.body:
            article.body = by_id[article.syndicated_from].body
    return Corpus(outlets, articles)


def _paragraphs(body: str) -> str:
    parts = [" ".join(p.split()) for p in body.strip().split("\n\n") if p.strip()]
    return "\n".join(f"<p>{html.escape(p)}</p>" for p in parts)


def _comments(comments: list[dict] | None) -> str:
    blocks = []
    for c in comments or []:
        blocks.append(
            '<div class="comment"><p class="comment-author">'
            f'{html.escape(c["author"])}</p><p class="comment-text">{html.escape(c["text"])}</p></div>'
        )
    return "\n".join(blocks)


def render_page(corpus: Corpus, article: DemoArticle, base_url: str) -> Response:
    """The HTML page of one article in its outlet's template."""
    if article.page == "missing":
        return Response(b"<html><body><h1>Page not found</h1></body></html>", 404)
    outlet = corpus.outlets[article.outlet]
    template = Template(
        (_HERE / "templates" / f"{outlet.template}.html").read_text(encoding="utf-8")
    )
    others = [a for a in corpus.by_outlet(outlet.id) if a.id != article.id and a.page != "missing"][
        :4
    ]
    related = (
        "<ul>\n"
        + "\n".join(
            f'<li><a href="{base_url}/{outlet.id}{a.path}">{html.escape(a.title)}</a></li>'
            for a in others
        )
        + "\n</ul>"
    )
    body = article.body if article.page != "stub" else article.body.split("\n\n")[0]
    page = template.substitute(
        title=html.escape(article.title),
        outlet_name=html.escape(outlet.name),
        tagline=html.escape(outlet.tagline),
        author=html.escape(article.author),
        published_iso=article.published.isoformat(),
        published_human=article.published.strftime("%d %B %Y, %H:%M UTC"),
        canonical_url=f"{base_url}/{outlet.id}{article.path}",
        description=html.escape(article.summary),
        body_html=_paragraphs(body),
        related_html=related,
        comments_html=_comments(article.comments),
        lang=outlet.language,
    )
    return Response(page.encode("utf-8"))


def render_feed(corpus: Corpus, outlet: Outlet, base_url: str) -> Response:
    """The outlet's RSS 2.0 or Atom feed, newest first."""
    articles = sorted(corpus.by_outlet(outlet.id), key=lambda a: a.published, reverse=True)
    home = f"{base_url}/{outlet.id}/"
    if outlet.feed_format == "atom":
        entries = "".join(
            f"""
  <entry>
    <id>tag:{outlet.id}.example,2025:{a.id}</id>
    <title>{escape(a.title)}</title>
    <link rel="alternate" type="text/html" href="{escape(home + a.path.lstrip("/"))}"/>
    <published>{a.published.isoformat()}</published>
    <updated>{a.published.isoformat()}</updated>
    <author><name>{escape(a.author)}</name></author>
    <summary type="html">{escape("<p>" + html.escape(a.summary) + "</p>")}</summary>
    {"".join(f'<category term="{escape(t)}"/>' for t in a.tags)}
  </entry>"""
            for a in articles
        )
        updated = articles[0].published.isoformat() if articles else "2025-06-05T00:00:00+00:00"
        xml = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{outlet.language}">
  <id>tag:{outlet.id}.example,2025:feed</id>
  <title>{escape(outlet.name)}</title>
  <subtitle>{escape(outlet.tagline)}</subtitle>
  <link rel="self" href="{escape(home)}feed.xml"/>
  <link rel="alternate" href="{escape(home)}"/>
  <updated>{updated}</updated>{entries}
</feed>
"""
        return Response(xml.encode("utf-8"), content_type="application/atom+xml; charset=utf-8")
    items = "".join(
        f"""
    <item>
      <title>{escape(a.title)}</title>
      <link>{escape(home + a.path.lstrip("/"))}</link>
      <guid isPermaLink="true">{escape(home + a.path.lstrip("/"))}</guid>
      <pubDate>{format_datetime(a.published)}</pubDate>
      <dc:creator>{escape(a.author)}</dc:creator>
      <description>{escape(a.summary)}</description>
      {"".join(f"<category>{escape(t)}</category>" for t in a.tags)}
    </item>"""
        for a in articles
    )
    xml = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>{escape(outlet.name)}</title>
    <link>{escape(home)}</link>
    <description>{escape(outlet.tagline)}</description>
    <language>{outlet.language}</language>{items}
  </channel>
</rss>
"""
    return Response(xml.encode("utf-8"), content_type="application/rss+xml; charset=utf-8")


def routes(corpus: Corpus, base_url: str) -> dict[str, Response]:
    """Every path of the demo site: /<outlet>/feed.xml and /<outlet><article path>."""
    out: dict[str, Response] = {}
    for outlet in corpus.outlets.values():
        out[f"/{outlet.id}/feed.xml"] = render_feed(corpus, outlet, base_url)
    for article in corpus.articles:
        out[f"/{article.outlet}{article.path}"] = render_page(corpus, article, base_url)
    return out


def sources_yaml(
    corpus: Corpus, base_url: str, warehouse: str, topics: list[dict] | None = None
) -> str:
    """A sources file listing the demo feeds (loopback, so private networks are allowed)."""
    data = {
        "feeds": [
            {
                "id": outlet.id,
                "name": outlet.name,
                "url": f"{base_url}/{outlet.id}/feed.xml",
                "language": outlet.language,
                "tags": ["demo"],
            }
            for outlet in corpus.outlets.values()
        ],
        "topics": topics or [],
        "settings": {"warehouse": warehouse, "allow_private_networks": True},
    }
    header = "# Written by `newsmon demo`: the bundled corpus served on loopback.\n"
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
