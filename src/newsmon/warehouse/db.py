"""The warehouse file: opening it, its migrations and views, and its read-only snapshot."""

from __future__ import annotations

import logging
import re
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from importlib import resources
from pathlib import Path

import duckdb
import pyarrow as pa

from newsmon.errors import WarehouseError, WarehouseLocked

log = logging.getLogger(__name__)

_MIGRATION = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@cache
def sql_dir() -> Path:
    """The warehouse/ folder: in the source tree, or packaged as newsmon/_warehouse."""
    packaged = resources.files("newsmon") / "_warehouse"
    if packaged.is_dir():
        return Path(str(packaged))
    source_tree = Path(__file__).resolve().parents[3] / "warehouse"
    if source_tree.is_dir():
        return source_tree
    raise WarehouseError("cannot find the warehouse SQL folder (migrations/, views/)")


def migrations() -> list[tuple[int, str, Path]]:
    """Numbered migration files, in order."""
    found = []
    for path in sorted((sql_dir() / "migrations").glob("*.sql")):
        match = _MIGRATION.match(path.name)
        if not match:
            raise WarehouseError(f"migration file name must look like 0001_name.sql: {path.name}")
        found.append((int(match[1]), match[2], path))
    return found


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply pending migrations, each in its own transaction, then (re)create the views."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for version, name, path in migrations():
        if version in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(path.read_text(encoding="utf-8"))
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)", [version, name]
            )
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise WarehouseError(f"migration {path.name} failed: {exc}") from exc
        applied.append(path.name)
        log.info("applied migration %s", path.name)
    for path in sorted((sql_dir() / "views").glob("*.sql")):
        con.execute(path.read_text(encoding="utf-8"))
    return applied


_migrated: set[tuple[str, int]] = set()


# A new warehouse is written in the storage format of this DuckDB release, so that the
# `duckdb` command-line client the package registry offers (duckdb-cli 1.5.x; duckdb 2.0's
# own format is newer) opens it and its snapshot. Set only when a file is created.
STORAGE_VERSION = "v1.5.0"


def _open(path: Path, read_only: bool, wait: float) -> duckdb.DuckDBPyConnection:
    """duckdb.connect, retrying with backoff while another process holds the file."""
    deadline = time.monotonic() + wait
    delay = 0.05
    while True:
        try:
            if not read_only and not path.exists():
                return duckdb.connect(
                    str(path), config={"storage_compatibility_version": STORAGE_VERSION}
                )
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise WarehouseError(f"{path}: cannot open the warehouse: {exc}") from exc
            if time.monotonic() + delay > deadline:
                raise WarehouseLocked(
                    f"{path}: another process holds the warehouse "
                    f"(waited {wait:g}s): {str(exc).splitlines()[0]}"
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        except duckdb.Error as exc:
            raise WarehouseError(f"{path}: cannot open the warehouse: {exc}") from exc


@contextmanager
def connect(
    path: str | Path, read_only: bool = False, wait: float = 0.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse (creating and migrating it when writable) and close it afterwards.

    DuckDB lets one process write or several read, not both: while another process holds
    the file this retries with backoff for `wait` seconds, then raises WarehouseLocked.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise WarehouseError(f"{path}: no warehouse here yet (run `newsmon run` first)")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = _open(path, read_only, wait)
    try:
        # One process migrates a file once; later connections of a run skip it. The
        # inode tells a file deleted and created anew (for example under a long-lived
        # Prefect worker) from the one already migrated.
        key = (str(path.resolve()), path.stat().st_ino)
        if not read_only and key not in _migrated:
            migrate(con)
            _migrated.add(key)
        yield con
    finally:
        con.close()


def _arrow(rows: Sequence[object], schema: pa.Schema) -> pa.Table:
    columns = {name: [getattr(row, name) for row in rows] for name in schema.names}
    return pa.table(columns, schema=schema)


def snapshot_path(path: str | Path) -> Path:
    """Where the read-only snapshot of a warehouse lives: beside it, `<name>.snapshot.duckdb`."""
    path = Path(path)
    return path.with_name(f"{path.stem}.snapshot{path.suffix or '.duckdb'}")


def refresh_snapshot(con: duckdb.DuckDBPyConnection, path: str | Path) -> Path:
    """Copy the warehouse to its snapshot, atomically, while this connection holds the lock.

    Analysts keep sessions open on the snapshot without blocking the pipeline; a session
    that is open during a refresh keeps reading the previous copy until it reconnects.
    """
    path = Path(path)
    target = snapshot_path(path)
    con.execute("CHECKPOINT")  # everything in the main file, nothing left in the WAL
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(path, partial)
    partial.replace(target)
    return target
