"""The report flow: the morning HTML report, and its headline content as a Prefect artifact."""

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
    days: int | None = None,
    topic: str = "*",
    out: str | None = None,
) -> str:
    """Write the self-contained HTML report (default: beside the warehouse, as `newsmon
    report` does) and attach its top stories and developments to the run as markdown.

    `days`: None covers the topic's recent activity from the start of its running
    storylines; N the N days to the newest with stories; 0 every day."""
    config = load_sources(sources)
    db_path = Path(db) if db else config.settings.warehouse
    target = Path(out) if out else report.default_path(db_path, topic)
    with queries.open_for_query(db_path) as con:
        path, markdown = report.write_with_headline(con, target, days, topic)
    # The UI shows the artifact, not the file: the headline content goes in it, and the
    # file's location for the whole page (it lives on the machine that ran the flow).
    create_markdown_artifact(
        markdown,
        key=f"report-{_key(topic)}",
        description=f"Top stories and developments; the full report is {path.resolve()}",
    )
    print(f"report written to {path.resolve()}")
    return str(path.resolve())


def _key(topic: str) -> str:
    # Artifact keys take lower-case letters, digits and dashes only.
    cleaned = "".join(c if c.isalnum() else "-" for c in topic.lower()).strip("-")
    return cleaned or "all"
