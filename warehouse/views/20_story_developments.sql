-- Within one story, developments of the same kind and stance are one event: one row,
-- listing every article that reports it, so trends count an event once.
CREATE OR REPLACE VIEW story_developments AS
SELECT
    coalesce(a.story_id, a.duplicate_of, a.article_id) AS story_id,
    d.kind,
    d.stance,
    any_value(d.plover_category) AS plover_category,
    min(d.occurred_on) AS occurred_on,
    max(d.quantity) AS quantity,
    arg_max(d.unit, d.quantity) AS unit,
    list(DISTINCT x ORDER BY x) FILTER (WHERE x IS NOT NULL) AS actor_ids,
    list(DISTINCT d.article_id ORDER BY d.article_id) AS article_ids,
    count(DISTINCT d.article_id) AS article_count,
    list(DISTINCT a.feed_id ORDER BY a.feed_id) AS feeds,
    max(d.confidence) AS confidence,
    arg_max(d.sentence, d.confidence) AS evidence
FROM developments AS d
JOIN articles AS a USING (article_id)
LEFT JOIN LATERAL (SELECT unnest(CASE WHEN len(d.actor_ids) > 0 THEN d.actor_ids ELSE [NULL] END) AS x) ON true
GROUP BY ALL;
