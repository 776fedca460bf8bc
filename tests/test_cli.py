"""The newsmon command: exit codes, nothing written on bad config, the real console script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from newsmon.cli import main

from .conftest import ROOT, Response, write_sources

NEWSMON = Path(sys.executable).parent / "newsmon"


def test_check_accepts_the_shipped_file(capsys):
    assert main(["check", "--sources", str(ROOT / "sources.yaml")]) == 0
    assert "ok (12 feeds" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["check", "run"])
def test_a_broken_file_exits_2_names_path_and_line_and_writes_nothing(tmp_path, capsys, command):
    db = tmp_path / "w.duckdb"
    bad = tmp_path / "sources.yaml"
    bad.write_text(
        f"feeds:\n  - id: a\n    name: A\n    url: https://a.example/f\n    intervall: 5\nsettings:\n  warehouse: {db}\n"
    )
    args = [command, "--sources", str(bad)] + (["--db", str(db)] if command == "run" else [])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{bad}:5: feeds[0].intervall: unknown key" in err
    assert list(tmp_path.iterdir()) == [bad]


def test_library_modules_do_not_import_prefect_nor_the_minhash_package():
    # datasketch imports scipy (~0.35 s): loaded at the first text hashed, not by every command
    code = (
        "import sys, newsmon.cli, newsmon.config, newsmon.fetch, newsmon.feeds, newsmon.extract, "
        "newsmon.dedup, newsmon.warehouse, newsmon.demo, newsmon.queries, newsmon.report; "
        "print('prefect' in sys.modules, 'datasketch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


@pytest.mark.slow
def test_console_script_runs_a_cycle_in_prefects_ephemeral_mode(site, tmp_path):
    """`newsmon run` as users type it: no Prefect server configured beforehand."""
    page = (Path(__file__).parent / "fixtures" / "article.html").read_bytes()
    site.routes["/a"] = Response(page)
    site.routes["/feed.xml"] = Response(
        f'<rss version="2.0"><channel><title>F</title><item><title>Exchange</title><link>{site.url("/a")}</link>'
        "</item></channel></rss>".encode(),
        content_type="application/rss+xml",
    )
    db = tmp_path / "w.duckdb"
    sources = write_sources(
        tmp_path / "sources.yaml", [{"id": "f", "name": "F", "url": site.url("/feed.xml")}], db
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    for attempt in (1, 2):
        out = subprocess.run(
            [str(NEWSMON), "run", "--sources", str(sources), "--db", str(db)],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr
        assert f"new articles {1 if attempt == 1 else 0} (" in out.stdout
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(
            "SELECT text_source, count(*) FROM articles GROUP BY ALL"
        ).fetchall() == [("page", 1)]
