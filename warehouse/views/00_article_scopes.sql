-- Every article once per topic it belongs to, and once under '*' (all articles):
-- the views below carry a `topic` column built from this, so any of them can be
-- narrowed with WHERE topic = 'russia-ukraine-talks' (or '*' for everything).
CREATE OR REPLACE VIEW article_scopes AS
SELECT article_id, topic FROM article_topics
UNION ALL
SELECT article_id, '*' AS topic FROM articles;
