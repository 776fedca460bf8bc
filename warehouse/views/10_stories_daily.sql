-- Per topic and day: new stories (by their first article), articles and outlets.
CREATE OR REPLACE VIEW stories_daily AS
WITH dated AS (
    SELECT
        a.article_id,
        a.feed_id,
        coalesce(a.story_id, a.duplicate_of, a.article_id) AS story_id,
        CAST(coalesce(a.published_at, a.fetched_at) AS DATE) AS day
    FROM articles AS a
),
firsts AS (
    SELECT story_id, min(day) AS first_day FROM dated GROUP BY ALL
)
SELECT
    s.topic,
    d.day,
    count(DISTINCT d.story_id) AS active_stories,
    count(DISTINCT d.story_id) FILTER (WHERE f.first_day = d.day) AS new_stories,
    count(*) AS articles,
    count(DISTINCT d.feed_id) AS feeds
FROM dated AS d
JOIN firsts AS f USING (story_id)
JOIN article_scopes AS s USING (article_id)
GROUP BY ALL;
