-- Entities rising: stories per day over the last 3 days against the 14 days before, each
-- normalised by the number of stories of its period, so a busy news day does not make
-- everyone "rise". Relative to the newest day in the warehouse (works on old data too).
-- Articles are cut to the 17-day window first: only they are joined with mentions.
CREATE OR REPLACE VIEW entity_trending AS
WITH bounds AS (
    SELECT CAST(max(coalesce(published_at, fetched_at)) AS DATE) AS last_day FROM articles
),
recent AS (
    SELECT
        a.article_id,
        coalesce(a.story_id, a.duplicate_of, a.article_id) AS story_id,
        CASE WHEN CAST(coalesce(a.published_at, a.fetched_at) AS DATE) > b.last_day - 3
             THEN 'recent' ELSE 'trailing' END AS period
    FROM articles AS a, bounds AS b
    WHERE coalesce(a.published_at, a.fetched_at) >= b.last_day - 16
),
scoped AS (
    SELECT r.*, s.topic FROM recent AS r JOIN article_scopes AS s USING (article_id)
),
totals AS (
    SELECT
        topic,
        count(DISTINCT story_id) FILTER (WHERE period = 'recent') AS recent_total,
        count(DISTINCT story_id) FILTER (WHERE period = 'trailing') AS trailing_total
    FROM scoped
    GROUP BY ALL
),
per_entity AS (
    SELECT
        s.topic, m.entity_id,
        count(DISTINCT s.story_id) FILTER (WHERE s.period = 'recent') AS recent_stories,
        count(DISTINCT s.story_id) FILTER (WHERE s.period = 'trailing') AS trailing_stories
    FROM scoped AS s JOIN mentions AS m USING (article_id)
    GROUP BY ALL
)
SELECT
    p.topic, p.entity_id, e.name, e.kind, p.recent_stories, p.trailing_stories,
    round(p.recent_stories / nullif(t.recent_total, 0), 4) AS recent_share,
    round(p.trailing_stories / nullif(t.trailing_total, 0), 4) AS trailing_share,
    round((p.recent_stories + 1.0) / (coalesce(t.recent_total, 0) + 1.0)
          / ((p.trailing_stories + 1.0) / (coalesce(t.trailing_total, 0) + 1.0)), 3) AS lift
FROM per_entity AS p
JOIN totals AS t USING (topic)
JOIN entities AS e USING (entity_id);
