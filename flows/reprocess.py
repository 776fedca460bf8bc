"""The reprocess flow: entities (and developments) again from stored text, on demand."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from newsmon import pipeline, warehouse
from newsmon.config import load_sources


@flow(name="reprocess", log_prints=True)
def reprocess(sources: str = "sources.yaml", db: str | None = None, batch_size: int = 500) -> int:
    """Recompute the entity stage over every stored article after a watch list changes."""
    logger = get_run_logger()
    config = load_sources(sources)
    db_path = Path(db) if db else config.settings.warehouse

    def progress(done: int, total: int) -> None:
        logger.info("reprocessed %d of %d articles", done, total)

    with warehouse.connect(db_path, wait=config.settings.lock_wait) as con:
        done = pipeline.reprocess(con, config, batch_size=batch_size, progress=progress)
        warehouse.refresh_snapshot(con, db_path)
    return done
