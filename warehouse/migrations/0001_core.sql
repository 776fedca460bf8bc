-- Core tables of the warehouse contract (warehouse/README.md).
-- All timestamps are UTC, stored without a time zone.

CREATE TABLE feeds (
    feed_id          VARCHAR PRIMARY KEY,
    url              VARCHAR NOT NULL,
    name             VARCHAR NOT NULL,
    tags             VARCHAR[],
    language         VARCHAR,
    title            VARCHAR,      -- the title the feed document gives itself
    first_polled_at  TIMESTAMP,
    last_polled_at   TIMESTAMP,
    last_status      VARCHAR,      -- 'ok' | 'not_modified' | 'error'
    last_http_status INTEGER,
    last_error       VARCHAR,
    last_entries     INTEGER,
    etag             VARCHAR,
    last_modified    VARCHAR,
    consecutive_failures INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE runs (
    run_id             VARCHAR PRIMARY KEY,
    started_at         TIMESTAMP NOT NULL,
    finished_at        TIMESTAMP,
    status             VARCHAR NOT NULL,   -- 'completed' | 'staged' (loaded later from staging)
    feeds_ok           INTEGER NOT NULL DEFAULT 0,
    feeds_failed       INTEGER NOT NULL DEFAULT 0,
    entries_seen       INTEGER NOT NULL DEFAULT 0,
    articles_new       INTEGER NOT NULL DEFAULT 0,
    text_from_page     INTEGER NOT NULL DEFAULT 0,
    text_from_feed     INTEGER NOT NULL DEFAULT 0,
    duplicates_skipped INTEGER NOT NULL DEFAULT 0,  -- entries already stored (GUID, URL)
    duplicates_marked  INTEGER NOT NULL DEFAULT 0   -- new rows whose text was already stored
);

-- One row per feed per run: the history behind feeds.last_*.
CREATE TABLE feed_polls (
    run_id       VARCHAR NOT NULL,
    feed_id      VARCHAR NOT NULL,
    polled_at    TIMESTAMP NOT NULL,
    status       VARCHAR NOT NULL,
    http_status  INTEGER,
    error        VARCHAR,
    entries      INTEGER NOT NULL DEFAULT 0,
    new_entries  INTEGER NOT NULL DEFAULT 0,
    elapsed_ms   DOUBLE,
    PRIMARY KEY (run_id, feed_id)
);

CREATE TABLE articles (
    article_id    VARCHAR PRIMARY KEY,  -- sha256 of the identity key, 16 hex digits
    feed_id       VARCHAR NOT NULL,     -- the feed it was first seen in
    url           VARCHAR,
    canonical_url VARCHAR,
    guid          VARCHAR,
    title         VARCHAR,
    summary       VARCHAR,
    text          VARCHAR,              -- NULL for exact duplicates: the text is stored once
    author        VARCHAR,
    published_at  TIMESTAMP,
    fetched_at    TIMESTAMP NOT NULL,
    language      VARCHAR,
    site_name     VARCHAR,
    text_source   VARCHAR NOT NULL CHECK (text_source IN ('page', 'feed')),
    http_status   INTEGER,
    fetch_error   VARCHAR,
    content_hash  VARCHAR,
    duplicate_of  VARCHAR,
    dup_method    VARCHAR,              -- 'url' | 'guid' | 'hash' | 'near'
    dup_score     DOUBLE,
    run_id        VARCHAR
);
