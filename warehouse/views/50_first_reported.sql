-- Who reported first: per story (level 'story') and per development of a story (level
-- 'development': one kind and stance within the story, as in story_developments), one row
-- per outlet in the order the outlets first carried it. `behind` is how long after the
-- first outlet this one was (zero for the first); `is_copy` marks an outlet whose first
-- article carries another article's text (an exact copy or a near-duplicate: a wire copy,
-- articles.dup_method 'hash' or 'near'), `copy_of_outlet` the outlet of the article it
-- copies (for copy_method 'url' the outlet's own earlier version of the article).
CREATE OR REPLACE VIEW first_reported AS
WITH reports AS NOT MATERIALIZED (  -- inlined: a filter on story_id reaches the scan
    SELECT
        a.article_id,
        coalesce(a.story_id, a.duplicate_of, a.article_id) AS story_id,
        coalesce(f.outlet, a.feed_id) AS outlet,
        coalesce(a.published_at, a.fetched_at) AS reported_at
    FROM articles AS a
    LEFT JOIN feeds AS f ON f.feed_id = a.feed_id
),
per_outlet AS (
    SELECT 'story' AS level, story_id, NULL::VARCHAR AS kind, NULL::VARCHAR AS stance, outlet,
           min(reported_at) AS first_report,
           arg_min(article_id, (reported_at, article_id)) AS article_id,
           NULL::VARCHAR AS sentence,
           count(*) AS articles
    FROM reports
    GROUP BY ALL
    UNION ALL
    SELECT 'development', r.story_id, d.kind, d.stance, r.outlet,
           min(r.reported_at),
           arg_min(r.article_id, (r.reported_at, r.article_id)),
           arg_min(d.sentence, (r.reported_at, r.article_id, d.start_offset)),
           count(DISTINCT r.article_id)
    FROM developments AS d
    JOIN reports AS r USING (article_id)
    GROUP BY ALL
)
SELECT
    p.level,
    p.story_id,
    st.title,
    p.kind,
    p.stance,
    row_number() OVER w AS rank,
    p.outlet,
    p.first_report,
    first_value(p.outlet) OVER w AS first_outlet,
    p.first_report - first_value(p.first_report) OVER w AS behind,
    count(*) OVER (PARTITION BY p.level, p.story_id, p.kind, p.stance) AS outlets,
    p.articles,
    p.article_id,
    a.url,
    p.sentence,
    coalesce(a.dup_method IN ('hash', 'near'), false) AS is_copy,
    a.dup_method AS copy_method,
    a.duplicate_of AS copy_of,
    c.outlet AS copy_of_outlet
FROM per_outlet AS p
JOIN articles AS a USING (article_id)
LEFT JOIN reports AS c ON c.article_id = a.duplicate_of
LEFT JOIN stories AS st ON st.story_id = p.story_id
WINDOW w AS (PARTITION BY p.level, p.story_id, p.kind, p.stance ORDER BY p.first_report, p.outlet);
