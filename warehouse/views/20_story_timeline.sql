-- Per story and outlet: when the outlet first reported it and how long after the first
-- report that was (lag), with its number of articles. Narrow with topic and first_day.
-- trend_story_outlets holds these rows already (the story-wide minimum and outlet count
-- need every article of the story, which no date filter could narrow).
CREATE OR REPLACE VIEW story_timeline AS
SELECT
    o.topic,
    o.story_id,
    st.title,
    o.first_day,
    o.feed_id,
    o.first_report,
    o.lag,
    CAST(o.articles AS BIGINT) AS articles,
    CAST(o.outlets AS BIGINT) AS outlets  -- publishers: feeds of one outlet count once
FROM trend_story_outlets AS o
LEFT JOIN stories AS st USING (story_id);
