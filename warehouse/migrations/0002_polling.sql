-- Polling state per feed (conditional GET, schedule, backoff, disabling) and
-- the counts of a run by feed outcome. See warehouse/README.md.

ALTER TABLE feeds ADD COLUMN last_fetched_at TIMESTAMP;      -- last full (200) response
ALTER TABLE feeds ADD COLUMN last_success_at TIMESTAMP;      -- last 200 or 304
ALTER TABLE feeds ADD COLUMN next_poll_at TIMESTAMP;
ALTER TABLE feeds ADD COLUMN interval_seconds INTEGER;       -- current polling interval
ALTER TABLE feeds ADD COLUMN weighted_errors DOUBLE DEFAULT 0;
ALTER TABLE feeds ADD COLUMN last_error_kind VARCHAR;        -- 'hard' | 'soft' | 'temporary'
ALTER TABLE feeds ADD COLUMN disabled_at TIMESTAMP;
ALTER TABLE feeds ADD COLUMN disabled_reason VARCHAR;
ALTER TABLE feeds ADD COLUMN entries_seen BIGINT DEFAULT 0;  -- entries in all responses so far

ALTER TABLE feed_polls ADD COLUMN error_kind VARCHAR;

ALTER TABLE runs ADD COLUMN feeds_polled INTEGER DEFAULT 0;
ALTER TABLE runs ADD COLUMN feeds_not_modified INTEGER DEFAULT 0;
ALTER TABLE runs ADD COLUMN feeds_disabled INTEGER DEFAULT 0;  -- disabled feeds not polled
ALTER TABLE runs ADD COLUMN feeds_not_due INTEGER DEFAULT 0;
ALTER TABLE runs ADD COLUMN articles_updated INTEGER DEFAULT 0;

-- An entry re-listed with a changed title, summary or link is an update of the same
-- article: the row is revised in place and the version it replaces is kept here.
ALTER TABLE articles ADD COLUMN entry_hash VARCHAR;
ALTER TABLE articles ADD COLUMN revision INTEGER DEFAULT 1;
ALTER TABLE articles ADD COLUMN updated_at TIMESTAMP;

CREATE TABLE article_revisions (
    article_id  VARCHAR NOT NULL,
    revision    INTEGER NOT NULL,
    title       VARCHAR,
    summary     VARCHAR,
    url         VARCHAR,
    text        VARCHAR,
    text_source VARCHAR,
    replaced_at TIMESTAMP NOT NULL,
    PRIMARY KEY (article_id, revision)
);
