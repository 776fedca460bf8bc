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


@pytest.mark.slow
def test_the_cli_searches_articles_and_reads_the_analysts_views_on_the_snapshot(demo_db):
    snapshot = warehouse.snapshot_path(demo_db)

    def cli(query: str) -> list[str]:
        out = subprocess.run(
            [str(CLI), "-readonly", "-csv", str(snapshot), "-c", query],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0 and not out.stderr, (query, out.stderr)
        return out.stdout.splitlines()

    found = cli(
        "SELECT article_id, outlet, score, matched FROM search_articles('Ceasefires prisoners') "
        "ORDER BY score DESC, article_id"
    )
    assert found[0] == "article_id,outlet,score,matched" and len(found) > 5
    # the same answer as the Python client gives on the same file
    with warehouse.connect(snapshot, read_only=True) as con:
        rows = con.execute(
            "SELECT article_id, outlet, score, matched FROM search_articles('Ceasefires prisoners') "
            "ORDER BY score DESC, article_id"
        ).fetchall()
    assert found[1:] == [f"{a},{o},{s},{m}" for a, o, s, m in rows]
    first = cli(
        "SELECT count(*) FILTER (WHERE rank = 1 AND behind = INTERVAL 0 SECOND), "
        "count(DISTINCT story_id) FROM first_reported WHERE level = 'story'"
    )
    assert first[1].split(",")[0] == first[1].split(",")[1] != "0"  # one first outlet a story
    named = cli(
        "SELECT count(*) FROM developments_named WHERE topic = '*' AND len(actors) > 0 "
        "AND list_contains(actors, 'Russia')"
    )
    assert int(named[1]) > 0
    # the demo's article updated in place, its diff stored by the 2.0 loader (migration 0017)
    changed = cli("SELECT count(*), sum(len(sentences_added)) > 0 FROM article_changes")
    assert changed[1] == "1,true"
    assert cli("SELECT len(article_sentences('One.  Two! Three'))")[1] == "3"
    disputed = cli("SELECT count(DISTINCT outlet) FROM disputed_quantities")
    assert int(disputed[1]) > 1
