"""DuckLake feasibility study for newsmon (issue 23): a lake in place of the one-file warehouse.

Runs under DuckDB 1.5.5 with the DuckLake and postgres extensions, in a venv of its own made
by setup.sh (no DuckLake build loads in duckdb 2.0.0, which the project pins; see
docs/ducklake.md). The lake holds one synthetic `articles` table shaped like newsmon's: a
32-hex-digit id (md5; newsmon's are 16), a feed out of 500, an 80-character title, 2,000
characters of pseudo-words, one article every 15 s from 2021-01-01, three articles a story.

Subcommands (WORK is a folder this script empties first; --catalog is `duck` for a DuckDB-file
catalog WORK/meta.ducklake, or `postgres:<libpq DSN>` for a PostgreSQL catalog kept in the
schema --pg-schema of that database, dropped and made anew at the start; for `bench` also
`native`: no lake but one DuckDB file as newsmon keeps its warehouse, a baseline that needs no
extension and so runs under the project's .venv with duckdb 2.0.0 as well):

  bench WORK         grows the table to each of --sizes rows (500,000-row inserts) and, at each,
                     times five 1,000-row commits, ATTACH in a new connection, a point look-up
                     by article_id, a trend by day over all rows and over the last 30 days, and
                     count(*). At sizes up to --maintain-max-rows it then makes --small-commits
                     commits of 1,000 rows and times the maintenance newsmon would schedule:
                     ducklake_merge_adjacent_files, then ducklake_expire_snapshots and
                     ducklake_cleanup_old_files, counting Parquet files and snapshots between.
  concurrency WORK   --writers processes attach the same lake, wait for a common start time,
                     and each make --commits commits of --rows rows; prints per writer the
                     commits stored and lost, the errors seen, commit times, then the rows
                     stored against those expected and the order of the commits by writer.
                     --max-retry sets ducklake_max_retry_count (DuckLake's own retry of a
                     conflicting commit; default 10); --retries adds retries in the writer;
                     --reattach makes every commit connect, ATTACH, insert, close (retrying 200
                     times), the only way two processes can share a DuckDB-file catalog.
  features WORK      tries what newsmon's warehouse code relies on in a lake: PRIMARY KEY,
                     UNIQUE, CREATE INDEX, INSERT OR IGNORE / OR REPLACE, ON CONFLICT, MERGE
                     INTO, UPDATE (OK or the error), then what two UPDATEs of 100 rows in a
                     1,000-row table leave (data and delete files) and what maintenance
                     (rewrite_data_files, merge, expire, cleanup) removes, with the rewrite's
                     default delete_threshold and with 0.
  sample-lake WORK   writes a small lake with a DuckDB-file catalog (three 1,000-row inserts,
                     a one-row insert that DuckLake inlines in the catalog, a DELETE that writes
                     a delete file) and WORK/expected.json with what DuckDB 1.5.5 reads back;
                     read_lake_2_0.py then reads it with the project's duckdb 2.0.0.

Every figure is printed as a table line (catalog, rows in the table, measure, values); --json
FILE also writes them as JSON lines. Times are wall-clock with threads=1 (--threads).

    bench/ducklake/setup.sh venv /tmp/lake                      # duckdb 1.5.5 + extensions
    bench/ducklake/setup.sh pg-start /tmp/lake 54329            # optional: PostgreSQL
    PY=/tmp/lake/venv/bin/python
    $PY bench/ducklake/study.py bench /tmp/lake/b_duck --sizes 100000,1000000,10000000
    $PY bench/ducklake/study.py bench /tmp/lake/b_pg --sizes 100000,1000000 \\
        --catalog 'postgres:host=127.0.0.1 port=54329 user=postgres dbname=postgres'
    $PY bench/ducklake/study.py concurrency /tmp/lake/c_duck                # 2nd cannot attach
    $PY bench/ducklake/study.py concurrency /tmp/lake/c_duck --reattach
    $PY bench/ducklake/study.py concurrency /tmp/lake/c_pg --catalog 'postgres:...'
    $PY bench/ducklake/study.py concurrency /tmp/lake/c_pg --catalog 'postgres:...' --max-retry 0
    $PY bench/ducklake/study.py concurrency /tmp/lake/c_pg --catalog 'postgres:...' --writers 4
    .venv/bin/python bench/ducklake/study.py bench /tmp/lake/b_native --catalog native
    $PY bench/ducklake/study.py features /tmp/lake/f
    $PY bench/ducklake/study.py sample-lake /tmp/lake/q3
    .venv/bin/python bench/ducklake/read_lake_2_0.py /tmp/lake/q3           # duckdb 2.0.0
    bench/ducklake/setup.sh pg-stop /tmp/lake

The extension directory defaults to `extdir` beside the venv (setup.sh's layout): --extdir.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

# DuckLake has no PRIMARY KEY; the native baseline keeps newsmon's (migration 0001).
TABLE_DDL = """CREATE TABLE lake.articles(article_id VARCHAR{key}, feed_id VARCHAR, title VARCHAR,
    text VARCHAR, published_at TIMESTAMP, story_id VARCHAR)"""

# About 1.2 MB of pseudo-words; each article's text is a 2,000-character window of it.
CORPUS_SQL = """CREATE TEMP TABLE corpus AS
    SELECT string_agg(substr(md5((hash(i) % 5000)::VARCHAR), 1, 2 + (hash(i) % 5000 % 9)::INT),
                      ' ' ORDER BY i) AS s
    FROM range(200000) t(i)"""

ARTICLES_SQL = """INSERT INTO lake.articles
    SELECT md5('art' || i), 'feed' || (hash(i) % 500),
           substr(c.s, (hash(i, 7) % ({clen} - 200))::BIGINT + 1, 80),
           substr(c.s, (hash(i) % ({clen} - 2100))::BIGINT + 1, 2000),
           TIMESTAMP '2021-01-01' + to_seconds(i * 15), md5('story' || (i // 3))
    FROM range($lo, $hi) t(i), corpus c"""

WRITER_SQL = """INSERT INTO lake.articles
    SELECT md5($writer || '-' || i), $writer, 't', repeat('x', 2000), now()::TIMESTAMP, 's'
    FROM range($lo, $hi) t(i)"""

LOOKUP_SQL = "SELECT title, published_at FROM lake.articles WHERE article_id = md5('art' || $k)"
TREND_ALL_SQL = """SELECT date_trunc('day', published_at) AS day, count(*) FROM lake.articles
    GROUP BY 1 ORDER BY 1"""
TREND_30D_SQL = """SELECT date_trunc('day', published_at) AS day, count(*) FROM lake.articles
    WHERE published_at >= (SELECT max(published_at) FROM lake.articles) - INTERVAL 30 DAY
    GROUP BY 1 ORDER BY 1"""

BULK_ROWS = 500_000
COMMIT_ROWS = 1_000
REATTACH_TRIES = 200


# --- the lake -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Lake:
    """Where a lake lives: WORK/data/ for Parquet, and a DuckDB-file or PostgreSQL catalog.

    The catalog `native` is no lake: one DuckDB file WORK/data/warehouse.duckdb in the storage
    format newsmon writes (v1.5.0), attached as `lake` too, as a baseline for the same SQL.
    """

    work: Path
    catalog: str  # "duck", "postgres:<DSN>" or "native"
    pg_schema: str
    extdir: Path
    threads: int

    @property
    def kind(self) -> str:
        if self.catalog.startswith("postgres:"):
            return "pg"
        return "native" if self.catalog == "native" else "duck"

    @property
    def data_path(self) -> Path:
        return self.work / "data"

    def attach_sql(self, read_only: bool = False) -> str:
        if self.kind == "native":
            mode = "READ_ONLY" if read_only else "STORAGE_VERSION 'v1.5.0'"
            return f"ATTACH '{self.data_path / 'warehouse.duckdb'}' AS lake ({mode})"
        options = [f"DATA_PATH '{self.data_path}/'"]
        if self.kind == "pg":
            target = f"ducklake:{self.catalog}"
            options.append(f"METADATA_SCHEMA '{self.pg_schema}'")
        else:
            target = f"ducklake:{self.work / 'meta.ducklake'}"
        if read_only:
            options.append("READ_ONLY")
        return f"ATTACH '{target}' AS lake ({', '.join(options)})"

    def table_ddl(self) -> str:
        return TABLE_DDL.format(key=" PRIMARY KEY" if self.kind == "native" else "")

    def new_connection(self) -> duckdb.DuckDBPyConnection:
        config = {
            "extension_directory": str(self.extdir),
            "autoinstall_known_extensions": False,
            "threads": self.threads,
            "memory_limit": "3GB",
        }
        con = duckdb.connect(config=config)
        if self.kind != "native":
            con.execute("LOAD ducklake")
        if self.kind == "pg":
            con.execute("LOAD postgres")
        return con

    def connect(self, max_retry: int | None = None) -> tuple[duckdb.DuckDBPyConnection, float]:
        """A new connection with the lake attached as `lake`, and the seconds ATTACH took."""
        con = self.new_connection()
        if max_retry is not None and self.kind != "native":
            con.execute(f"SET ducklake_max_retry_count = {max_retry}")
        started = time.perf_counter()
        try:
            con.execute(self.attach_sql())
        except duckdb.Error:
            con.close()
            raise
        return con, time.perf_counter() - started

    def reset(self) -> None:
        """Empties WORK (and the catalog schema in PostgreSQL) for a new lake."""
        shutil.rmtree(self.work, ignore_errors=True)
        self.data_path.mkdir(parents=True)
        if self.kind == "pg":
            con = self.new_connection()
            dsn = self.catalog.removeprefix("postgres:")
            con.execute(f"ATTACH '{dsn}' AS admin (TYPE postgres)")
            schema = self.pg_schema
            sql = f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            con.execute("CALL postgres_execute('admin', ?)", [sql])
            con.close()

    def files_on_disk(self) -> tuple[int, int]:
        """Files under the data path and their bytes (Parquet data and delete files)."""
        paths = [Path(root, name) for root, _, names in os.walk(self.data_path) for name in names]
        return len(paths), sum(path.stat().st_size for path in paths)


# --- printing -----------------------------------------------------------------------------


@dataclass
class Report:
    """Prints one table line per figure and keeps them for --json."""

    kind: str
    lines: list[dict] = field(default_factory=list)

    def header(self) -> None:
        print(f"{'catalog':<8} {'rows':>12}  {'measure':<50} values", flush=True)

    def line(self, rows: int | None, measure: str, value: object, sep: str = " ") -> None:
        shown = sep.join(str(v) for v in value) if isinstance(value, list) else str(value)
        rows_shown = f"{rows:,}" if rows is not None else "-"
        print(f"{self.kind:<8} {rows_shown:>12}  {measure:<50} {shown}", flush=True)
        self.lines.append({"catalog": self.kind, "rows": rows, "measure": measure, "value": value})

    def note(self, text: str) -> None:
        print(f"{self.kind:<8} {'':>12}  {text}", flush=True)

    def write_json(self, path: Path | None) -> None:
        if path is not None:
            with path.open("a", encoding="utf-8") as out:
                for line in self.lines:
                    out.write(json.dumps(line) + "\n")


def ms(seconds: float) -> int:
    return round(seconds * 1000)


def timed(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> tuple[float, list]:
    started = time.perf_counter()
    rows = con.execute(sql, params or {}).fetchall()
    return time.perf_counter() - started, rows


def times_ms(con: duckdb.DuckDBPyConnection, sql: str, reps: int, params=None) -> list[int]:
    return [ms(timed(con, sql, params)[0]) for _ in range(reps)]


# --- bench ----------------------------------------------------------------------------------


class ArticleWriter:
    """Appends synthetic articles with contiguous ids 0..rows-1 through one connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.rows = 0
        self.attach(con)

    def attach(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        con.execute(CORPUS_SQL)
        clen = con.execute("SELECT length(s) FROM corpus").fetchone()[0]
        self.insert_sql = ARTICLES_SQL.format(clen=clen)

    def append(self, count: int) -> float:
        started = time.perf_counter()
        self.con.execute(self.insert_sql, {"lo": self.rows, "hi": self.rows + count})
        self.rows += count
        return time.perf_counter() - started

    def grow_to(self, target: int) -> float:
        """Bulk inserts of up to 500,000 rows until the table holds `target` rows."""
        seconds = 0.0
        while self.rows < target:
            seconds += self.append(min(BULK_ROWS, target - self.rows))
        return seconds


def measure_queries(lake: Lake, writer: ArticleWriter, report: Report) -> None:
    """Five 1,000-row commits, then ATTACH, look-up and trends in a new connection."""
    commits = [ms(writer.append(COMMIT_ROWS)) for _ in range(5)]
    report.line(writer.rows, "commit of 1,000 rows (ms, 5 commits)", commits)
    writer.con.close()
    con, attach_s = lake.connect()
    writer.attach(con)
    rows = writer.rows
    report.line(rows, "ATTACH in a new connection (ms)", ms(attach_s))
    key = {"k": rows // 2 + 17}
    assert len(con.execute(LOOKUP_SQL, key).fetchall()) == 1
    report.line(rows, "point look-up by article_id (ms, 3 runs)", times_ms(con, LOOKUP_SQL, 3, key))
    days = len(con.execute(TREND_ALL_SQL).fetchall())
    report.line(
        rows, f"trend by day, all {days} days (ms, 2 runs)", times_ms(con, TREND_ALL_SQL, 2)
    )
    report.line(rows, "trend by day, last 30 days (ms, 2 runs)", times_ms(con, TREND_30D_SQL, 2))
    count_s, count = timed(con, "SELECT count(*) FROM lake.articles")
    assert count[0][0] == rows, (count, rows)
    report.line(rows, "count(*) (ms)", ms(count_s))


def snapshot_count(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT count(*) FROM lake.snapshots()").fetchone()[0]


def small_commits_then_maintain(
    lake: Lake, writer: ArticleWriter, commits: int, report: Report
) -> None:
    """Many 1,000-row commits (many small files), then merge, expire and clean up."""
    con = writer.con
    files_before, _ = lake.files_on_disk()
    started = time.perf_counter()
    each = [writer.append(COMMIT_ROWS) for _ in range(commits)]
    rows = writer.rows
    report.line(
        rows,
        f"{commits} 1,000-row commits: total s, median ms, max ms",
        [round(time.perf_counter() - started, 1), ms(statistics.median(each)), ms(max(each))],
    )
    report.line(
        rows,
        "files on disk before / after those commits",
        [files_before, lake.files_on_disk()[0]],
        sep=" / ",
    )
    report.line(rows, "snapshots", snapshot_count(con))
    key = {"k": rows - 500}
    report.line(rows, "look-up of a recent article (ms, 3 runs)", times_ms(con, LOOKUP_SQL, 3, key))
    merge_s, _ = timed(con, "CALL ducklake_merge_adjacent_files('lake')")
    live = con.execute("SELECT count(*) FROM ducklake_list_files('lake', 'articles')").fetchone()[0]
    report.line(rows, "ducklake_merge_adjacent_files (s)", round(merge_s, 1))
    report.line(
        rows, "files on disk / live files after merge", [lake.files_on_disk()[0], live], sep=" / "
    )
    expire_s, expired = timed(con, "CALL ducklake_expire_snapshots('lake', older_than => now())")
    cleanup_s, cleaned = timed(con, "CALL ducklake_cleanup_old_files('lake', cleanup_all => true)")
    report.line(rows, "expire_snapshots + cleanup_old_files (s)", round(expire_s + cleanup_s, 1))
    report.line(rows, "snapshots expired / files deleted", [len(expired), len(cleaned)], sep=" / ")
    report.line(
        rows,
        "files on disk / snapshots after cleanup",
        [lake.files_on_disk()[0], snapshot_count(con)],
        sep=" / ",
    )
    report.line(rows, "look-up of a recent article (ms, 3 runs)", times_ms(con, LOOKUP_SQL, 3, key))
    assert con.execute("SELECT count(*) FROM lake.articles").fetchone()[0] == rows


def run_bench(lake: Lake, args: argparse.Namespace, report: Report) -> None:
    lake.reset()
    con, _ = lake.connect()
    con.execute(lake.table_ddl())
    writer = ArticleWriter(con)
    build_s = 0.0
    report.header()
    for target in args.sizes:
        build_s += writer.grow_to(target)
        files, size = lake.files_on_disk()
        report.line(
            writer.rows,
            "built: cumulative s, files, MB",
            [round(build_s, 1), files, size >> 20],
        )
        measure_queries(lake, writer, report)
        if target <= args.maintain_max_rows and lake.kind != "native":
            small_commits_then_maintain(lake, writer, args.small_commits, report)
    writer.con.close()


# --- concurrency ------------------------------------------------------------------------------


def writer_process(lake: Lake, args: argparse.Namespace) -> dict:
    """One writer: its commits of --rows rows, as a dict printed for the parent."""
    name = f"writer-{args.writer_id}"
    result = {"writer": name, "stored": 0, "lost": 0, "retries": 0, "errors": [], "ms": []}
    con = None
    if not args.reattach:
        try:
            con, _ = lake.connect(args.max_retry)
        except duckdb.Error as exc:
            result["errors"].append(f"ATTACH: {exc}")
            result["lost"] = args.commits
            return result
    time.sleep(max(0.0, args.start_at - time.time()))
    for commit in range(args.commits):
        params = {"writer": name, "lo": commit * args.rows, "hi": (commit + 1) * args.rows}
        if args.reattach:
            commit_reattaching(lake, args, params, result)
        else:
            commit_with_retries(con, args.retries, params, result)
    return result


def _attempts(action, tries: int, pause: float, result: dict) -> None:
    """Run `action` until it succeeds or `tries` are spent, counting into `result`."""
    for attempt in range(tries):
        started = time.perf_counter()
        try:
            action()
        except duckdb.Error as exc:
            result["errors"].append(str(exc))
            if attempt < tries - 1:
                result["retries"] += 1
                time.sleep(pause)
            continue
        result["stored"] += 1
        result["ms"].append(ms(time.perf_counter() - started))
        return
    result["lost"] += 1


def commit_with_retries(con, retries: int, params: dict, result: dict) -> None:
    _attempts(lambda: con.execute(WRITER_SQL, params), 1 + retries, 0.05, result)


def insert_in_new_connection(lake: Lake, max_retry: int | None, params: dict) -> None:
    con, _ = lake.connect(max_retry)
    try:
        con.execute(WRITER_SQL, params)
    finally:
        con.close()


def commit_reattaching(lake: Lake, args: argparse.Namespace, params: dict, result: dict) -> None:
    _attempts(
        lambda: insert_in_new_connection(lake, args.max_retry, params),
        REATTACH_TRIES,
        0.02,
        result,
    )


def start_writers(lake: Lake, args: argparse.Namespace) -> list[dict]:
    """Starts the writer processes with a common start time; their results, in writer order."""
    command = [sys.executable, __file__, "_writer", *lake_argv(lake, args)]
    command += ["--start-at", str(time.time() + args.start_delay)]
    processes = [
        subprocess.Popen([*command, "--writer-id", str(i)], stdout=subprocess.PIPE, text=True)
        for i in range(args.writers)
    ]
    results = []
    for process in processes:
        out, _ = process.communicate()
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def lake_argv(lake: Lake, args: argparse.Namespace) -> list[str]:
    argv = [str(lake.work), "--catalog", lake.catalog, "--pg-schema", lake.pg_schema]
    argv += ["--extdir", str(lake.extdir), "--threads", str(lake.threads)]
    counts = {"--commits": args.commits, "--rows": args.rows, "--retries": args.retries}
    argv += [str(item) for pair in counts.items() for item in pair]
    if args.max_retry is not None:
        argv += ["--max-retry", str(args.max_retry)]
    if args.reattach:
        argv.append("--reattach")
    return argv


def print_writer(result: dict, report: Report) -> None:
    times = result["ms"]
    report.line(
        None,
        f"{result['writer']}: commits stored / lost / retried",
        [result["stored"], result["lost"], result["retries"]],
        sep=" / ",
    )
    if times:
        report.line(
            None,
            f"{result['writer']}: commit ms median / max",
            [int(statistics.median(times)), max(times)],
            sep=" / ",
        )
    first_lines = {error.splitlines()[0]: error for error in result["errors"]}
    report.line(
        None,
        f"{result['writer']}: errors / kinds (first line)",
        [len(result["errors"]), len(first_lines)],
        sep=" / ",
    )
    for error in first_lines.values():
        report.note("ERROR " + shorten(error.replace("\n", " | ")))


def shorten(text: str, head: int = 400, tail: int = 300) -> str:
    """The start and end of a long error (DuckLake's carry the failed catalog SQL between)."""
    return text if len(text) <= head + tail else f"{text[:head]} ... {text[-tail:]}"


def commit_order(con: duckdb.DuckDBPyConnection) -> str:
    """The writer of each snapshot that inserted rows, in snapshot order ('0101...')."""
    last = con.execute("SELECT max(snapshot_id) FROM lake.snapshots()").fetchone()[0]
    changes = "ducklake_table_changes('lake', 'main', 'articles', 0, $last)"
    sql = f"SELECT snapshot_id, min(feed_id) FROM {changes} GROUP BY 1 ORDER BY 1"
    rows = con.execute(sql, {"last": last}).fetchall()
    return "".join(writer.removeprefix("writer-") for _, writer in rows)


def run_concurrency(lake: Lake, args: argparse.Namespace, report: Report) -> None:
    lake.reset()
    con, _ = lake.connect()
    con.execute(lake.table_ddl())
    con.close()
    mode = "reattach per commit" if args.reattach else "one connection per writer"
    retry = "default (10)" if args.max_retry is None else args.max_retry
    report.header()
    report.note(f"{args.writers} writers x {args.commits} commits x {args.rows} rows; {mode}")
    report.note(f"ducklake_max_retry_count {retry}; retries in the writer {args.retries}")
    started = time.perf_counter()
    results = start_writers(lake, args)
    wall = time.perf_counter() - started - args.start_delay
    for result in results:
        print_writer(result, report)
    con, _ = lake.connect()
    stored = con.execute("SELECT count(*) FROM lake.articles").fetchone()[0]
    expected = args.writers * args.commits * args.rows
    report.line(stored, "rows stored / expected", [stored, expected], sep=" / ")
    report.line(stored, "wall s after the common start", round(wall, 1))
    report.line(
        stored,
        "snapshots / files on disk",
        [snapshot_count(con), lake.files_on_disk()[0]],
        sep=" / ",
    )
    report.line(stored, "commit order by writer", commit_order(con) or "-")
    con.close()


# --- features newsmon relies on ------------------------------------------------------------

FEATURE_SQL = [
    "CREATE TABLE lake.with_pk(id VARCHAR PRIMARY KEY)",
    "CREATE TABLE lake.with_unique(id VARCHAR UNIQUE)",
    "CREATE INDEX t_id ON lake.t(id)",
    "INSERT OR IGNORE INTO lake.t VALUES ('id1', 2)",
    "INSERT OR REPLACE INTO lake.t VALUES ('id1', 2)",
    "INSERT INTO lake.t VALUES ('id1', 2) ON CONFLICT (id) DO UPDATE SET v = excluded.v",
    """MERGE INTO lake.t USING (SELECT 'id1' AS id, 3 AS v UNION ALL SELECT 'new', 4) s
       ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v
       WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v)""",
    "UPDATE lake.t SET v = 5 WHERE id = 'new'",
]

MAINTENANCE_SQL = [
    "CALL ducklake_rewrite_data_files('lake'{threshold})",
    "CALL ducklake_merge_adjacent_files('lake')",
    "CALL ducklake_expire_snapshots('lake', older_than => now())",
    "CALL ducklake_cleanup_old_files('lake', cleanup_all => true)",
]


def try_statement(con: duckdb.DuckDBPyConnection, sql: str, report: Report) -> None:
    try:
        con.execute(sql)
        outcome = "OK"
    except duckdb.Error as exc:
        outcome = str(exc).splitlines()[0]
    report.note(f"{' '.join(sql.split())[:60]:<62} {outcome}")


def file_state(lake: Lake, con: duckdb.DuckDBPyConnection) -> list[int]:
    """Live data files and live delete files of lake.u, and files on disk in the whole lake."""
    live = con.execute(
        "SELECT count(*), count(delete_file) FROM ducklake_list_files('lake', 'u')"
    ).fetchone()
    return [live[0], live[1], lake.files_on_disk()[0]]


def run_features(lake: Lake, report: Report) -> None:
    lake.reset()
    con, _ = lake.connect()
    con.execute("CREATE TABLE lake.t AS SELECT 'id' || range AS id, range AS v FROM range(1000)")
    report.header()
    for sql in FEATURE_SQL:
        try_statement(con, sql, report)
    con.execute("DROP TABLE lake.t")
    maintain(con, threshold="")
    con.execute("CREATE TABLE lake.u AS SELECT 'id' || range AS id, range AS v FROM range(1000)")
    label = "files: data / delete / on disk"
    report.line(1000, f"1,000-row insert: {label}", file_state(lake, con), sep=" / ")
    for low in (100, 500):
        con.execute("UPDATE lake.u SET v = -v WHERE v BETWEEN $lo AND $lo + 99", {"lo": low})
        report.line(1000, f"UPDATE of 100 rows: {label}", file_state(lake, con), sep=" / ")
    maintain(con, threshold="")
    report.line(1000, f"maintenance, default threshold: {label}", file_state(lake, con), sep=" / ")
    maintain(con, threshold=", delete_threshold => 0")
    report.line(1000, f"maintenance, delete_threshold 0: {label}", file_state(lake, con), sep=" / ")
    con.close()


def maintain(con: duckdb.DuckDBPyConnection, threshold: str) -> None:
    """rewrite_data_files (with `threshold` as its extra argument), merge, expire, cleanup."""
    for sql in MAINTENANCE_SQL:
        con.execute(sql.format(threshold=threshold))


# --- the sample lake for duckdb 2.0.0 ------------------------------------------------------------


def run_sample_lake(lake: Lake, report: Report) -> None:
    """A small lake with Parquet files, an inlined row and a delete file, for read_lake_2_0.py."""
    lake.reset()
    con, _ = lake.connect()
    con.execute("CREATE TABLE lake.articles(article_id VARCHAR, n INTEGER)")
    for batch in range(3):
        con.execute(
            "INSERT INTO lake.articles SELECT 'a' || (range + $o), range + $o FROM range(1000)",
            {"o": batch * 1000},
        )
    con.execute("INSERT INTO lake.articles VALUES ('tiny', -1)")  # under the inlining limit
    con.execute("DELETE FROM lake.articles WHERE n BETWEEN 0 AND 99")  # a delete file
    count, total = con.execute("SELECT count(*), sum(n) FROM lake.articles").fetchone()
    report.header()
    report.line(count, "duckdb 1.5.5 reads: count, sum(n)", [count, int(total)])
    report.line(count, "files on disk", lake.files_on_disk()[0])
    expected = {"duckdb": duckdb.__version__, "count": count, "sum": int(total)}
    (lake.work / "expected.json").write_text(json.dumps(expected) + "\n", encoding="utf-8")
    con.close()


# --- arguments ----------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    bench = sub.add_parser("bench", help="commit, look-up, trend and maintenance times")
    bench.add_argument(
        "--sizes", type=sizes, default=[100_000, 1_000_000], help="rows, comma-separated"
    )
    bench.add_argument("--small-commits", type=int, default=100, help="before maintenance")
    bench.add_argument(
        "--maintain-max-rows", type=int, default=1_000_000, help="small commits up to this size"
    )
    conc = sub.add_parser("concurrency", help="several writer processes into one lake")
    writer = sub.add_parser("_writer", help="(one writer process, started by concurrency)")
    for p in (conc, writer):
        p.add_argument("--writers", type=int, default=2)
        p.add_argument("--commits", type=int, default=20)
        p.add_argument("--rows", type=int, default=1000)
        p.add_argument("--max-retry", type=int, help="ducklake_max_retry_count (default 10)")
        p.add_argument("--retries", type=int, default=0, help="retries in the writer")
        p.add_argument("--reattach", action="store_true", help="a new connection per commit")
        p.add_argument("--start-delay", type=float, default=4.0, help="s until the common start")
    writer.add_argument("--start-at", type=float, required=True)
    writer.add_argument("--writer-id", type=int, required=True)
    features = sub.add_parser("features", help="constraints, upserts, updates in a lake")
    sample = sub.add_parser("sample-lake", help="a small lake for read_lake_2_0.py")
    for p in (bench, conc, writer, features, sample):
        p.add_argument("work", type=Path, help="folder for the lake (emptied first)")
        p.add_argument("--catalog", default="duck", help="duck, postgres:<libpq DSN> or native")
        p.add_argument("--pg-schema", default="ducklake_study", help="the catalog's schema")
        p.add_argument(
            "--extdir",
            type=Path,
            default=Path(sys.prefix).parent / "extdir",
            help="extension_directory (default: extdir beside the venv)",
        )
        p.add_argument("--threads", type=int, default=1)
        p.add_argument("--json", type=Path, help="also append the figures here as JSON lines")
    return parser.parse_args(argv)


def sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",")]


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    lake = Lake(args.work.resolve(), args.catalog, args.pg_schema, args.extdir, args.threads)
    if args.command != "bench" and lake.kind == "native":
        sys.exit("the catalog `native` is for the bench only")
    if args.command in ("sample-lake", "features") and lake.kind != "duck":
        sys.exit(f"{args.command} writes a DuckDB-file catalog only")
    if args.command == "_writer":
        print(json.dumps(writer_process(lake, args)), flush=True)
        return
    print(f"duckdb {duckdb.__version__}; lake {lake.work}; catalog {lake.catalog}", flush=True)
    report = Report(lake.kind)
    if args.command == "bench":
        run_bench(lake, args, report)
    elif args.command == "concurrency":
        run_concurrency(lake, args, report)
    elif args.command == "features":
        run_features(lake, report)
    else:
        run_sample_lake(lake, report)
    report.write_json(args.json)


if __name__ == "__main__":
    main(sys.argv[1:])
