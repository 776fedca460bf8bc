-- Story centroids kept between runs, so a run loads only the open stories its articles
-- probe instead of rebuilding every open story from its articles' features. A story open
-- without a row here (stored before this migration, or by another features version) makes
-- the next run rebuild the open stories once from article_features. See warehouse/README.md.

CREATE TABLE story_vectors (
    story_id  VARCHAR PRIMARY KEY,
    version   INTEGER NOT NULL,     -- stories.FEATURES_VERSION of the articles it sums
    last_at   TIMESTAMP,            -- its latest dated article: open while within the window
    size      INTEGER NOT NULL,     -- articles joined
    terms     VARCHAR[] NOT NULL,   -- centroid: the sum of its articles' unit tf-idf vectors
    weights   DOUBLE[] NOT NULL,
    indexed   INTEGER NOT NULL,     -- terms[:indexed] lead a new article to the story
    norm      DOUBLE NOT NULL       -- of the centroid
);
