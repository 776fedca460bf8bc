-- Articles that are not a copy of another: count these when the question is
-- "how many reports", count rows of articles when it is "how many items".
CREATE OR REPLACE VIEW articles_unique AS
SELECT *
FROM articles
WHERE duplicate_of IS NULL;
