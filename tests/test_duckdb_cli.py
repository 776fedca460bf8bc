"""The warehouse from any DuckDB client the registry offers: its `duckdb` CLI (1.5) reads the
snapshot the pipeline writes, views included."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from newsmon import warehouse

from .conftest import ROOT

CLI = Path(sys.executable).with_name("duckdb")


def _queries(text: str) -> list[str]:
    block = re.search(r"## Examples\n```sql\n(.*?)```", text, re.S).group(1)
    return [q.strip() for q in block.split(";") if q.strip()]


@pytest.mark.slow
def test_the_registrys_duckdb_cli_opens_the_demo_snapshot_and_runs_the_readme_queries(demo_db):
    assert CLI.exists(), "duckdb-cli is a dependency: make installs .venv/bin/duckdb"
    snapshot = warehouse.snapshot_path(demo_db)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    one_liner = re.search(r'\.venv/bin/duckdb -readonly \S+ -c "([^"]+)"', readme).group(1)
    queries = [one_liner, *_queries((ROOT / "warehouse" / "README.md").read_text())]
    assert len(queries) >= 4
    for query in queries:
        out = subprocess.run(
            [str(CLI), "-readonly", "-csv", str(snapshot), "-c", query],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0 and not out.stderr, (query, out.stderr)
    rows = subprocess.run(
        [str(CLI), "-readonly", "-csv", str(snapshot), "-c", one_liner],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.splitlines()
    assert rows[0] == "feed_id,title" and len(rows) > 30
    version = subprocess.run([str(CLI), "--version"], capture_output=True, text=True).stdout
    assert version.startswith("v1.5"), version  # the older client really is the one reading
