-- Quantities in dispute: within one story, developments of one kind and unit whose
-- quantities differ between outlets (6,000 bodies here, 1,212 there), side by side: one row
-- per outlet and quantity, with the sentence and article that gave it. `quantities` counts
-- the distinct figures of the story, kind and unit; `lowest` and `highest` bound them.
CREATE OR REPLACE VIEW disputed_quantities AS
WITH stated AS (
    SELECT
        coalesce(a.story_id, a.duplicate_of, a.article_id) AS story_id,
        d.kind,
        d.unit,
        d.quantity,
        d.stance,
        coalesce(f.outlet, a.feed_id) AS outlet,
        d.sentence,
        d.article_id,
        a.url,
        coalesce(a.published_at, a.fetched_at) AS reported_at
    FROM developments AS d
    JOIN articles AS a USING (article_id)
    LEFT JOIN feeds AS f ON f.feed_id = a.feed_id
    WHERE d.quantity IS NOT NULL
),
disputed AS (
    SELECT story_id, kind, unit, count(DISTINCT quantity) AS quantities,
           min(quantity) AS lowest, max(quantity) AS highest
    FROM stated
    GROUP BY ALL
    HAVING count(DISTINCT quantity) > 1 AND count(DISTINCT outlet) > 1
)
SELECT
    s.story_id,
    st.title,
    s.kind,
    s.unit,
    d.quantities,
    d.lowest,
    d.highest,
    s.quantity,
    s.outlet,
    min(s.reported_at) AS first_stated,
    arg_min(s.stance, (s.reported_at, s.article_id)) AS stance,
    arg_min(s.sentence, (s.reported_at, s.article_id)) AS sentence,
    arg_min(s.article_id, (s.reported_at, s.article_id)) AS article_id,
    arg_min(s.url, (s.reported_at, s.article_id)) AS url,
    count(*) AS mentions
FROM stated AS s
JOIN disputed AS d ON d.story_id = s.story_id AND d.kind = s.kind
                  AND d.unit IS NOT DISTINCT FROM s.unit
LEFT JOIN stories AS st ON st.story_id = s.story_id
GROUP BY ALL;
