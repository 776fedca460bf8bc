"""Developments: typed events (talks, ceasefires, exchanges, sanctions ...) found in report sentences.

A development is one event named in one sentence: its kind (from the taxonomy data file, mapped to
a PLOVER category and mode), the stance the sentence takes on it (proposed, agreed, rejected,
occurred, called for, denied), its actors and recipients (entities from the entity stage), its
quantity, place and date, and the sentence itself with its character offsets as evidence.

It is rule-based and local: spaCy's dependency parse and lemmas (the model the entity stage
uses, loaded with its parser and lemmatizer) plus the cue lists of `taxonomy.yaml`; nothing
leaves the machine. See bench/eval_developments.py for how well it does.

Only some sentences are parsed. The entity stage's NER pass gives tokens, entities and sentence
starts (the model's small `senter`); a sentence is parsed, as a Doc of its own, only when one of
the taxonomy's triggers could match in it - its words stand there in a form the lemmatizer could
read as them, with the context the trigger requires. Most sentences of news pages hold none,
and the parse (tok2vec, tagger, parser, lemmas) costs more than the recogniser.

How one sentence is read:
1. Triggers (taxonomy lemmas and Matcher patterns) propose candidate events; a trigger that is
   only a noun modifier ("sanctions lawyer"), lacks its required context ("release" without
   prisoners) or sits in a question is dropped.
2. From the trigger the parse is climbed to the clause's governing verbs (not across coordinated,
   adverbial or relative clauses, out of a setting such as "after the strikes", out of a past
   clause that reports rather than is agreed, nor above a reporting verb). The outermost stance cue
   on that chain decides the stance ("Europe urged Russia to accept a ceasefire": called_for);
   negation flips agreement to rejection ("ended without agreement on a ceasefire": rejected);
   a hypothetical cue (if, whether, could, any ...) not outranked by a stance cue drops the
   candidate; an event in the complement of a threat is left to the `threat` kind.
3. Actors are the entities in the subject (or `by` agent, or possessor) of the verb carrying the
   stance; recipients those in its objects and `to/with/on/against` phrases; bilateral events
   that happened or were agreed take both sides as actors. The title before a person's name is
   not another party ("Italian Finance Minister X"); who is accused of an event ("accused Israel
   of bombarding") or claimed it ("for which Daesh claimed responsibility") did it; an event that
   is itself the subject of its verb takes no other subject as its doer.
4. The quantity is the number attached to one of the kind's unit nouns in the trigger's phrase
   (or clause); the date is the explicit date attached to that chain, resolved against the
   article's date ("on Friday", "16 May"), else the article's date. An event that has not
   happened (proposed, called for, agreed, rejected) also gets `scheduled_for`, the day the
   sentence gives for it, read forward ("talks on Sunday" in a Friday article: that Sunday;
   under "proposed on Sunday", forward from that Sunday).
One development per kind per sentence is kept: the best-supported reading.

The stage in its steps: `taxonomy` (the kinds, triggers and cues of `taxonomy.yaml`, compiled),
`sentence_filter` (which sentences to parse), `senses` (a trigger used in another sense: a
mishap, a figure of speech, an offence in a charge, a private meeting, a sports round),
`reading` (one sentence: candidates and their
clause chains - the `DevelopmentExtractor`, with its two readers `stance` and `details`: roles,
place, quantity, dates), `model` (what it returns), and under them `grammar` (clauses, negation,
noun phrases and their entities) and `numbers` (counts, sums and dates).
"""

from __future__ import annotations

from newsmon.developments.reading import Development, DevelopmentExtractor
from newsmon.developments.taxonomy import (
    CUE_KINDS,
    DEFAULT_TAXONOMY,
    PLOVER_CATEGORIES,
    STANCES,
    Cues,
    Kind,
    Plover,
    PloverCategory,
    Stance,
    Taxonomy,
    Trigger,
    default_taxonomy_path,
    load_taxonomy,
    parse_taxonomy,
)

__all__ = [
    "CUE_KINDS",
    "DEFAULT_TAXONOMY",
    "PLOVER_CATEGORIES",
    "STANCES",
    "Cues",
    "Development",
    "DevelopmentExtractor",
    "Kind",
    "Plover",
    "PloverCategory",
    "Stance",
    "Taxonomy",
    "Trigger",
    "default_taxonomy_path",
    "load_taxonomy",
    "parse_taxonomy",
]
