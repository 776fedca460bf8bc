-- Per topic, entity and day: mentions, articles and stories (an event carried by ten
-- outlets is one story). Narrow with WHERE topic = ... AND day BETWEEN ... .
CREATE OR REPLACE VIEW entity_daily AS
WITH dated AS (
    SELECT
        a.article_id,
        coalesce(a.story_id, a.duplicate_of, a.article_id) AS story_id,
        CAST(coalesce(a.published_at, a.fetched_at) AS DATE) AS day
    FROM articles AS a
)
SELECT
    s.topic,
    d.day,
    m.entity_id,
    e.name,
    e.kind,
    sum(m.count) AS mentions,
    count(DISTINCT m.article_id) AS articles,
    count(DISTINCT d.story_id) AS stories
FROM mentions AS m
JOIN dated AS d USING (article_id)
JOIN article_scopes AS s USING (article_id)
JOIN entities AS e USING (entity_id)
GROUP BY ALL;
