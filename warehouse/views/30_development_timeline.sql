-- Developments by topic, day, kind and stance, counted per story, with their sources.
CREATE OR REPLACE VIEW development_timeline AS
WITH dev AS (
    SELECT
        coalesce(a.story_id, a.duplicate_of, a.article_id) AS story_id,
        coalesce(d.occurred_on, CAST(coalesce(a.published_at, a.fetched_at) AS DATE)) AS day,
        d.kind, d.stance, d.article_id, a.feed_id
    FROM developments AS d JOIN articles AS a USING (article_id)
)
SELECT
    s.topic,
    dev.day,
    dev.kind,
    dev.stance,
    count(DISTINCT dev.story_id) AS stories,
    count(DISTINCT dev.article_id) AS articles,
    list(DISTINCT dev.feed_id ORDER BY dev.feed_id) AS sources
FROM dev
JOIN article_scopes AS s USING (article_id)
GROUP BY ALL;
