-- Entities (watch-list and discovered), their aliases, mentions per article, and the
-- topics each article belongs to. See warehouse/README.md.

CREATE TABLE entities (
    entity_id     VARCHAR PRIMARY KEY,   -- 16 hex digits of SHA-256 over kind and name
    name          VARCHAR NOT NULL,      -- the canonical name
    kind          VARCHAR NOT NULL CHECK (kind IN ('person', 'organisation', 'country', 'place')),
    source        VARCHAR NOT NULL,      -- 'watchlist' | 'ner'
    role          VARCHAR,
    first_seen_at TIMESTAMP
);

CREATE TABLE entity_aliases (
    alias     VARCHAR NOT NULL,          -- a surface form seen in text or listed in sources.yaml
    entity_id VARCHAR NOT NULL,
    PRIMARY KEY (alias, entity_id)
);

CREATE TABLE mentions (
    article_id   VARCHAR NOT NULL,
    entity_id    VARCHAR NOT NULL,
    count        INTEGER NOT NULL,
    first_offset INTEGER,                -- character offset of the first mention in title + text
    PRIMARY KEY (article_id, entity_id)
);

CREATE TABLE article_topics (
    article_id VARCHAR NOT NULL,
    topic      VARCHAR NOT NULL,
    score      DOUBLE NOT NULL,          -- watch-list entities + keywords found
    PRIMARY KEY (article_id, topic)
);

ALTER TABLE runs ADD COLUMN entities_new INTEGER DEFAULT 0;
