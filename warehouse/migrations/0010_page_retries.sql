-- Failed page fetches are retried (newsmon.schedule.page_retry_at): an article whose page
-- failed for a temporary reason keeps its feed text and a time to try its page again; when
-- the page arrives the article is revised in place (text, entities, duplicates).
-- Articles stored before this migration with feed text because their page failed in a way
-- that may have been temporary (before it, an unreachable robots.txt was recorded as a
-- refusal) and fetched in the last week get one more try at the next run.

ALTER TABLE articles ADD COLUMN fetch_error_kind VARCHAR;
ALTER TABLE articles ADD COLUMN fetch_attempts INTEGER DEFAULT 0;
ALTER TABLE articles ADD COLUMN fetch_retry_at TIMESTAMP;
ALTER TABLE runs ADD COLUMN pages_retried INTEGER DEFAULT 0;
ALTER TABLE runs ADD COLUMN pages_recovered INTEGER DEFAULT 0;

UPDATE articles SET fetch_attempts = CASE WHEN fetch_error IS NULL THEN 0 ELSE 1 END;
UPDATE articles
SET fetch_retry_at = fetched_at
WHERE text_source = 'feed'
  AND url IS NOT NULL
  AND fetched_at >= (SELECT max(fetched_at) FROM articles) - INTERVAL 7 DAY
  AND (fetch_error = 'disallowed by robots.txt'
       OR fetch_error LIKE 'timed out%'
       OR fetch_error LIKE 'HTTP 5%'
       OR fetch_error = 'HTTP 429'
       OR fetch_error LIKE 'cannot resolve%'
       OR fetch_error LIKE 'Connect%'
       OR fetch_error LIKE 'ReadError%'
       OR fetch_error LIKE 'RemoteProtocolError%');
