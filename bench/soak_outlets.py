"""The soak's outlets (bench/soak.py): five invented newsrooms, the articles they write, their
pages and their feeds. Every name is invented and every sentence written for the soak; the same
seed and number give the same article.
"""

from __future__ import annotations

import html
import random
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape

WINDOW = 30  # entries a feed lists, newest first

OUTLETS = {
    # id: (name, feed kind)
    "harbour-ledger": ("The Harbour Ledger", "rss-guid"),
    "northgate-courier": ("Northgate Courier", "rss-link"),
    "valley-wire": ("Valley Wire", "atom"),
    "meridian-post": ("Meridian Evening Post", "rss-permalink"),
    "kestrel-bulletin": ("Kestrel Bay Bulletin", "rss-tracking"),
}
PLACES = [
    "Port Alder",
    "Lindmoor",
    "Kestrel Bay",
    "Ashcombe",
    "Brackenford",
    "Wrenhaven",
    "Tollgate Cross",
    "Millbrook Quay",
    "Old Sarnby",
    "Hollowmere",
]
PEOPLE = [
    "Mara Quillon",
    "Tobias Reddane",
    "Ilse Marwick",
    "Osric Penhallow",
    "Dana Ferrowby",
    "Jonah Celver",
    "Priya Wendholm",
    "Lucan Ashdown",
    "Edda Thorncliffe",
    "Rafe Ullenby",
]
BODIES = [
    "the Harbour Board",
    "the county council",
    "the Ferry Operators' Guild",
    "the Regional Water Authority",
    "the Rail Users' Association",
    "the Lindmoor Library Trust",
    "the Chamber of Traders",
    "the coastguard station",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
BEATS = {
    "ferry": (
        [
            "{place} ferry to run {n} extra crossings a day",
            "Night ferry from {place} returns after repairs",
            "Fares on the {place} crossing to rise by {pct} per cent",
        ],
        [
            "{person}, who chairs {body}, said the new timetable would start on {weekday}.",
            "The crossing between {place} and {place2} takes about {mins} minutes in calm weather.",
            "Passengers said queues at the slipway in {place} had grown since the spring.",
            "{body} said it had spent {money} on a new loading ramp.",
            "The older of the two vessels will be kept in reserve for winter storms.",
        ],
    ),
    "flood": (
        [
            "Flood barrier at {place} closed for the {nth} time this year",
            "Residents of {place} asked to move cars from the river road",
            "{place} pumping station to get {money} upgrade",
        ],
        [
            "River levels at {place} rose by {n} centimetres overnight, {body} said.",
            "Volunteers filled {n}00 sandbags at the community hall on {weekday} evening.",
            "{person} said the barrier had worked as designed and no homes were flooded.",
            "Engineers expect the water to fall back within {n} days if the rain eases.",
            "The footpath along the embankment at {place2} stays shut until further notice.",
        ],
    ),
    "rail": (
        [
            "Signal fault halts trains between {place} and {place2}",
            "New station at {place} to open in the {season}",
            "Rail users in {place} call for a later last train",
        ],
        [
            "{body} said {n} services had been cancelled by mid-morning.",
            "Replacement buses ran from the forecourt at {place} every {mins} minutes.",
            "{person} told the meeting that the line carried {n},{n}00 journeys a week.",
            "The operator said the fault lay in a cable damaged during resurfacing work.",
            "A survey of commuters at {place2} found most would use a later service.",
        ],
    ),
    "festival": (
        [
            "{place} harbour festival draws {n},000 visitors",
            "Lantern parade returns to {place} after a year away",
            "Organisers of the {place} folk weekend name the first acts",
        ],
        [
            "Stalls lined the quay at {place} from early morning on {weekday}.",
            "{person} said the lantern workshop had been booked out within {n} hours.",
            "{body} closed two streets in the old town for the parade.",
            "The weekend raised {money} for the lifeboat crew at {place2}.",
            "Next year's festival will move to the last week of the {season}.",
        ],
    ),
    "library": (
        [
            "{place} library to extend its opening hours",
            "Mobile library van to visit {n} villages around {place}",
            "Reading room at {place} reopens after roof repairs",
        ],
        [
            "{body} said the branch at {place} would open until eight on {weekday}s.",
            "Loans rose by {pct} per cent over the past year, the trust's report shows.",
            "{person} said the van would stop at {place2} every second {weekday}.",
            "The repairs cost {money}, most of it covered by a heritage grant.",
            "A local history archive will move into the reading room in the {season}.",
        ],
    ),
    "market": (
        [
            "Fish market at {place} to move to the east quay",
            "Traders in {place} report a busy {season}",
            "{place} market hall to get new roof and stalls",
        ],
        [
            "{body} said the move would free the west quay for visiting boats.",
            "{person}, a trader for {n} years, said takings were the best since the bypass opened.",
            "The hall will close for {n} weeks while the roof is replaced.",
            "Stallholders at {place2} will keep their pitches at the old rent until the {season}.",
            "The council expects the work to cost about {money}.",
        ],
    ),
}
COMMON = [
    "The figures were set out in a report to {body} on {weekday}.",
    "{person} said further details would follow after the next meeting.",
    "A spokesperson for {body} said the plans would be reviewed in the {season}.",
    "Residents can comment on the proposals at the town hall in {place} until the end of the month.",
    "The {outlet} asked {body} how the work would be paid for.",
]
SEASONS = ["spring", "summer", "autumn", "winter"]


@dataclass
class Item:
    """One article as an outlet publishes it: an entry in its feed and a page."""

    outlet: str
    number: int  # global: all outlets share one host, so URL article ids must not collide
    slug: str
    title: str
    summary: str
    paragraphs: list[str]
    published: datetime
    revision: int = 1
    short: bool = False  # the page gives too little text: the feed summary is kept

    @property
    def path(self) -> str:
        return f"/{self.outlet}/news/{self.slug}-{self.number}"


def _fill(rng: random.Random, template: str, outlet: str, place: str) -> str:
    place2 = rng.choice([p for p in PLACES if p != place])
    return template.format(
        place=place,
        place2=place2,
        person=rng.choice(PEOPLE),
        body=rng.choice(BODIES),
        weekday=rng.choice(WEEKDAYS),
        season=rng.choice(SEASONS),
        n=rng.randint(2, 9),
        nth=rng.choice(["third", "fourth", "fifth", "sixth"]),
        pct=rng.randint(3, 18),
        mins=rng.choice([20, 25, 35, 40, 45]),
        money=f"£{rng.randint(12, 480)},000",
        outlet=OUTLETS[outlet][0],
    )


def write_item(seed: int, outlet: str, number: int, published: datetime) -> Item:
    """An article of `outlet`, the same for the same seed and number."""
    rng = random.Random(f"{seed}:{number}")
    titles, lines = BEATS[rng.choice(sorted(BEATS))]
    place = rng.choice(PLACES)
    title = _fill(rng, rng.choice(titles), outlet, place)
    chosen = rng.sample(lines, k=4) + rng.sample(COMMON, k=2)
    rng.shuffle(chosen)
    sentences = [_fill(rng, line, outlet, place) for line in chosen]
    paragraphs = [" ".join(sentences[i : i + 2]) for i in range(0, len(sentences), 2)]
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60]
    return Item(
        outlet=outlet,
        number=number,
        slug=slug,
        title=title,
        summary=sentences[0],
        paragraphs=paragraphs,
        published=published,
        short=rng.random() < 0.05,
    )


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | {outlet}</title>
<link rel="canonical" href="{url}"><meta property="og:site_name" content="{outlet}">
<meta property="article:published_time" content="{iso}"></head>
<body><header><a class="logo" href="/{outlet_id}/">{outlet}</a>
<nav><a href="/{outlet_id}/local">Local</a> <a href="/{outlet_id}/sport">Sport</a>
<a href="/{outlet_id}/weather">Weather</a> <a href="/{outlet_id}/notices">Notices</a></nav></header>
<main><article><h1>{title}</h1><p class="byline">By {author}, {outlet}</p>
<time datetime="{iso}">{date}</time>
{body}
</article>
<aside><h2>Most read</h2><ul><li><a href="/{outlet_id}/">Tide tables for the week</a></li>
<li><a href="/{outlet_id}/">Letters: the bypass, again</a></li></ul></aside></main>
<footer><p>&copy; {outlet}. Sign up to our morning newsletter.</p></footer></body></html>"""


def render_page(item: Item, base: str) -> bytes:
    """The article page; a short one holds a teaser only."""
    paragraphs = item.paragraphs[:1] if item.short else item.paragraphs
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    if item.short:
        body = f"<p>{html.escape(item.title)}.</p><p>Subscribe to read on.</p>"
    return PAGE.format(
        title=html.escape(item.title),
        outlet=html.escape(OUTLETS[item.outlet][0]),
        outlet_id=item.outlet,
        url=html.escape(base + item.path),
        iso=item.published.isoformat(timespec="seconds"),
        date=item.published.strftime("%d %B %Y"),
        author=html.escape(PEOPLE[item.number % len(PEOPLE)]),
        body=body,
    ).encode()


def render_feed(outlet: str, items: list[Item], base: str) -> bytes:
    """The outlet's feed: its newest WINDOW items, in the outlet's own format."""
    name, kind = OUTLETS[outlet]
    listed = sorted(items, key=lambda i: i.number, reverse=True)[:WINDOW]
    if kind == "atom":
        entries = "".join(
            f"<entry><title>{escape(i.title)}</title>"
            f'<link rel="alternate" href="{escape(base + i.path)}"/>'
            f"<id>tag:{outlet}.invalid,2025:{i.number}</id>"
            f"<updated>{i.published.isoformat(timespec='seconds')}</updated>"
            f"<summary>{escape(i.summary)}</summary></entry>"
            for i in listed
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<feed xmlns="http://www.w3.org/2005/Atom"><title>{escape(name)}</title>'
            f"<id>tag:{outlet}.invalid,2025:feed</id>"
            f'<link rel="alternate" href="{escape(base)}/{outlet}/"/>{entries}</feed>'
        ).encode()
    parts = []
    for i in listed:
        link = base + i.path + ("?ref=rss" if kind == "rss-tracking" else "")
        guid = {
            "rss-guid": f'<guid isPermaLink="false">{outlet}-{i.number}</guid>',
            "rss-permalink": f"<guid>{escape(link)}</guid>",
        }.get(kind, "")
        parts.append(
            f"<item><title>{escape(i.title)}</title><link>{escape(link)}</link>{guid}"
            f"<pubDate>{format_datetime(i.published)}</pubDate>"
            f"<description>{escape(i.summary)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(name)}</title><link>{escape(base)}/{outlet}/</link>"
        f"<description>News from {escape(name)}</description>{''.join(parts)}</channel></rss>"
    ).encode()
