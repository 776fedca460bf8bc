-- Every development with everything an analyst reads beside it, no joins needed: its story
-- and storyline, the names of its actors and recipients (stored with it, migration 0018),
-- the article it was read in, with URL and outlet. One row per development per topic of its article, and once under '*'
-- (all developments): narrow with WHERE topic = '...', or topic = '*' for each once.
CREATE OR REPLACE VIEW developments_named AS
SELECT
    s.topic,
    d.development_id,
    coalesce(a.story_id, a.duplicate_of, a.article_id) AS story_id,
    st.title AS story_title,
    st.storyline_id,
    sl.title AS storyline,
    CAST(coalesce(a.published_at, a.fetched_at) AS DATE) AS day,
    coalesce(a.published_at, a.fetched_at) AS reported_at,
    d.kind,
    d.stance,
    d.actor_names AS actors,
    d.recipient_names AS recipients,
    d.quantity,
    d.unit,
    d.place,
    d.occurred_on,
    d.scheduled_for,
    d.sentence,
    d.confidence,
    d.plover_category,
    d.article_id,
    a.title AS article_title,
    a.url,
    a.feed_id,
    coalesce(f.outlet, a.feed_id) AS outlet,
    a.duplicate_of,
    d.actor_ids,
    d.recipient_ids
FROM developments AS d
JOIN articles AS a USING (article_id)
JOIN article_scopes AS s USING (article_id)
LEFT JOIN feeds AS f ON f.feed_id = a.feed_id
LEFT JOIN stories AS st ON st.story_id = coalesce(a.story_id, a.duplicate_of, a.article_id)
LEFT JOIN storylines AS sl ON sl.storyline_id = st.storyline_id;
