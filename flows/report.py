"""The report flow: the HTML report with charts, daily, also published as a Prefect artifact link."""

from __future__ import annotations

from pathlib import Path

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from newsmon import queries, report
from newsmon.config import load_sources


@flow(name="report", log_prints=True)
def daily_report(
    sources: str = "sources.yaml",
    db: str | None = None,
    days: int = 14,
    topic: str = "*",
    out: str = "data/report.html",
) -> str:
    """Write the self-contained HTML report of the last `days` days with data."""
    config = load_sources(sources)
    db_path = Path(db) if db else config.settings.warehouse
    with queries.open_for_query(db_path) as con:
        path = report.write(con, Path(out), days, topic)
    create_markdown_artifact(
        f"Report of the last {days} days ({'all articles' if topic == '*' else topic}) written to "
        f"`{path.resolve()}`.",
        key="report",
        description="Where the latest report is",
    )
    return str(path.resolve())
