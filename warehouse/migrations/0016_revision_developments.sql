-- The developments read from each replaced version of an article, so that `article_changes`
-- can flag a development that appeared or disappeared when its outlet updated the article in
-- place. NULL for versions replaced before this migration (not known).
ALTER TABLE article_revisions ADD COLUMN developments STRUCT(kind VARCHAR, stance VARCHAR, sentence VARCHAR)[];
