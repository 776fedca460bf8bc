-- Entities that appear in the same stories, by week: how often two actors share the news.
CREATE OR REPLACE VIEW actor_pairs AS
WITH story_entities AS (
    SELECT DISTINCT
        s.topic,
        date_trunc('week', coalesce(a.published_at, a.fetched_at))::DATE AS week,
        coalesce(a.story_id, a.duplicate_of, a.article_id) AS story_id,
        m.entity_id
    FROM mentions AS m
    JOIN articles AS a USING (article_id)
    JOIN article_scopes AS s USING (article_id)
)
SELECT
    x.topic,
    x.week,
    x.entity_id AS entity_a,
    ea.name AS name_a,
    y.entity_id AS entity_b,
    eb.name AS name_b,
    count(DISTINCT x.story_id) AS stories
FROM story_entities AS x
JOIN story_entities AS y
    ON x.topic = y.topic AND x.story_id = y.story_id AND x.week = y.week AND x.entity_id < y.entity_id
JOIN entities AS ea ON ea.entity_id = x.entity_id
JOIN entities AS eb ON eb.entity_id = y.entity_id
GROUP BY ALL;
