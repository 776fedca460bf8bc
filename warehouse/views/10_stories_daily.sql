-- Per topic and day: new stories (by their first article), articles and outlets.
-- Read from trend_story_days, which carries each story's first day.
CREATE OR REPLACE VIEW stories_daily AS
SELECT
    topic,
    day,
    count(DISTINCT story_id) AS active_stories,
    count(DISTINCT story_id) FILTER (WHERE first_day = day) AS new_stories,
    CAST(sum(articles) AS BIGINT) AS articles,
    count(DISTINCT feed_id) AS feeds
FROM trend_story_days
GROUP BY ALL;
