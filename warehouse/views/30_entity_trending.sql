-- Entities rising: stories per day over the last 3 days against the 14 days before, each
-- normalised by the number of stories of its period, so a busy news day does not make
-- everyone "rise". Relative to the newest day in the warehouse (works on old data too).
-- Only the 17-day window of the trend tables is read (they are ordered by day).
CREATE OR REPLACE VIEW entity_trending AS
WITH bounds AS (
    SELECT max(day) AS last_day FROM trend_story_days WHERE topic = '*'
),
totals AS (
    SELECT
        d.topic,
        count(DISTINCT d.story_id) FILTER (WHERE d.day > b.last_day - 3) AS recent_total,
        count(DISTINCT d.story_id) FILTER (WHERE d.day <= b.last_day - 3) AS trailing_total
    FROM trend_story_days AS d, bounds AS b
    WHERE d.day >= b.last_day - 16
    GROUP BY ALL
),
per_entity AS (
    SELECT
        m.topic,
        m.entity_no,
        count(DISTINCT m.story_id) FILTER (WHERE m.day > b.last_day - 3) AS recent_stories,
        count(DISTINCT m.story_id) FILTER (WHERE m.day <= b.last_day - 3) AS trailing_stories
    FROM trend_entity_days AS m, bounds AS b
    WHERE m.day >= b.last_day - 16
    GROUP BY ALL
)
SELECT
    p.topic, e.entity_id, e.name, e.kind, p.recent_stories, p.trailing_stories,
    round(p.recent_stories / nullif(t.recent_total, 0), 4) AS recent_share,
    round(p.trailing_stories / nullif(t.trailing_total, 0), 4) AS trailing_share,
    round((p.recent_stories + 1.0) / (coalesce(t.recent_total, 0) + 1.0)
          / ((p.trailing_stories + 1.0) / (coalesce(t.trailing_total, 0) + 1.0)), 3) AS lift
FROM per_entity AS p
JOIN totals AS t USING (topic)
JOIN entities AS e USING (entity_no);
