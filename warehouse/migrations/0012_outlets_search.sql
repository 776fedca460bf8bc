-- Outlets and full-text search (issue 20).
--
-- An outlet is a publisher, not a feed: sources.yaml lets feeds share an `outlet` (default:
-- the registered domain of the feed's URL), stored here on each poll. Every count of
-- outlets counts coalesce(feeds.outlet, articles.feed_id) over a story's articles.
--
-- Full-text search without the fts extension: `article_terms` holds each article's terms
-- with their frequency, `search_documents` each article's length in terms; the loader keeps
-- both for new and updated articles (warehouse/refresh/search_terms.sql) and the table
-- macro `search_articles` (views/40_search.sql) ranks articles by BM25. Plain SQL, so the
-- registry's duckdb CLI runs it on the snapshot.

ALTER TABLE feeds ADD COLUMN outlet VARCHAR;

-- Feeds stored before this migration: the host without "www." (the feed id for an IP
-- address or a name without a dot, as config.default_outlet does) until their next poll
-- writes the configured or registered-domain outlet.
UPDATE feeds SET outlet = CASE
    WHEN regexp_matches(host, '^[0-9.]+$|^\[|^[^.]*$') THEN feed_id
    ELSE regexp_replace(host, '^www\.', '')
END
FROM (SELECT feed_id AS id, lower(regexp_extract(url, '^[a-zA-Z]+://([^/:?#]+|\[[^]]+\])', 1)) AS host
      FROM feeds) AS h
WHERE feeds.feed_id = h.id;

-- The counts stored so far counted site names or URL hosts: counted again by outlet.
UPDATE stories AS s SET outlet_count = n.outlets
FROM (
    SELECT a.story_id, count(DISTINCT coalesce(f.outlet, a.feed_id)) AS outlets
    FROM articles AS a LEFT JOIN feeds AS f USING (feed_id)
    WHERE a.story_id IS NOT NULL
    GROUP BY ALL
) AS n
WHERE s.story_id = n.story_id;

UPDATE storylines AS s SET outlet_count = n.outlets
FROM (
    SELECT a.storyline_id, count(DISTINCT coalesce(f.outlet, a.feed_id)) AS outlets
    FROM articles AS a LEFT JOIN feeds AS f USING (feed_id)
    WHERE a.storyline_id IS NOT NULL
    GROUP BY ALL
) AS n
WHERE s.storyline_id = n.storyline_id;

UPDATE trend_story_outlets AS o SET outlets = n.outlets
FROM (
    SELECT coalesce(a.story_id, a.duplicate_of, a.article_id) AS story_id,
           count(DISTINCT coalesce(f.outlet, a.feed_id)) AS outlets
    FROM articles AS a LEFT JOIN feeds AS f USING (feed_id)
    GROUP BY ALL
) AS n
WHERE o.story_id = n.story_id;

-- The tokeniser, in SQL so that the index and every query split text the same way from any
-- client: lower-case runs of letters and digits of two characters or more, less a short
-- list of English function words, with one light suffix rule for plurals ("ceasefires" ->
-- "ceasefire", "parties" -> "party"; words ending in -ss, -us, -is keep their s). Changing
-- it means a new migration that rebuilds the index.
CREATE OR REPLACE MACRO search_stem(w) AS
    CASE
        WHEN length(w) > 4 AND suffix(w, 'ies') THEN left(w, length(w) - 3) || 'y'
        WHEN length(w) > 3 AND suffix(w, 's')
             AND NOT (suffix(w, 'ss') OR suffix(w, 'us') OR suffix(w, 'is'))
            THEN left(w, length(w) - 1)
        ELSE w
    END;

CREATE OR REPLACE MACRO search_terms(txt) AS
    list_transform(
        list_filter(regexp_extract_all(lower(coalesce(txt, '')), '[\p{L}\p{N}]+'),
                    lambda w: length(w) >= 2 AND NOT list_contains(
                        ['the', 'an', 'and', 'of', 'to', 'in', 'on', 'for', 'that', 'with', 'as',
                         'by', 'at', 'it', 'from', 'be', 'was', 'were', 'are', 'is', 'been',
                         'has', 'have', 'had', 'he', 'she', 'his', 'her', 'they', 'their', 'its',
                         'this', 'or', 'but', 'not', 'will', 'would', 'which', 'who'], w)),
        lambda w: search_stem(w));

-- One row per article and term: how often the term occurs in its headline and text.
CREATE TABLE article_terms (
    article_id VARCHAR NOT NULL,
    term       VARCHAR NOT NULL,
    tf         INTEGER NOT NULL
);

-- One row per indexed article: its length in terms (BM25 normalises by it).
CREATE TABLE search_documents (
    article_id VARCHAR NOT NULL,
    length     INTEGER NOT NULL
);

-- The articles stored so far; an exact duplicate (text NULL) is indexed with its
-- canonical article's text, so it is found like the article it copies.
CREATE TEMP TABLE search_backfill AS
SELECT a.article_id, unnest(search_terms(
           coalesce(a.title, '') || ' ' || coalesce(a.text, c.text, a.summary, ''))) AS term
FROM articles AS a LEFT JOIN articles AS c ON c.article_id = a.duplicate_of;

INSERT INTO article_terms
SELECT article_id, term, count(*) FROM search_backfill GROUP BY ALL ORDER BY term;

INSERT INTO search_documents
SELECT article_id, count(*) FROM search_backfill GROUP BY ALL;

DROP TABLE search_backfill;
