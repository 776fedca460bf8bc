-- Articles updated in place (article_revisions keeps each replaced version): one row per
-- change, from one version to the next, with the headline before and after and the
-- sentences the new version added and removed. Sentences are runs of text ending in . ! or ?
-- compared as they stand (after trimming), so a reworded sentence shows as one removed and
-- one added.
CREATE OR REPLACE VIEW article_changes AS
WITH versions AS (
    SELECT article_id, revision, title, text, replaced_at FROM article_revisions
    UNION ALL
    SELECT a.article_id, a.revision, a.title, a.text, NULL::TIMESTAMP
    FROM articles AS a
    WHERE a.article_id IN (SELECT article_id FROM article_revisions)
),
split AS (
    SELECT
        article_id, revision, title, replaced_at,
        list_filter(
            list_transform(regexp_extract_all(coalesce(text, ''), '[^.!?]+[.!?]*'),
                           lambda s: trim(s)),
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
        list_filter(o.sentences, lambda s: NOT list_contains(n.sentences, s)) AS sentences_removed
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
    a.url,
    coalesce(f.outlet, a.feed_id) AS outlet,
    coalesce(a.story_id, a.duplicate_of, a.article_id) AS story_id
FROM changes AS c
JOIN articles AS a USING (article_id)
LEFT JOIN feeds AS f ON f.feed_id = a.feed_id;
