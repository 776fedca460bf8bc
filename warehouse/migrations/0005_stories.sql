-- Stories: reports of one event share a story_id. Each article's story features (term
-- weights) are stored so later runs compare new articles with open stories without
-- recomputing them. See warehouse/README.md.

ALTER TABLE articles ADD COLUMN story_id VARCHAR;
ALTER TABLE articles ADD COLUMN story_score DOUBLE;   -- similarity to the story when it joined

CREATE TABLE stories (
    story_id      VARCHAR PRIMARY KEY,   -- the article_id of its first article
    title         VARCHAR,               -- the headline of its first article
    first_seen_at TIMESTAMP,
    last_seen_at  TIMESTAMP,
    article_count INTEGER NOT NULL DEFAULT 0,
    outlet_count  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE article_features (
    article_id   VARCHAR PRIMARY KEY,
    version      INTEGER NOT NULL,       -- stories.FEATURES_VERSION that computed them
    terms        VARCHAR[] NOT NULL,
    weights      DOUBLE[] NOT NULL
);

ALTER TABLE runs ADD COLUMN stories_new INTEGER DEFAULT 0;
