"""Text analysis of a batch: the entity stage, then the development stage, on one spaCy model.

It sits above both stages (it imports each; neither imports it), so `entities` and
`developments` do not import each other.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from newsmon.config import NlpSettings, Topic
from newsmon.developments import DevelopmentExtractor
from newsmon.entities.extractor import EntityExtractor, _per_process
from newsmon.entities.merge import one_kind_per_batch
from newsmon.entities.model import ArticleEntities, load_model


class TextAnalyser:
    """Entities and developments of articles: NER over each whole text, the parse where it counts.

    One model serves both stages in two passes. The NER pass runs the small `senter` and the
    recogniser (its own tok2vec: no tagger, parser or lemmatizer) over each whole text; the
    development stage then parses only the sentences that could hold a development (a trigger
    word in some form, with its required context), each on its own. On the benchmark's news
    pages that is one sentence in twenty; the parse pipeline costs more per token than NER.
    """

    def __init__(self, topics: list[Topic], settings: NlpSettings, taxonomy: str | None = None):
        self.settings = settings
        self.nlp = load_model(settings.models)  # the full pipeline: developments need the parse
        self.entities = EntityExtractor(topics, settings, nlp=self.nlp)
        self.developments = DevelopmentExtractor(self.nlp, taxonomy, settings=settings)

    def analyse(self, texts: list[str], published: list) -> Iterator[ArticleEntities]:
        """Entities, topics and developments of each text, in order."""
        docs = self.developments.ner_docs(
            (t[: self.settings.max_chars] for t in texts), n_process=self.settings.processes
        )
        size = self.settings.batch_size
        for first in range(0, len(texts), size):
            batch = list(itertools.islice(docs, size))
            found = [self.entities.from_doc(doc) for doc in batch]
            one_kind_per_batch(found)
            days = published[first : first + size]
            for article, developments in zip(
                found, self.developments.from_ner_docs(batch, found, days), strict=True
            ):
                article.developments = developments
                yield article


def analyser_for(topics: list[Topic], settings: NlpSettings) -> TextAnalyser:
    """The entity + development analyser (full model) for this configuration, once per process."""
    return _per_process(TextAnalyser, topics, settings)
