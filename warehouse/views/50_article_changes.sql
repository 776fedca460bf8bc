-- Articles updated in place (article_revisions keeps each replaced version): one row per
-- change, from one version to the next, with the headline before and after and the
-- sentences the new version added and removed. Sentences are runs of text ending in . ! or ?
-- compared with their white space collapsed, so a reworded sentence shows as one removed and
-- one added. A development (kind and stance) read from one version and not from the other
-- appeared or disappeared with the change: an analyst may have been alerted on it. NULL where
-- the replaced version's developments are not known (replaced before migration 0016).
CREATE OR REPLACE VIEW article_changes AS
WITH live_developments AS (
    SELECT
        article_id,
        list({'kind': kind, 'stance': stance, 'sentence': sentence}
             ORDER BY start_offset, kind, stance) AS developments
    FROM developments
    WHERE article_id IN (SELECT article_id FROM article_revisions)
    GROUP BY article_id
),
versions AS (
    SELECT article_id, revision, title, text, replaced_at, developments FROM article_revisions
    UNION ALL
    SELECT a.article_id, a.revision, a.title, a.text, NULL::TIMESTAMP,
           coalesce(l.developments, [])
    FROM articles AS a
    LEFT JOIN live_developments AS l USING (article_id)
    WHERE a.article_id IN (SELECT article_id FROM article_revisions)
),
split AS (
    SELECT
        article_id, revision, title, replaced_at, developments,
        list_transform(developments, lambda d: d.kind || ':' || d.stance) AS development_keys,
        list_filter(
            list_transform(regexp_extract_all(coalesce(text, ''), '[^.!?]+[.!?]*'),
                           lambda s: trim(regexp_replace(s, '\s+', ' ', 'g'))),
            lambda s: length(s) > 0) AS sentences
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
        list_filter(n.sentences, lambda s: NOT list_contains(o.sentences, s)) AS sentences_added,
        list_filter(o.sentences, lambda s: NOT list_contains(n.sentences, s)) AS sentences_removed,
        CASE WHEN o.developments IS NOT NULL AND n.developments IS NOT NULL THEN
            list_filter(n.developments,
                        lambda d: NOT list_contains(o.development_keys, d.kind || ':' || d.stance))
        END AS developments_added,
        CASE WHEN o.developments IS NOT NULL AND n.developments IS NOT NULL THEN
            list_filter(o.developments,
                        lambda d: NOT list_contains(n.development_keys, d.kind || ':' || d.stance))
        END AS developments_removed
    FROM split AS o
    JOIN split AS n ON n.article_id = o.article_id AND n.revision = o.revision + 1
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
    a.url,
    coalesce(f.outlet, a.feed_id) AS outlet,
    coalesce(a.story_id, a.duplicate_of, a.article_id) AS story_id
FROM changes AS c
JOIN articles AS a USING (article_id)
LEFT JOIN feeds AS f ON f.feed_id = a.feed_id;
