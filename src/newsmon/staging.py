"""Staged batches: a cycle that cannot get the warehouse writes its load to Parquet instead.

A batch is a folder `<warehouse>.staging/<started_at>_<run_id>/` holding what the load
step needs — the new and updated articles, the feed statuses with their polling state,
the entity-stage results — and `run.json`. The folder is written under a temporary name
and renamed when complete, so a half-written batch is never read. The next run that gets
the warehouse loads staged batches first, oldest first, and deletes each one after its
transaction commits; a batch whose run is already in `runs` (a crash between commit and
delete) is only deleted, so nothing is loaded twice.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from newsmon.developments import Development
from newsmon.entities import ArticleEntities, EntityRef, Mention
from newsmon.extract import Article
from newsmon.feeds import FeedStatus
from newsmon.schedule import PageRetry, PollState
from newsmon.warehouse import ARTICLE_SCHEMA, RunRecord

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Batch:
    """The inputs of one load step."""

    run: RunRecord
    statuses: list[FeedStatus]
    articles: list[Article]
    updates: list[Article]
    entities: dict[str, ArticleEntities]
    # Stored articles whose page was fetched again and failed again.
    retries: list[PageRetry] = dataclasses.field(default_factory=list)


def staging_dir(warehouse: str | Path) -> Path:
    """The staging folder of a warehouse file."""
    warehouse = Path(warehouse)
    return warehouse.with_name(warehouse.name + ".staging")


def pending(warehouse: str | Path) -> list[Path]:
    """Complete staged batches, oldest first."""
    folder = staging_dir(warehouse)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def write(warehouse: str | Path, batch: Batch) -> Path:
    """Stage a batch; returns its folder."""
    folder = staging_dir(warehouse)
    name = f"{batch.run.started_at:%Y%m%dT%H%M%S}_{batch.run.run_id}"
    partial = folder / f".{name}.partial"
    partial.mkdir(parents=True, exist_ok=True)
    pq.write_table(_articles_table(batch.articles), partial / "articles.parquet")
    pq.write_table(_articles_table(batch.updates), partial / "updates.parquet")
    pq.write_table(_statuses_table(batch.statuses), partial / "feeds.parquet")
    pq.write_table(_retries_table(batch.retries), partial / "retries.parquet")
    pq.write_table(_mentions_table(batch.entities), partial / "mentions.parquet")
    pq.write_table(_topics_table(batch.entities), partial / "topics.parquet")
    pq.write_table(_developments_table(batch.entities), partial / "developments.parquet")
    (partial / "run.json").write_text(json.dumps(dataclasses.asdict(batch.run), default=str))
    final = folder / name
    partial.rename(final)
    log.warning("warehouse busy: staged run %s in %s", batch.run.run_id, final)
    return final


def read(folder: Path) -> Batch:
    """Read a staged batch back."""
    run_data = json.loads((folder / "run.json").read_text())
    for key in ("started_at", "finished_at"):
        if run_data.get(key):
            run_data[key] = datetime.fromisoformat(run_data[key])
    articles = [Article(**row) for row in pq.read_table(folder / "articles.parquet").to_pylist()]
    updates = [Article(**row) for row in pq.read_table(folder / "updates.parquet").to_pylist()]
    statuses = []
    for row in pq.read_table(folder / "feeds.parquet").to_pylist():
        state = PollState(
            **{k.removeprefix("state_"): v for k, v in row.items() if k.startswith("state_")}
        )
        fields = {k: v for k, v in row.items() if not k.startswith("state_")}
        statuses.append(FeedStatus(**fields, state=state))
    entities: dict[str, ArticleEntities] = {}
    for row in pq.read_table(folder / "mentions.parquet").to_pylist():
        found = entities.setdefault(row["article_id"], ArticleEntities([], {}))
        ref = EntityRef(row["name"], row["kind"], row["source"])
        found.mentions.append(Mention(ref, row["count"], row["first_offset"], set(row["surfaces"])))
    for row in pq.read_table(folder / "topics.parquet").to_pylist():
        entities.setdefault(row["article_id"], ArticleEntities([], {})).topics[row["topic"]] = row[
            "score"
        ]
    known = {f.name for f in dataclasses.fields(Development)}
    for row in pq.read_table(folder / "developments.parquet").to_pylist():
        article_id = row.pop("article_id")
        fields = {k: v for k, v in row.items() if k in known}
        for role in ("actors", "recipients"):
            fields[role] = [
                EntityRef(r["name"], r["kind"], r["source"]) for r in fields[role] or ()
            ]
        found = entities.setdefault(article_id, ArticleEntities([], {}))
        found.developments.append(Development(**fields))
    retries_file = folder / "retries.parquet"  # absent in batches staged before page retries
    retries = (
        [PageRetry(**row) for row in pq.read_table(retries_file).to_pylist()]
        if retries_file.exists()
        else []
    )
    return Batch(RunRecord(**run_data), statuses, articles, updates, entities, retries)


def remove(folder: Path) -> None:
    """Delete a batch once it is in the warehouse."""
    shutil.rmtree(folder)


FAILED = ".failed"  # a hidden folder of the staging folder: `pending` does not list it


def set_aside(folder: Path, error: BaseException) -> Path:
    """Move a staged batch that could not be loaded to `<staging>/.failed/`, with the error
    in `error.txt` beside its files, so the batches after it load; returns the new folder.
    Nothing of it is deleted: moving the folder back into the staging folder retries it."""
    failed = folder.parent / FAILED
    failed.mkdir(exist_ok=True)
    target = failed / folder.name
    folder.rename(target)
    (target / "error.txt").write_text(f"{type(error).__name__}: {error}\n", encoding="utf-8")
    return target


def set_aside_batches(warehouse: str | Path) -> list[Path]:
    """The staged batches set aside because they could not be loaded, oldest first."""
    failed = staging_dir(warehouse) / FAILED
    return sorted(p for p in failed.iterdir() if p.is_dir()) if failed.is_dir() else []


def _articles_table(articles: list[Article]) -> pa.Table:
    # ARTICLE_SCHEMA has every field of Article: the staged file is the row as loaded.
    return pa.Table.from_pylist([dataclasses.asdict(a) for a in articles], schema=ARTICLE_SCHEMA)


def _retries_table(retries: list[PageRetry]) -> pa.Table:
    schema = pa.schema(
        [
            ("article_id", pa.string()),
            ("error", pa.string()),
            ("error_kind", pa.string()),
            ("attempts", pa.int32()),
            ("retry_at", pa.timestamp("us")),
        ]
    )
    return pa.Table.from_pylist([dataclasses.asdict(r) for r in retries], schema=schema)


def _statuses_table(statuses: list[FeedStatus]) -> pa.Table:
    rows = []
    for status in statuses:
        row = {
            f.name: getattr(status, f.name)
            for f in dataclasses.fields(FeedStatus)
            if f.name != "state"
        }
        if status.state is not None:
            row.update({f"state_{k}": v for k, v in dataclasses.asdict(status.state).items()})
        rows.append(row)
    return pa.Table.from_pylist(rows) if rows else pa.table({"feed_id": pa.array([], pa.string())})


def _mentions_table(entities: dict[str, ArticleEntities]) -> pa.Table:
    rows = [
        {
            "article_id": article_id,
            "name": m.entity.name,
            "kind": m.entity.kind,
            "source": m.entity.source,
            "count": m.count,
            "first_offset": m.first_offset,
            "surfaces": sorted(m.surfaces),
        }
        for article_id, found in entities.items()
        for m in found.mentions
    ]
    schema = pa.schema(
        [
            ("article_id", pa.string()),
            ("name", pa.string()),
            ("kind", pa.string()),
            ("source", pa.string()),
            ("count", pa.int32()),
            ("first_offset", pa.int32()),
            ("surfaces", pa.list_(pa.string())),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


_REF = pa.struct([("name", pa.string()), ("kind", pa.string()), ("source", pa.string())])


def _developments_table(entities: dict[str, ArticleEntities]) -> pa.Table:
    rows = []
    for article_id, found in entities.items():
        for d in found.developments:
            row = dataclasses.asdict(d)  # EntityRefs become dicts of name, kind, source
            rows.append({"article_id": article_id, **row})
    fields = [pa.field("article_id", pa.string())]
    for f in dataclasses.fields(Development):
        if f.name in ("actors", "recipients"):
            fields.append(pa.field(f.name, pa.list_(_REF)))
        elif f.name in ("occurred_on", "scheduled_for"):
            fields.append(pa.field(f.name, pa.date32()))
        elif f.name in ("quantity", "confidence"):
            fields.append(pa.field(f.name, pa.float64()))
        elif f.name in ("start_offset", "end_offset"):
            fields.append(pa.field(f.name, pa.int64()))
        else:
            fields.append(pa.field(f.name, pa.string()))
    return pa.Table.from_pylist(rows, schema=pa.schema(fields))


def _topics_table(entities: dict[str, ArticleEntities]) -> pa.Table:
    rows = [
        {"article_id": a, "topic": t, "score": s}
        for a, found in entities.items()
        for t, s in found.topics.items()
    ]
    schema = pa.schema(
        [("article_id", pa.string()), ("topic", pa.string()), ("score", pa.float64())]
    )
    return pa.Table.from_pylist(rows, schema=schema)
