-- What each update changed in the text, stored when the update is loaded: the sentences the
-- next version added and removed, on the row of the version it replaced. `article_changes`
-- read them from the texts at every query before, which grew with every revision stored
-- (1,000 revised articles: 0.8 s). Sentences are runs of text ending in . ! or ?, compared
-- with their white space collapsed (`article_sentences`, which the loader uses too).
CREATE OR REPLACE MACRO article_sentences(t) AS list_filter(
    list_transform(regexp_extract_all(coalesce(t, ''), '[^.!?]+[.!?]*'),
                   lambda s: trim(regexp_replace(s, '\s+', ' ', 'g'))),
    lambda s: length(s) > 0);

CREATE OR REPLACE MACRO sentences_not_in(sentences, others) AS
    list_filter(sentences, lambda s: NOT list_contains(others, s));

ALTER TABLE article_revisions ADD COLUMN sentences_added VARCHAR[];
ALTER TABLE article_revisions ADD COLUMN sentences_removed VARCHAR[];

-- The revisions stored before: each against the version that replaced it, a later revision
-- or the article as it stands.
UPDATE article_revisions AS r SET
    sentences_added = sentences_not_in(article_sentences(n.text), article_sentences(r.text)),
    sentences_removed = sentences_not_in(article_sentences(r.text), article_sentences(n.text))
FROM (
    SELECT article_id, revision, text FROM article_revisions
    UNION ALL
    SELECT article_id, revision, text FROM articles
    WHERE article_id IN (SELECT article_id FROM article_revisions)
) AS n
WHERE n.article_id = r.article_id AND n.revision = r.revision + 1;
