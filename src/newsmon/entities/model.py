"""The floor under the NLP stages: entity types and the spaCy model (no stage logic here).

`developments` reads these types and the NER pass; keeping them apart from the extractor
lets both stages import them without importing each other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

KINDS = ("person", "organisation", "country", "place")


def entity_id(kind: str, name: str) -> str:
    """A stable id for an entity: its kind and case-folded canonical name."""
    return hashlib.sha256(f"{kind}:{name.casefold()}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class EntityRef:
    """An entity as the extractor names it, before it is matched with stored entities."""

    name: str
    kind: str
    source: str  # 'watchlist' | 'ner'

    @property
    def id(self) -> str:
        return entity_id(self.kind, self.name)


@dataclass
class Mention:
    """All mentions of one entity in one article."""

    entity: EntityRef
    count: int
    first_offset: int
    surfaces: set[str] = field(default_factory=set)
    # (start, end) character offsets of every mention, for stages that work by sentence.
    spans: list[tuple[int, int]] = field(default_factory=list)
    # Other names of the article that joined this entity, and why: {"IMF": "acronym"}.
    joined: dict[str, str] = field(default_factory=dict)


@dataclass
class ArticleEntities:
    """What the entity stage found in one article."""

    mentions: list[Mention]
    topics: dict[str, float]  # topic id -> score, only topics that pass their threshold
    developments: list = field(default_factory=list)  # newsmon.developments.Development


def ner_pass(nlp, texts: Iterable[str], batch_size: int, n_process: int = 1) -> Iterator:
    """Docs with tokens, sentence starts and entities, no parse: the recogniser after `senter`.

    Sentence starts come first because the recogniser keeps an entity inside a sentence: behind
    the parser of the full pipeline "18. | September" are two dates, and so they are here.
    """
    split = sentence_splitter(nlp).pipe(
        nlp.tokenizer.pipe(texts, batch_size=batch_size), batch_size=batch_size
    )
    return nlp.pipe(
        split, batch_size=batch_size, disable=ner_pass_excludes(nlp), n_process=n_process
    )


def sentence_splitter(nlp):
    """The model's `senter` (its own small tok2vec; enabled or not), else punctuation rules."""
    if "senter" in nlp.component_names:
        shared = nlp.get_pipe("tok2vec") if "tok2vec" in nlp.component_names else None
        if shared is None or "senter" not in shared.listening_components:
            return nlp.get_pipe("senter")
    from spacy.pipeline import Sentencizer

    return Sentencizer()


def ner_pass_excludes(nlp) -> list[str]:
    """The enabled components the recogniser does not need: all but `ner` and what it listens to.

    In en_core_web_sm the recogniser has its own tok2vec; the shared one only feeds the tagger
    and the parser, so a NER pass leaves it out with them.
    """
    needed = {"ner"}
    if "tok2vec" in nlp.pipe_names and "ner" in nlp.get_pipe("tok2vec").listening_components:
        needed.add("tok2vec")
    return [name for name in nlp.pipe_names if name not in needed]


_MODELS: dict[tuple[tuple[str, ...], tuple[str, ...]], Any] = {}


def load_model(packages: Iterable[str], exclude: Iterable[str] = ()):
    """The first installed spaCy model package of `packages`, loaded once per process.

    Analysers of different watch lists share it: none changes the pipeline it is given (the
    NER-only extractor drops an idle tok2vec, from the copy loaded without the parser, once).
    Process workers forked after flows/preload.py loaded it start with it in memory.
    """
    key = (tuple(packages), tuple(exclude))
    if key in _MODELS:
        return _MODELS[key]
    import spacy  # imported here: loading spaCy costs a second, only the NLP stages need it

    tried = []
    for package in key[0]:
        try:
            nlp = spacy.load(package, exclude=list(key[1]))
        except OSError:
            tried.append(package)
            continue
        _MODELS[key] = use_numpy_gemm(nlp)
        return _MODELS[key]
    raise RuntimeError(f"no spaCy model installed (tried {', '.join(tried)}); see README")


def use_numpy_gemm(nlp):
    """Run the model's matrix products through numpy's OpenBLAS, on one thread, not blis.

    thinc multiplies with blis by default; numpy's OpenBLAS held to one thread does the same
    products in less CPU time on this project's machine, with the same entities and
    developments (bench/bench_pipeline.py prints the NLP stage's CPU per article). One
    thread, because newsmon runs a process per core: OpenBLAS's own threads would compete
    with the other workers (and cost more CPU).
    The limit applies to the whole process, which does no other large matrix work.
    """
    from thinc.api import NumpyOps
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
    ops = NumpyOps(use_blis=False)
    for _, component in nlp.components:
        model = getattr(component, "model", None)
        if model is not None:
            model._to_ops(ops)
    return nlp
