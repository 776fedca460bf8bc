"""Entities: watch-list matching and NER discovery, with one canonical name per entity.

The stage in its steps: `model` (the entity types and the spaCy model: the floor under the
NLP stages), `names` (a name alone: countries, gazetteers, titles, legal forms, acronyms),
`layout` (headlines, datelines, running text), `context` (the words around a name), `merge`
(short forms joining their full name, one kind per name in a batch), `extractor` (the pass
over an article, in that order).
"""

from __future__ import annotations

from newsmon.entities.extractor import (
    LABEL_KIND,
    EntityExtractor,
    article_text,
    extractor_for,
    roles,
)
from newsmon.entities.model import (
    _MODELS,
    KINDS,
    ArticleEntities,
    EntityRef,
    Mention,
    entity_id,
    load_model,
    ner_pass,
    ner_pass_excludes,
    sentence_splitter,
    use_numpy_gemm,
)
from newsmon.entities.names import country_code, country_name

__all__ = [
    "KINDS",
    "LABEL_KIND",
    "_MODELS",
    "ArticleEntities",
    "EntityExtractor",
    "EntityRef",
    "Mention",
    "article_text",
    "country_code",
    "country_name",
    "entity_id",
    "extractor_for",
    "load_model",
    "ner_pass",
    "ner_pass_excludes",
    "roles",
    "sentence_splitter",
    "use_numpy_gemm",
]
