-- Story seeds: an article joins a story only if it is also close to the story's first
-- article (newsmon.stories, `stories.seed_threshold`), so each stored story keeps that
-- article's unit vector beside its centroid. Rows stored before this migration have no seed:
-- they are dropped, and the next run rebuilds the open stories once from article_features
-- (the path a new features version takes); closed stories need no row.

ALTER TABLE story_vectors ADD COLUMN seed_terms VARCHAR[];
ALTER TABLE story_vectors ADD COLUMN seed_weights DOUBLE[];
DELETE FROM story_vectors;
