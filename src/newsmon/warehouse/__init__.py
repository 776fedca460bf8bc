"""The DuckDB warehouse: one module per stage's rows, re-exported here as `newsmon.warehouse`.

Read in the order an article travels:

- `db`: opening the file, migrations and views, the read-only snapshot
- `polling`: feeds and their polling state, pages due to be fetched again
- `duplicates`: the deduplication stage's look-ups (stored keys, hashes, LSH candidates)
- `stories`: article features, story centroids and candidates, the `stories` rows
- `entities`, `developments`: entities, aliases, mentions, topics, developments
- `search`: the full-text index of articles (`article_terms`, `search_articles`)
- `trends`: the trend tables, recomputed for the stories a change touches
- `load`: one poll cycle in one transaction, and the run's figures
"""

from newsmon.warehouse.db import (
    STORAGE_VERSION,
    connect,
    migrate,
    migrations,
    refresh_snapshot,
    snapshot_path,
    sql_dir,
)
from newsmon.warehouse.developments import (
    revisions_for_reprocessing,
    store_revision_developments,
)
from newsmon.warehouse.duplicates import known_hashes, known_keys, near_candidates
from newsmon.warehouse.entities import (
    SpellingIndex,
    _best_matches,
    _resolve_entities,
    store_entities,
    texts_for_reprocessing,
)
from newsmon.warehouse.load import (
    ARTICLE_SCHEMA,
    RunRecord,
    load_cycle,
    page_failures,
    run_summary,
)
from newsmon.warehouse.polling import (
    FEED_SCHEMA,
    due_page_retries,
    enable_feed,
    feed_report,
    poll_states,
)
from newsmon.warehouse.search import index_articles
from newsmon.warehouse.search import search as search_articles
from newsmon.warehouse.stories import (
    stale_open_stories,
    stories_of,
    story_candidates,
    story_warm_start,
    term_statistics,
)
from newsmon.warehouse.trends import (
    TREND_TABLES,
    cluster_trends,
    rebuild_trends,
    refresh_trends,
)

__all__ = [
    "revisions_for_reprocessing",
    "store_revision_developments",
    "ARTICLE_SCHEMA",
    "FEED_SCHEMA",
    "STORAGE_VERSION",
    "TREND_TABLES",
    "RunRecord",
    "SpellingIndex",
    "_best_matches",
    "_resolve_entities",
    "cluster_trends",
    "connect",
    "due_page_retries",
    "enable_feed",
    "feed_report",
    "index_articles",
    "known_hashes",
    "known_keys",
    "load_cycle",
    "migrate",
    "migrations",
    "near_candidates",
    "page_failures",
    "poll_states",
    "rebuild_trends",
    "refresh_snapshot",
    "refresh_trends",
    "run_summary",
    "search_articles",
    "snapshot_path",
    "sql_dir",
    "stale_open_stories",
    "stories_of",
    "story_candidates",
    "story_warm_start",
    "store_entities",
    "term_statistics",
    "texts_for_reprocessing",
]
