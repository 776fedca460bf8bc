-- Entities rising: stories per day over the last 3 days against the 14 days before, each
-- normalised by the number of stories of its period, so a busy news day does not make
-- everyone "rise". Relative to the newest day in the warehouse (works on old data too).
CREATE OR REPLACE VIEW entity_trending AS
WITH bounds AS (
    SELECT max(day) AS last_day FROM stories_daily WHERE topic = '*'
),
periods AS (
    SELECT
        e.topic, e.entity_id, e.name, e.kind, e.day, e.stories,
        CASE
            WHEN e.day > b.last_day - 3 THEN 'recent'
            WHEN e.day > b.last_day - 17 THEN 'trailing'
        END AS period
    FROM entity_daily AS e, bounds AS b
),
totals AS (
    SELECT
        s.topic,
        sum(s.active_stories) FILTER (WHERE s.day > b.last_day - 3) AS recent_total,
        sum(s.active_stories) FILTER (WHERE s.day <= b.last_day - 3 AND s.day > b.last_day - 17) AS trailing_total
    FROM stories_daily AS s, bounds AS b
    GROUP BY ALL
),
per_entity AS (
    SELECT
        topic, entity_id, name, kind,
        coalesce(sum(stories) FILTER (WHERE period = 'recent'), 0) AS recent_stories,
        coalesce(sum(stories) FILTER (WHERE period = 'trailing'), 0) AS trailing_stories
    FROM periods
    WHERE period IS NOT NULL
    GROUP BY ALL
)
SELECT
    p.topic, p.entity_id, p.name, p.kind, p.recent_stories, p.trailing_stories,
    round(p.recent_stories / nullif(t.recent_total, 0), 4) AS recent_share,
    round(p.trailing_stories / nullif(t.trailing_total, 0), 4) AS trailing_share,
    round((p.recent_stories + 1.0) / (coalesce(t.recent_total, 0) + 1.0)
          / ((p.trailing_stories + 1.0) / (coalesce(t.trailing_total, 0) + 1.0)), 3) AS lift
FROM per_entity AS p
JOIN totals AS t USING (topic);
