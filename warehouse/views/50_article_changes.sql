-- Articles updated in place (article_revisions keeps each replaced version): one row per
-- change, from one version to the next, with the headline before and after and the
-- sentences the new version added and removed (stored with the replaced version when the
-- update was loaded; see migration 0017). A development (kind and stance) read from one
-- version and not from the other appeared or disappeared with the change: an analyst may
-- have been alerted on it. NULL where the replaced version's developments are not known
-- (replaced before migration 0016).
CREATE OR REPLACE VIEW article_changes AS
WITH live AS MATERIALIZED (  -- the articles updated in place, as they stand: one scan
    SELECT a.article_id, a.revision, a.title, a.url, a.feed_id,
           coalesce(a.story_id, a.duplicate_of, a.article_id) AS story_id
    FROM articles AS a
    WHERE a.article_id IN (SELECT article_id FROM article_revisions)
),
live_developments AS (
    SELECT
        article_id,
        list({'kind': kind, 'stance': stance, 'sentence': sentence}
             ORDER BY start_offset, kind, stance) AS developments
    FROM developments
    WHERE article_id IN (SELECT article_id FROM live)
    GROUP BY article_id
),
versions AS (
    SELECT article_id, revision, title, replaced_at, developments, sentences_added,
           sentences_removed
    FROM article_revisions
    UNION ALL
    SELECT l.article_id, l.revision, l.title, NULL::TIMESTAMP, coalesce(d.developments, []),
           NULL::VARCHAR[], NULL::VARCHAR[]
    FROM live AS l
    LEFT JOIN live_developments AS d USING (article_id)
),
keyed AS (
    SELECT *, list_transform(developments, lambda d: d.kind || ':' || d.stance) AS development_keys
    FROM versions
),
changes AS (
    SELECT
        o.article_id,
        o.revision AS from_revision,
        n.revision AS to_revision,
        o.replaced_at AS changed_at,
        o.title AS title_before,
        n.title AS title_after,
        o.sentences_added,
        o.sentences_removed,
        CASE WHEN o.developments IS NOT NULL AND n.developments IS NOT NULL THEN
            list_filter(n.developments,
                        lambda d: NOT list_contains(o.development_keys, d.kind || ':' || d.stance))
        END AS developments_added,
        CASE WHEN o.developments IS NOT NULL AND n.developments IS NOT NULL THEN
            list_filter(o.developments,
                        lambda d: NOT list_contains(n.development_keys, d.kind || ':' || d.stance))
        END AS developments_removed
    FROM keyed AS o
    JOIN keyed AS n ON n.article_id = o.article_id AND n.revision = o.revision + 1
)
SELECT
    c.article_id,
    c.from_revision,
    c.to_revision,
    c.changed_at,
    c.title_before,
    c.title_after,
    c.title_before IS DISTINCT FROM c.title_after AS title_changed,
    c.sentences_added,
    c.sentences_removed,
    c.developments_added,
    c.developments_removed,
    l.url,
    coalesce(f.outlet, l.feed_id) AS outlet,
    l.story_id
FROM changes AS c
JOIN live AS l USING (article_id)
LEFT JOIN feeds AS f ON f.feed_id = l.feed_id;
