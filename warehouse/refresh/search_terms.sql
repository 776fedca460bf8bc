-- Index the articles in `search_scope` (article_id) for full-text search: add their rows of
-- article_terms and search_documents (revised articles' old rows are deleted first). Run by warehouse.search.index_articles inside the
-- transaction that stored or revised them; the same derivation as the backfill of migration
-- 0012 (search_terms() is the tokeniser that migration defines).
CREATE OR REPLACE TEMP TABLE search_scope_terms AS
SELECT a.article_id, unnest(search_terms(
           coalesce(a.title, '') || ' ' || coalesce(a.text, c.text, a.summary, ''))) AS term
FROM articles AS a LEFT JOIN articles AS c ON c.article_id = a.duplicate_of
WHERE a.article_id IN (SELECT article_id FROM search_scope);

INSERT INTO article_terms
SELECT article_id, term, count(*) FROM search_scope_terms GROUP BY ALL ORDER BY term;

INSERT INTO search_documents
SELECT article_id, count(*) FROM search_scope_terms GROUP BY ALL;

DROP TABLE search_scope_terms;
