-- Articles per day and feed, with how many carry full page text.
CREATE OR REPLACE VIEW articles_daily AS
WITH dated AS (
    SELECT
        CAST(coalesce(published_at, fetched_at) AS DATE) AS day,
        feed_id,
        duplicate_of IS NOT NULL AS is_duplicate,
        text_source
    FROM articles
)
SELECT
    day,
    feed_id,
    count(*) AS articles,
    count(*) FILTER (WHERE NOT is_duplicate) AS unique_articles,
    count(*) FILTER (WHERE text_source = 'page') AS from_page,
    count(*) FILTER (WHERE text_source = 'feed') AS from_feed
FROM dated
GROUP BY ALL;
