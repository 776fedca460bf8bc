"""The article's layout: headline lines, datelines and running text, and names cut to fit them.

A headline in title case or a line in capitals capitalises every word, so the recogniser
finds names there that are not names ("Begin Amid Doubt", "Latvia Advises"); a dateline
("MIAMI - Pat Riley said...") runs into the sentence after it; a name does not run across a
line break ("bin HOUSTON - Five").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_WORD = re.compile(r"[^\W\d_]{4,}")
# A dateline at the start of a line: a place in capitals, an optional region ("BAGHDAD, Iraq",
# "TUSCALOOSA, Ala."), an optional agency ("(Reuters)"), then a dash.
_DATELINE = re.compile(
    r"(?P<place>[A-Z][A-Z'’.-]+(?: [A-Z][A-Z'’.-]+){0,3})"
    r"(?:,\s+(?P<region>[A-Z][\w.]*(?: [A-Z][\w.]*)?))?"
    r"\s*(?:\([^)\n]{1,30}\)\s*)?(?:-{1,2}|–|—)\s"
)
# A person's name does not hold a comma, unless a suffix follows: "Martin Luther King, Jr.".
_NAME_SUFFIX = re.compile(r"(?:jr|sr|ii|iii|iv)\.?", re.IGNORECASE)


def headline_line(line: str) -> bool:
    """A line in title case (fewer than one in four words of four letters or more in lower
    case: "Colts Beat Chiefs") or in capitals: its capitals do not mark names."""
    words = _WORD.findall(line)
    if not words:
        return False
    if sum(w.isupper() for w in words) * 2 > len(words):
        return True
    return sum(w[0].islower() for w in words) * 4 < len(words)


@dataclass
class Dateline:
    """A dateline's place ("BAGHDAD") and its optional region ("Iraq"), as character spans."""

    place: tuple[int, int]
    region: tuple[int, int] | None
    end: int  # where the running text starts, after the dash


@dataclass
class Layout:
    """Which lines of a text are headlines, where its datelines are, and its running text."""

    text: str
    headlines: list[tuple[int, int]] = field(default_factory=list)  # char ranges
    datelines: list[Dateline] = field(default_factory=list)
    running: str = ""

    @classmethod
    def of(cls, text: str) -> Layout:
        """The layout of `text`, line by line."""
        layout = cls(text)
        running, start = [], 0
        for line in text.split("\n"):
            end = start + len(line)
            if headline_line(line):
                layout.headlines.append((start, end))
            else:
                running.append(line)
            match = _DATELINE.match(line)
            if match and len(match.group("place").replace(".", "")) > 1:
                region = match.span("region") if match.group("region") else None
                layout.datelines.append(
                    Dateline(
                        (start + match.start("place"), start + match.end("place")),
                        region and (start + region[0], start + region[1]),
                        start + match.end(),
                    )
                )
            start = end + 1
        layout.running = "\n".join(running)
        return layout

    def in_headline(self, start: int, end: int) -> bool:
        """The span lies on a headline line (title case or capitals)."""
        return any(lo <= start and end <= hi for lo, hi in self.headlines)

    def in_running_text(self, name: str) -> bool:
        """`name` is written, capitalised as here, in the running text, not only as the first
        word of a sentence ("Doubt grows" does not confirm "Begin Amid Doubt")."""
        if len(name) < 2:
            return False
        text = self.running
        for match in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text):
            before = text[: match.start()].rstrip(" \"'“‘(")
            if before and before[-1] not in ".!?:\n":
                return True
        return False

    def pieces(self, ent, person: bool = False) -> list:
        """`ent` cut at line breaks, at a dateline's dash, and a person (or, with `person`, a
        name found to be one) at a comma: "Timberlake, Diaz" are two. The parts that can each
        be a name (spaCy Spans, same label; empty parts dropped)."""
        from spacy.tokens import Span

        doc = ent.doc
        cuts = []
        for token in ent:
            comma = (
                (ent.label_ == "PERSON" or person)
                and token.text == ","
                and not (token.i + 1 < ent.end and _NAME_SUFFIX.fullmatch(doc[token.i + 1].text))
            )
            if comma or "\n" in token.text:
                cuts.append(token.i)
        for dateline in self.datelines:
            if ent.start_char < dateline.end and dateline.place[0] < ent.end_char:
                cuts += [t.i for t in ent if t.idx < dateline.end]
        if not cuts:
            return [ent]
        out, start = [], ent.start
        for cut in sorted(set(cuts)):
            if cut > start:
                out.append(Span(doc, start, cut, label=ent.label_))
            start = max(start, cut + 1)
        if start < ent.end:
            out.append(Span(doc, start, ent.end, label=ent.label_))
        return [s for s in out if not s.text.isspace() and not all(t.is_punct for t in s)]
