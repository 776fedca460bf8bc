-- Near-duplicate detection: MinHash LSH band keys per article (candidate blocking in SQL),
-- and the outlet-scoped article id found in URLs (an article updated in place keeps it).

ALTER TABLE articles ADD COLUMN url_key VARCHAR;   -- '<host>#<trailing numeric id>' or NULL

CREATE TABLE article_lsh (
    article_id VARCHAR NOT NULL,
    band       SMALLINT NOT NULL,
    key        BIGINT NOT NULL
);
