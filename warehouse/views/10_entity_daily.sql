-- Per topic, entity and day: mentions, articles and stories (an event carried by ten
-- outlets is one story). Narrow with WHERE topic = ... AND day BETWEEN ... .
-- Read from trend_entity_days (one row per topic, day, story and entity, ordered by day), so
-- the date filter skips whole row groups and stories are counted by counting rows.
CREATE OR REPLACE VIEW entity_daily AS
WITH per_day AS (
    SELECT
        topic,
        day,
        entity_no,
        CAST(sum(mentions) AS HUGEINT) AS mentions,
        CAST(sum(articles) AS BIGINT) AS articles,
        count(*) AS stories
    FROM trend_entity_days
    GROUP BY ALL
)
SELECT p.topic, p.day, e.entity_id, e.name, e.kind, p.mentions, p.articles, p.stories
FROM per_day AS p
JOIN entities AS e USING (entity_no);
