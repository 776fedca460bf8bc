-- Storylines: events (stories) linked over weeks through shared entities and words
-- (newsmon.storylines). Each story is linked once, when it is first stored; the link keeps
-- its score and what the story shares with the storyline. Stories stored before this
-- migration get their storylines from `newsmon reprocess`. See warehouse/README.md.

CREATE TABLE storylines (
    storyline_id  VARCHAR PRIMARY KEY,   -- the story_id of its first event
    title         VARCHAR,               -- the title of its largest event
    first_seen_at TIMESTAMP,
    last_seen_at  TIMESTAMP,
    event_count   INTEGER NOT NULL DEFAULT 0,
    article_count INTEGER NOT NULL DEFAULT 0,
    outlet_count  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE storyline_links (
    story_id     VARCHAR PRIMARY KEY,
    storyline_id VARCHAR NOT NULL,
    score        DOUBLE,                 -- 1.0 for the event that opened the storyline
    shared       VARCHAR                 -- 'opened', or 'entities: ...; words: ...'
);

CREATE TABLE storyline_vectors (
    storyline_id   VARCHAR PRIMARY KEY,
    last_at        TIMESTAMP,            -- open to events first seen within the window of this
    size           INTEGER NOT NULL,     -- events
    terms          VARCHAR[] NOT NULL,   -- sum of its events' unit word vectors
    weights        DOUBLE[] NOT NULL,
    entities       VARCHAR[] NOT NULL,   -- 'kind:name', sum of its events' unit entity vectors
    entity_weights DOUBLE[] NOT NULL
);

ALTER TABLE stories ADD COLUMN storyline_id VARCHAR;
ALTER TABLE articles ADD COLUMN storyline_id VARCHAR;
ALTER TABLE runs ADD COLUMN storylines_new INTEGER DEFAULT 0;
