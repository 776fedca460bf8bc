-- Per story and outlet: when the outlet first reported it and how long after the first
-- report that was (lag), with its number of articles. Narrow with topic and first_day.
CREATE OR REPLACE VIEW story_timeline AS
WITH story_articles AS (
    SELECT
        coalesce(a.story_id, a.duplicate_of, a.article_id) AS story_id,
        a.article_id,
        a.feed_id,
        coalesce(a.published_at, a.fetched_at) AS reported_at
    FROM articles AS a
),
per_outlet AS (
    SELECT story_id, feed_id, min(reported_at) AS first_report, count(*) AS articles
    FROM story_articles
    GROUP BY ALL
),
topics AS (
    SELECT DISTINCT sa.story_id, sc.topic
    FROM story_articles AS sa JOIN article_scopes AS sc USING (article_id)
)
SELECT
    t.topic,
    p.story_id,
    st.title,
    CAST(min(p.first_report) OVER (PARTITION BY p.story_id) AS DATE) AS first_day,
    p.feed_id,
    p.first_report,
    p.first_report - min(p.first_report) OVER (PARTITION BY p.story_id) AS lag,
    p.articles,
    count(*) OVER (PARTITION BY t.topic, p.story_id) AS outlets
FROM per_outlet AS p
JOIN topics AS t USING (story_id)
LEFT JOIN stories AS st USING (story_id);
