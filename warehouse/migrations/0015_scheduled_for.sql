-- Developments that have not happened yet (proposed, called for, agreed, rejected) get the day
-- the sentence gives for them, read forward from when it was said: "talks on Sunday" in a
-- Friday article is that Sunday. NULL for what happened, and where no day is given.
-- Rows stored before keep NULL until `newsmon reprocess` reads their articles again.
ALTER TABLE developments ADD COLUMN scheduled_for DATE;
