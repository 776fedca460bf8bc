-- Alerts (newsmon.alerts): what the rules of sources.yaml `alerts:` fired, and how each
-- message's delivery went. One row per alert and target. See warehouse/README.md.

CREATE TABLE alerts (
    alert_id      VARCHAR NOT NULL,   -- one happening of one rule (sha256 of rule, key, start)
    target_key    VARCHAR NOT NULL,   -- sha256 of the target URL (its secrets stay in sources.yaml)
    target        VARCHAR NOT NULL,   -- the target URL, password and tokens hidden
    rule_id       VARCHAR NOT NULL,
    rule_when     VARCHAR NOT NULL,   -- development | stance_change | storyline | entity | feed_disabled | cycle_failed
    alert_key     VARCHAR NOT NULL,   -- what makes it one happening (storyline|kind|stance, topic|entity, ...)
    reason        VARCHAR NOT NULL,   -- why it fired, in words
    title         VARCHAR NOT NULL,   -- the message, as sent (or to be sent)
    body          VARCHAR NOT NULL,
    topic         VARCHAR,
    storyline_id  VARCHAR,
    story_id      VARCHAR,
    kind          VARCHAR,            -- development kind and stance, for development rules
    stance        VARCHAR,
    first_on      DATE,               -- dates of the developments it covers
    last_on       DATE,
    outlets       VARCHAR[],          -- outlets that carried it, in the order they did
    article_ids   VARCHAR[],
    development_ids VARCHAR[],
    run_id        VARCHAR,            -- the run whose load fired it
    fired_at      TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP,          -- a later report added outlets (never sent again)
    delivered_at  TIMESTAMP,
    error         VARCHAR,            -- the latest delivery error (kept after a later success)
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_retry_at TIMESTAMP,          -- due delivery; NULL once delivered, given up, or waiting for min_outlets
    PRIMARY KEY (alert_id, target_key)
);

-- The runs whose loads the rules have seen. A run is evaluated once, after its load
-- commits (a staged batch: after the run that loads it). Runs stored before this
-- migration count as seen, so a warehouse with history does not alert on all of it.
CREATE TABLE alert_runs (
    run_id       VARCHAR PRIMARY KEY,
    evaluated_at TIMESTAMP NOT NULL
);

INSERT INTO alert_runs SELECT run_id, now()::TIMESTAMP FROM runs;
