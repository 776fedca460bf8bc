-- Entities that appear in the same stories, by week: how often two actors share the news.
CREATE OR REPLACE VIEW actor_pairs AS
WITH story_entities AS (
    SELECT DISTINCT topic, week, story_id, entity_no FROM trend_entity_days
),
pairs AS (
    -- Each (topic, week, story, entity) is one row above, so every joined row is another
    -- story of its pair: count(*) counts distinct stories. Integer keys keep the join and
    -- the grouping of hundreds of thousands of pairs cheap.
    SELECT x.topic, x.week, x.entity_no AS no_x, y.entity_no AS no_y, count(*) AS stories
    FROM story_entities AS x
    JOIN story_entities AS y
        ON x.topic = y.topic AND x.week = y.week AND x.story_id = y.story_id
        AND x.entity_no < y.entity_no
    GROUP BY ALL
),
named AS (
    SELECT p.topic, p.week, ex.entity_id AS id_x, ex.name AS name_x,
           ey.entity_id AS id_y, ey.name AS name_y, p.stories
    FROM pairs AS p
    JOIN entities AS ex ON ex.entity_no = p.no_x
    JOIN entities AS ey ON ey.entity_no = p.no_y
)
-- entity_a is the smaller entity_id of the pair (the order of the numbers is another one).
SELECT
    topic,
    week,
    CASE WHEN id_x < id_y THEN id_x ELSE id_y END AS entity_a,
    CASE WHEN id_x < id_y THEN name_x ELSE name_y END AS name_a,
    CASE WHEN id_x < id_y THEN id_y ELSE id_x END AS entity_b,
    CASE WHEN id_x < id_y THEN name_y ELSE name_x END AS name_b,
    stories
FROM named;
