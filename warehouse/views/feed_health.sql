-- Per feed: the latest status and the success rate over its recorded polls.
CREATE OR REPLACE VIEW feed_health AS
WITH polls AS (
    SELECT
        feed_id,
        count(*) AS polls,
        count(*) FILTER (WHERE status <> 'error') AS polls_ok,
        sum(new_entries) AS new_entries,
        avg(elapsed_ms) AS avg_elapsed_ms
    FROM feed_polls
    GROUP BY ALL
)
SELECT
    f.feed_id,
    f.name,
    f.url,
    f.last_polled_at,
    f.last_status,
    f.last_http_status,
    f.last_error,
    f.consecutive_failures,
    coalesce(p.polls, 0) AS polls,
    round(p.polls_ok / p.polls, 3) AS success_rate,
    coalesce(p.new_entries, 0) AS new_entries,
    round(p.avg_elapsed_ms, 1) AS avg_elapsed_ms
FROM feeds AS f
LEFT JOIN polls AS p USING (feed_id);
