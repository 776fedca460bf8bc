"""Reads a DuckLake table with the project's duckdb 2.0.0, which cannot load the extension.

A lake with a DuckDB-file catalog is a DuckDB database (the catalog tables) plus Parquet
files, so plain DuckDB can rebuild a table's current rows without the DuckLake extension:
the live data files (end_snapshot IS NULL), less the row positions in the live delete files,
plus the live rows DuckLake inlined in the catalog (small inserts stay in
ducklake_inlined_data_<table>_<schema version> instead of a Parquet file). This script does
that for one table and compares the result with WORK/expected.json, which
`study.py sample-lake WORK` writes with what DuckDB 1.5.5 read through the extension. With
--time-queries it times the bench's queries on a lake from `study.py bench`.

Run it with the project's own venv (duckdb 2.0.0):

    .venv/bin/python bench/ducklake/read_lake_2_0.py /tmp/lake/q3
    .venv/bin/python bench/ducklake/read_lake_2_0.py /tmp/lake/b_duck --time-queries

It reads only: the catalog is attached READ_ONLY. Delete files must be Parquet (DuckLake's
default; not the experimental deletion vectors).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import duckdb

TABLE_FOLDER_SQL = """
SELECT (SELECT value FROM cat.ducklake_metadata WHERE key = 'data_path') AS data_path,
       s.path AS schema_path, s.path_is_relative AS schema_relative,
       t.path AS table_path, t.path_is_relative AS table_relative, t.table_id
FROM cat.ducklake_table t JOIN cat.ducklake_schema s USING (schema_id)
WHERE t.table_name = $table AND s.schema_name = $schema
  AND t.end_snapshot IS NULL AND s.end_snapshot IS NULL
"""


def table_folder(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> tuple[str, int]:
    """The folder of the table's files (data path + schema path + table path) and its id."""
    row = con.execute(TABLE_FOLDER_SQL, {"table": table, "schema": schema}).fetchone()
    if row is None:
        sys.exit(f"no live table {schema}.{table} in the catalog")
    data_path, schema_path, schema_rel, table_path, table_rel, table_id = row
    schema_dir = data_path + schema_path if schema_rel else schema_path
    return (schema_dir + table_path if table_rel else table_path), table_id


def live_paths(con, catalog_table: str, folder: str, table_id: int) -> list[str]:
    rows = con.execute(
        f"""SELECT path, path_is_relative FROM cat.{catalog_table}
            WHERE table_id = $id AND end_snapshot IS NULL ORDER BY 1""",
        {"id": table_id},
    ).fetchall()
    return [folder + path if relative else path for path, relative in rows]


def inlined_tables(con: duckdb.DuckDBPyConnection, table_id: int) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM cat.ducklake_inlined_data_tables WHERE table_id = $id",
        {"id": table_id},
    ).fetchall()
    return [name for (name,) in rows]


def column_names(con: duckdb.DuckDBPyConnection, table_id: int) -> list[str]:
    rows = con.execute(
        """SELECT column_name FROM cat.ducklake_column
           WHERE table_id = $id AND end_snapshot IS NULL AND parent_column IS NULL
           ORDER BY column_order""",
        {"id": table_id},
    ).fetchall()
    return [f'"{name}"' for (name,) in rows]


def check_delete_format(con: duckdb.DuckDBPyConnection, table_id: int) -> None:
    formats = con.execute(
        """SELECT DISTINCT format FROM cat.ducklake_delete_file
           WHERE table_id = $id AND end_snapshot IS NULL""",
        {"id": table_id},
    ).fetchall()
    other = [fmt for (fmt,) in formats if fmt != "parquet"]
    if other:
        sys.exit(f"delete files in {other}: only Parquet delete files are read here")


def current_rows_sql(columns: list[str], files: list[str], deletes: list[str], inlined) -> str:
    """SQL for the table as it stands: live Parquet rows not deleted, plus live inlined rows."""
    cols = ", ".join(columns)
    parts = []
    if files:
        parquet = f"read_parquet({files!r}, filename = true, file_row_number = true)"
        deleted = ""
        if deletes:
            deleted = f"""WHERE NOT EXISTS (SELECT 1 FROM read_parquet({deletes!r}) d
                              WHERE d.file_path = p.filename AND d.pos = p.file_row_number)"""
        parts.append(f"SELECT {cols} FROM {parquet} p {deleted}")
    parts += [f"SELECT {cols} FROM cat.{name} WHERE end_snapshot IS NULL" for name in inlined]
    return " UNION ALL ".join(parts) or f"SELECT {cols} FROM (SELECT 1) WHERE false"


def build_view(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> None:
    """Creates the view `current` over the table's current rows and prints what it is made of."""
    folder, table_id = table_folder(con, schema, table)
    check_delete_format(con, table_id)
    files = live_paths(con, "ducklake_data_file", folder, table_id)
    deletes = live_paths(con, "ducklake_delete_file", folder, table_id)
    inlined = inlined_tables(con, table_id)
    print(
        f"live data files {len(files)}, live delete files {len(deletes)}, "
        f"inlined tables {len(inlined)}"
    )
    sql = current_rows_sql(column_names(con, table_id), files, deletes, inlined)
    con.execute(f"CREATE TEMP VIEW current AS {sql}")


def compare_with_expected(con: duckdb.DuckDBPyConnection, work: Path) -> bool:
    expected = json.loads((work / "expected.json").read_text(encoding="utf-8"))
    count, total = con.execute("SELECT count(*), sum(n) FROM current").fetchone()
    print(f"duckdb {duckdb.__version__} reads: count {count}, sum(n) {total}")
    print(f"duckdb {expected['duckdb']} read:  count {expected['count']}, sum(n) {expected['sum']}")
    same = (count, int(total)) == (expected["count"], expected["sum"])
    print("same rows:", same)
    return same


def time_queries(con: duckdb.DuckDBPyConnection) -> None:
    """The bench's count, trend and look-up on the rebuilt view, as table lines."""
    rows = con.execute("SELECT count(*) FROM current").fetchone()[0]
    queries = {
        "count(*)": "SELECT count(*) FROM current",
        "trend by day, all rows": """SELECT date_trunc('day', published_at), count(*)
            FROM current GROUP BY 1 ORDER BY 1""",
        "point look-up by article_id": f"""SELECT title FROM current
            WHERE article_id = md5('art' || {rows // 2 + 17})""",
    }
    for name, sql in queries.items():
        runs = []
        for _ in range(2):
            started = time.perf_counter()
            con.execute(sql).fetchall()
            runs.append(round((time.perf_counter() - started) * 1000))
        print(
            f"duckdb-{duckdb.__version__:<6} {rows:>12,}  {name + ' (ms, 2 runs)':<44} "
            f"{runs[0]} {runs[1]}"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("work", type=Path, help="the lake's folder (WORK/meta.ducklake)")
    parser.add_argument("--table", default="articles")
    parser.add_argument("--schema", default="main")
    parser.add_argument("--time-queries", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    con = duckdb.connect(config={"threads": args.threads})
    catalog = args.work / "meta.ducklake"
    con.execute(f"ATTACH '{catalog}' AS cat (READ_ONLY)")
    print(f"duckdb {duckdb.__version__}; catalog {catalog}")
    build_view(con, args.schema, args.table)
    if args.time_queries:
        time_queries(con)
    if (args.work / "expected.json").exists():
        return 0 if compare_with_expected(con, args.work) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
