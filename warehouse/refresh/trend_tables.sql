-- Recompute the trend tables' rows of the stories in `trend_scope` (story_id) from their
-- articles, mentions, topics and entities. Run by warehouse.refresh_trends inside the
-- transaction that changed them; the same derivation as the backfill of migration 0007.
-- A story is coalesce(story_id, duplicate_of, article_id), as in every view.

-- The scope's articles first: everything below joins these few rows, never all articles.
CREATE OR REPLACE TEMP TABLE trend_scope_articles AS
SELECT
    a.article_id,
    a.feed_id,
    coalesce(a.story_id, a.duplicate_of, a.article_id) AS story_id,
    coalesce(a.published_at, a.fetched_at) AS reported_at,
    CAST(coalesce(a.published_at, a.fetched_at) AS DATE) AS day
FROM articles AS a
WHERE coalesce(a.story_id, a.duplicate_of, a.article_id) IN (SELECT story_id FROM trend_scope);

-- article_scopes for these articles: each topic of an article, and '*'.
CREATE OR REPLACE TEMP TABLE trend_scope_topics AS
SELECT article_id, '*' AS topic FROM trend_scope_articles
UNION ALL
SELECT t.article_id, t.topic
FROM article_topics AS t
WHERE t.article_id IN (SELECT article_id FROM trend_scope_articles);

DELETE FROM trend_story_days WHERE story_id IN (SELECT story_id FROM trend_scope);
DELETE FROM trend_entity_days WHERE story_id IN (SELECT story_id FROM trend_scope);
DELETE FROM trend_story_outlets WHERE story_id IN (SELECT story_id FROM trend_scope);

INSERT INTO trend_story_days BY NAME
WITH firsts AS (
    SELECT story_id, min(day) AS first_day FROM trend_scope_articles GROUP BY ALL
)
SELECT s.topic, a.day, a.story_id, a.feed_id, f.first_day, count(*) AS articles
FROM trend_scope_articles AS a
JOIN trend_scope_topics AS s USING (article_id)
JOIN firsts AS f USING (story_id)
GROUP BY ALL
ORDER BY a.day, s.topic;

-- Mentions are read with a semi-join on the scope's articles before any other join.
INSERT INTO trend_entity_days BY NAME
WITH scoped_mentions AS (
    SELECT m.article_id, m.entity_id, m.count
    FROM mentions AS m
    WHERE m.article_id IN (SELECT article_id FROM trend_scope_articles)
)
SELECT
    s.topic, a.day, date_trunc('week', a.day)::DATE AS week, a.story_id, e.entity_no,
    sum(m.count) AS mentions, count(*) AS articles
FROM scoped_mentions AS m
JOIN trend_scope_articles AS a USING (article_id)
JOIN trend_scope_topics AS s USING (article_id)
JOIN entities AS e USING (entity_id)
GROUP BY ALL
ORDER BY a.day, s.topic;

INSERT INTO trend_story_outlets BY NAME
WITH per_outlet AS (  -- per feed, as the table's rows have always been
    SELECT story_id, feed_id, min(reported_at) AS first_report, count(*) AS articles
    FROM trend_scope_articles
    GROUP BY ALL
),
per_story AS (  -- outlets are publishers: feeds of one outlet count once
    SELECT a.story_id, min(a.reported_at) AS story_first,
           count(DISTINCT coalesce(f.outlet, a.feed_id)) AS outlets
    FROM trend_scope_articles AS a
    LEFT JOIN feeds AS f ON f.feed_id = a.feed_id
    GROUP BY ALL
),
topics AS (
    SELECT DISTINCT a.story_id, s.topic
    FROM trend_scope_articles AS a JOIN trend_scope_topics AS s USING (article_id)
)
SELECT
    t.topic, p.story_id, CAST(st.story_first AS DATE) AS first_day, p.feed_id, p.first_report,
    p.first_report - st.story_first AS lag, p.articles, st.outlets
FROM per_outlet AS p
JOIN per_story AS st USING (story_id)
JOIN topics AS t USING (story_id)
ORDER BY first_day, t.topic;

DROP TABLE trend_scope_articles;
DROP TABLE trend_scope_topics;
