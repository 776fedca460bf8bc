"""The newsmon command: exit codes, nothing written on bad config, the real console script."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest
import yaml

from newsmon import warehouse
from newsmon.cli import _already_stored, main

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


def _copy(demo_db: Path, folder: Path) -> Path:
    """A copy of the demo warehouse and its snapshot, for commands that open it writable."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "w.duckdb"
    shutil.copy(demo_db, db)
    shutil.copy(warehouse.snapshot_path(demo_db), warehouse.snapshot_path(db))
    return db


def _rows(out: str) -> dict[str, str]:
    """The lines of a `newsmon feeds` table by feed id (the header under '')."""
    lines = out.splitlines()
    return {"": lines[0], **{line.split()[0]: line for line in lines[1:]}}


def test_feeds_with_db_alone_lists_that_warehouses_feeds(demo_db, tmp_path, capsys, monkeypatch):
    db = _copy(demo_db, tmp_path)
    with duckdb.connect(str(db), read_only=True) as con:
        stored = sorted(r[0] for r in con.execute("SELECT feed_id FROM feeds").fetchall())
    monkeypatch.chdir(ROOT)  # where sources.yaml, the default, lists twelve public feeds
    assert main(["feeds", "--db", str(db)]) == 0
    rows = _rows(capsys.readouterr().out)
    assert len(stored) >= 2 and sorted(rows)[1:] == stored
    assert "note" not in rows[""] and all(" ok " in rows[i] for i in stored)

    assert main(["feeds", "--db", str(tmp_path / "absent.duckdb")]) == 1
    assert "absent.duckdb: no warehouse here" in capsys.readouterr().err


def test_feeds_with_db_and_sources_merges_both_and_notes_the_feeds_of_one(
    demo_db, tmp_path, capsys
):
    db = _copy(demo_db, tmp_path)
    feeds = yaml.safe_load((demo_db.parent / "sources.yaml").read_text())["feeds"]
    dropped, kept = feeds[0], feeds[1:]
    extra = {"id": "extra", "name": "Extra", "url": "https://extra.example/feed.xml"}
    sources = write_sources(tmp_path / "mine.yaml", [*kept, extra], tmp_path / "other.duckdb")
    assert main(["feeds", "--db", str(db), "--sources", str(sources)]) == 0
    rows = _rows(capsys.readouterr().out)
    assert list(rows) == ["", *(f["id"] for f in kept), "extra", dropped["id"]]
    assert "note" in rows[""]
    assert f"only in {sources}" in rows["extra"] and " new " in rows["extra"]
    assert f"only in {db}" in rows[dropped["id"]] and " ok " in rows[dropped["id"]]
    assert "only in" not in rows[kept[0]["id"]]


def test_report_is_written_beside_the_warehouse_by_default(demo_db, tmp_path, capsys, monkeypatch):
    db = _copy(demo_db, tmp_path / "warehouse")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["report", "--db", str(db)]) == 0
    assert capsys.readouterr().out == f"report written to {db.parent / 'report.html'}\n"
    assert main(["report", "--db", str(db), "--topic", "russia-ukraine-talks"]) == 0
    assert (db.parent / "report-russia-ukraine-talks.html").exists()
    assert list(elsewhere.iterdir()) == []  # nothing in the current folder
    assert main(["report", "--db", str(db), "--out", "mine.html"]) == 0  # --out still rules
    assert "<html" in (elsewhere / "mine.html").read_text()[:500].lower()


def _feed(items: list[tuple[str, str]], site) -> bytes:
    entries = "".join(
        f"<item><title>{title}</title><link>{site.url(path)}</link><guid>{site.url(path)}</guid>"
        f"<description>{_summary(path)}</description></item>"
        for path, title in items
    )
    return f'<rss version="2.0"><channel><title>F</title>{entries}</channel></rss>'.encode()


def _summary(path: str) -> str:
    # Distinct texts, so that none is a duplicate of another.
    return f"Report {path}: " + " ".join(f"{path.strip('/')}-word{i}" for i in range(60))


@pytest.mark.usefixtures("prefect_harness")
def test_the_run_summary_counts_the_entries_already_stored(site, tmp_path, capsys):
    items = [("/a1", "First"), ("/a2", "Second"), ("/a3", "Third")]
    site.routes["/feed.xml"] = Response(_feed(items, site), content_type="application/rss+xml")
    db = tmp_path / "w.duckdb"
    sources = write_sources(
        tmp_path / "sources.yaml",
        [{"id": "f", "name": "F", "url": site.url("/feed.xml"), "fetch_pages": False}],
        db,
    )
    run = ["run", "--sources", str(sources), "--db", str(db), "--force"]
    expected = [
        "entries seen 3; new articles 3 (0 with page text, 3 with feed text); already stored 0",
        "entries seen 3; new articles 0 (0 with page text, 0 with feed text); already stored 3",
        "entries seen 3; new articles 0 (0 with page text, 0 with feed text); already stored 2",
    ]
    for attempt, line in enumerate(expected):
        if attempt == 2:  # one headline changes: an update, not an entry already stored
            items[0] = ("/a1", "First, revised")
            site.routes["/feed.xml"] = Response(
                _feed(items, site), content_type="application/rss+xml"
            )
        assert main(run) == 0
        out = capsys.readouterr().out
        assert line + " (listed again, unchanged); skipped as duplicate entries 0;" in out, out
    assert "; updated 1;" in out


def test_already_stored_without_the_flows_count_is_derived_from_the_others():
    result = {
        "entries_seen": 45,
        "articles_new": 3,
        "duplicates_skipped": 2,
        "articles_updated": 5,  # 4 entries changed, 1 failed page that arrived
        "pages_recovered": 1,
    }
    assert _already_stored(result) == 36
    assert _already_stored({**result, "entries_stored": 7}) == 7  # the flow's own count rules


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(url: str, body: dict | None = None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_make_serve_serves_ones_own_sources_file_and_stops_cleanly(tmp_path):
    sources = write_sources(
        tmp_path / "my sources.yaml",  # a space, to show the Makefile quotes it
        [{"id": "mine", "name": "Mine", "url": "http://127.0.0.1:9/feed.xml"}],
        tmp_path / "w.duckdb",
    )
    port = _free_port()

    def command(path: Path) -> list[str]:
        """What `make serve SOURCES=... PORT=...` runs (make -n: the venv is not touched)."""
        # Under `make test` this is a sub-make: MAKELEVEL and MAKEFLAGS would make it print
        # "Leaving directory" lines, so it runs as a top-level make without them.
        top = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
        dry = subprocess.run(
            ["make", "--no-print-directory", "-n", "serve", f"SOURCES={path}", f"PORT={port}"],
            cwd=ROOT,
            env=top,
            capture_output=True,
            text=True,
            check=True,
        )
        line = shlex.split(dry.stdout.strip().splitlines()[-1])
        assert line[1:] == ["deploy/serve.py", "--port", str(port), "--sources", str(path)]
        return [*line, "--home", str(tmp_path / "server-home")]

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env |= {
        "PREFECT_HOME": str(tmp_path / "runner-home"),
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",  # no poll of the dead feed
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
    }
    # A misspelt path stops it before any server starts.
    absent = tmp_path / "absent.yaml"
    out = subprocess.run(command(absent), cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 2 and f"{absent}: file not found" in out.stderr
    assert not (tmp_path / "server-home").exists()

    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command(sources),
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 240
        deployments: list = []
        # Ready once the runner has polled for its deployments' runs (they turn READY): its
        # SIGTERM handler is installed by then.
        while not (len(deployments) == 3 and {d["status"] for d in deployments} == {"READY"}):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(1)
            with contextlib.suppress(OSError):  # not up yet
                deployments = _api(f"{api}/deployments/filter", {})
        assert {d["name"]: d["parameters"]["sources"] for d in deployments} == {
            "poll": str(sources),
            "reprocess": str(sources),
            "report": str(sources),
        }
        os.killpg(process.pid, signal.SIGTERM)  # as a supervisor or `kill` stops it
        assert process.wait(90) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    text = log.read_text()
    assert "stopping ..." in text and "never awaited" not in text, text
    with pytest.raises(OSError):  # the server stopped with it
        urllib.request.urlopen(f"{api}/health", timeout=2)
