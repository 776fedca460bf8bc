-- Trend tables: the trend views' inputs, pre-joined per story so the views read a few days
-- of narrow rows instead of joining every mention with every article (issue #7). They hold
-- nothing that is not derived from articles, mentions, article_topics and entities; the
-- loader recomputes the rows of every story a load changes (warehouse/refresh/trend_tables.sql)
-- in the same transaction. See warehouse/README.md, "Trend tables".
--
-- Every table is keyed by story: a story's rows depend only on its own articles, so
-- recomputing the stories a change touches keeps the tables exact, distinct counts included.

-- A small integer per entity: the trend views group and join on it, not on 16-character ids.
CREATE SEQUENCE entity_no_seq;
ALTER TABLE entities ADD COLUMN entity_no INTEGER DEFAULT nextval('entity_no_seq');

-- Per topic ('*' too), day, story and feed: articles, and the story's first day (all topics).
CREATE TABLE trend_story_days (
    topic     VARCHAR NOT NULL,
    day       DATE NOT NULL,
    story_id  VARCHAR NOT NULL,
    feed_id   VARCHAR NOT NULL,
    first_day DATE NOT NULL,
    articles  INTEGER NOT NULL
);

-- Per topic, day, story and entity: mentions and articles (week = the Monday of day).
CREATE TABLE trend_entity_days (
    topic     VARCHAR NOT NULL,
    day       DATE NOT NULL,
    week      DATE NOT NULL,
    story_id  VARCHAR NOT NULL,
    entity_no INTEGER NOT NULL,
    mentions  BIGINT NOT NULL,
    articles  INTEGER NOT NULL
);

-- Per topic of the story, story and feed: the rows of the view story_timeline, less the title.
CREATE TABLE trend_story_outlets (
    topic        VARCHAR NOT NULL,
    story_id     VARCHAR NOT NULL,
    first_day    DATE NOT NULL,
    feed_id      VARCHAR NOT NULL,
    first_report TIMESTAMP NOT NULL,
    lag          INTERVAL NOT NULL,
    articles     INTEGER NOT NULL,
    outlets      INTEGER NOT NULL
);

-- Backfill from the rows already stored, ordered by day: the views' date filters then skip
-- whole row groups. (The same derivation as refresh/trend_tables.sql over every story; a
-- test holds the two equal.)
CREATE TEMP TABLE backfill_articles AS
SELECT
    a.article_id,
    a.feed_id,
    coalesce(a.story_id, a.duplicate_of, a.article_id) AS story_id,
    coalesce(a.published_at, a.fetched_at) AS reported_at,
    CAST(coalesce(a.published_at, a.fetched_at) AS DATE) AS day
FROM articles AS a;

CREATE TEMP TABLE backfill_scopes AS
SELECT article_id, '*' AS topic FROM backfill_articles
UNION ALL
SELECT t.article_id, t.topic FROM article_topics AS t JOIN backfill_articles USING (article_id);

INSERT INTO trend_story_days BY NAME
WITH firsts AS (
    SELECT story_id, min(day) AS first_day FROM backfill_articles GROUP BY ALL
)
SELECT s.topic, a.day, a.story_id, a.feed_id, f.first_day, count(*) AS articles
FROM backfill_articles AS a
JOIN backfill_scopes AS s USING (article_id)
JOIN firsts AS f USING (story_id)
GROUP BY ALL
ORDER BY a.day, s.topic;

INSERT INTO trend_entity_days BY NAME
SELECT
    s.topic, a.day, date_trunc('week', a.day)::DATE AS week, a.story_id, e.entity_no,
    sum(m.count) AS mentions, count(*) AS articles
FROM mentions AS m
JOIN backfill_articles AS a USING (article_id)
JOIN backfill_scopes AS s USING (article_id)
JOIN entities AS e USING (entity_id)
GROUP BY ALL
ORDER BY a.day, s.topic;

INSERT INTO trend_story_outlets BY NAME
WITH per_outlet AS (
    SELECT story_id, feed_id, min(reported_at) AS first_report, count(*) AS articles
    FROM backfill_articles
    GROUP BY ALL
),
per_story AS (
    SELECT story_id, min(first_report) AS story_first, count(*) AS outlets
    FROM per_outlet
    GROUP BY ALL
),
topics AS (
    SELECT DISTINCT a.story_id, s.topic
    FROM backfill_articles AS a JOIN backfill_scopes AS s USING (article_id)
)
SELECT
    t.topic, p.story_id, CAST(st.story_first AS DATE) AS first_day, p.feed_id, p.first_report,
    p.first_report - st.story_first AS lag, p.articles, st.outlets
FROM per_outlet AS p
JOIN per_story AS st USING (story_id)
JOIN topics AS t USING (story_id)
ORDER BY first_day, t.topic;

DROP TABLE backfill_articles;
DROP TABLE backfill_scopes;
