-- Full-text search: search_articles('ceasefire prisoner') ranks articles by BM25 (k1 = 1.2,
-- b = 0.75) over the index the loader keeps (article_terms, search_documents; migration
-- 0012). The query is split by the index's own tokeniser (search_terms), so "Ceasefires"
-- finds "ceasefire". Any term may match; `match_all := true` keeps only articles holding
-- every term. `matched` is how many of the query's terms an article holds. At most
-- `max_results` articles (0: all): the best are chosen before the articles are read, which
-- keeps a query of common words fast.
CREATE OR REPLACE MACRO search_articles(query, match_all := false, max_results := 1000) AS TABLE
WITH query_terms AS (
    SELECT DISTINCT unnest(search_terms(query)) AS term
),
stats AS (
    SELECT count(*) AS docs, avg(length) AS avg_length FROM search_documents
),
postings AS (
    SELECT t.article_id, t.term, t.tf
    FROM article_terms AS t
    WHERE t.term IN (SELECT term FROM query_terms)
),
idf AS (
    SELECT p.term, ln(1 + (s.docs - count(*) + 0.5) / (count(*) + 0.5)) AS idf
    FROM postings AS p CROSS JOIN stats AS s
    GROUP BY p.term, s.docs
),
scored AS (
    SELECT
        p.article_id,
        sum(i.idf * p.tf * 2.2 / (p.tf + 1.2 * (0.25 + 0.75 * d.length / s.avg_length))) AS score,
        count(*) AS matched
    FROM postings AS p
    JOIN idf AS i USING (term)
    JOIN search_documents AS d USING (article_id)
    CROSS JOIN stats AS s
    GROUP BY p.article_id
    HAVING NOT any_value(match_all) OR count(*) = (SELECT count(*) FROM query_terms)
    ORDER BY score DESC, p.article_id
    LIMIT CASE WHEN max_results > 0 THEN max_results END
)
SELECT
    a.article_id,
    a.title,
    a.url,
    a.published_at,
    coalesce(f.outlet, a.feed_id) AS outlet,
    round(sc.score, 4) AS score,
    sc.matched,
    a.feed_id,
    coalesce(a.story_id, a.duplicate_of, a.article_id) AS story_id,
    a.duplicate_of
FROM scored AS sc
JOIN articles AS a USING (article_id)
LEFT JOIN feeds AS f ON f.feed_id = a.feed_id
ORDER BY sc.score DESC, a.published_at DESC, a.article_id;
