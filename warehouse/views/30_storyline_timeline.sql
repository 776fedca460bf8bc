-- Events and storylines per topic. `events`: one row per story (one happening) with its
-- storyline. `storyline_timeline`: each storyline's events in order, with what linked each
-- event to its storyline (newsmon.storylines; 'opened' for the first). A story belongs to
-- a topic when any of its articles does. Narrow with topic and first_day.
CREATE OR REPLACE VIEW events AS
WITH story_topics AS (
    SELECT DISTINCT s.topic, a.story_id
    FROM article_scopes AS s JOIN articles AS a USING (article_id)
    WHERE a.story_id IS NOT NULL
)
SELECT
    t.topic,
    st.story_id,
    st.title,
    CAST(st.first_seen_at AS DATE) AS first_day,
    st.first_seen_at,
    st.last_seen_at,
    st.article_count AS articles,
    st.outlet_count AS outlets,
    st.storyline_id,
    sl.title AS storyline
FROM story_topics AS t
JOIN stories AS st USING (story_id)
LEFT JOIN storylines AS sl USING (storyline_id);

CREATE OR REPLACE VIEW storyline_timeline AS
SELECT
    e.topic,
    e.storyline_id,
    e.storyline,
    sl.event_count AS storyline_events,
    e.first_day,
    e.story_id,
    e.title AS event,
    e.articles,
    e.outlets,
    l.score AS link_score,
    l.shared AS linked_by
FROM events AS e
JOIN storylines AS sl USING (storyline_id)
LEFT JOIN storyline_links AS l USING (story_id);
