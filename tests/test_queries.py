"""`newsmon query`: named trend queries over the views and read-only SQL, on the demo warehouse."""

from __future__ import annotations

import csv
import io
import json

import duckdb
import pytest
import yaml

from newsmon.cli import main
from newsmon.queries import render

from .conftest import ROOT


def query(capsys, *args):
    capsys.readouterr()
    code = main(["query", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_named_queries_answer_from_the_snapshot(demo_db, capsys):
    code, out, _ = query(
        capsys,
        "entity_daily",
        "--days",
        "0",
        "--topic",
        "russia-ukraine-talks",
        "--db",
        str(demo_db),
        "--format",
        "json",
    )
    rows = json.loads(out)
    assert code == 0 and rows and {r["topic"] for r in rows} == {"russia-ukraine-talks"}
    putin = [r for r in rows if r["name"] == "Vladimir Putin"]
    assert putin and all(r["stories"] <= r["articles"] for r in putin)

    code, out, _ = query(
        capsys, "stories_daily", "--days", "3", "--db", str(demo_db), "--format", "csv"
    )
    days = {row["day"] for row in csv.DictReader(io.StringIO(out))}
    assert code == 0 and days == {"2025-06-03", "2025-06-04", "2025-06-05"}

    for name in ("entity_trending", "story_timeline", "actor_pairs", "feed_health"):
        code, out, _ = query(capsys, name, "--days", "0", "--db", str(demo_db))
        assert code == 0 and "rows)" in out, name


def test_sql_is_read_only_and_errors_are_one_line(demo_db, capsys):
    code, out, _ = query(capsys, "--sql", "SELECT count(*) AS n FROM stories", "--db", str(demo_db))
    assert code == 0 and out.splitlines()[2].strip().isdigit()
    code, _, err = query(capsys, "--sql", "DELETE FROM stories", "--db", str(demo_db))
    assert code == 1 and "read-only" in err and len(err.strip().splitlines()) == 1
    code, _, err = query(capsys, "no_such_query", "--db", str(demo_db))
    assert code == 2 and "unknown query" in err  # a usage error, as argparse's are
    with duckdb.connect(str(demo_db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM stories").fetchone()[0] > 0


def test_rows_past_the_limit_are_announced_on_stderr_and_csv_stays_data(demo_db, capsys):
    sql = ["--sql", "SELECT range AS n FROM range(5)", "--db", str(demo_db)]
    code, out, err = query(capsys, *sql, "--limit", "3", "--format", "csv")
    assert code == 0 and out == "n\n0\n1\n2\n"  # Unix lines, no blank line at the end
    assert "the first 3 rows; --limit N shows more" in err
    code, out, err = query(capsys, *sql, "--limit", "5", "--format", "json")
    assert code == 0 and len(json.loads(out)) == 5 and err == ""  # exactly the limit: nothing cut
    code, out, err = query(capsys, *sql, "--limit", "0")
    assert code == 0 and out.rstrip().endswith("(5 rows)") and err == ""
    code, out, err = query(capsys, "story_timeline", "--days", "0", "--db", str(demo_db))
    assert code == 0 and "--limit" not in err  # the demo's timeline is under 200 rows
    code, _, err = query(capsys, "--db", str(demo_db))
    assert code == 2 and "give either a query name or --sql" in err
    for option in ("--limit", "--days"):  # a typo must not print the whole table
        with pytest.raises(SystemExit) as exit_:
            query(capsys, *sql, option, "-20")
        assert exit_.value.code == 2 and "must be 0 or more, got -20" in capsys.readouterr().err


def test_the_two_istanbul_rounds_are_different_stories(demo_db):
    with duckdb.connect(str(demo_db), read_only=True) as con:
        rounds = con.execute(
            """
            SELECT CAST(published_at AS DATE) AS day, list(DISTINCT story_id)
            FROM articles
            WHERE title ILIKE '%istanbul%' AND CAST(published_at AS DATE) IN ('2025-05-16', '2025-06-02')
            GROUP BY ALL ORDER BY 1
            """
        ).fetchall()
    assert [day.isoformat() for day, _ in rounds] == ["2025-05-16", "2025-06-02"]
    assert not set(rounds[0][1]) & set(rounds[1][1])


def test_developments_are_stored_and_collapse_per_story(demo_db, capsys):
    with duckdb.connect(str(demo_db), read_only=True) as con:
        exchange = con.execute(
            """
            SELECT stance, quantity, unit FROM developments
            WHERE kind = 'prisoner_exchange' AND occurred_on = DATE '2025-05-16' AND stance = 'agreed'
            """
        ).fetchall()
        per_story = con.execute(
            "SELECT count(*), count(DISTINCT (story_id, kind, stance)) FROM story_developments"
        ).fetchone()
        many = con.execute("SELECT max(article_count) FROM story_developments").fetchone()[0]
        actors = con.execute(
            "SELECT count(*) FROM developments d, unnest(d.actor_ids) AS t(x) "
            "WHERE x NOT IN (SELECT entity_id FROM entities)"
        ).fetchone()[0]
    assert (1000.0, "prisoners") in {(q, u) for _, q, u in exchange}
    assert per_story[0] == per_story[1] and many >= 2  # one row per story, kind and stance
    assert actors == 0  # every actor is a stored entity
    code, out, _ = query(
        capsys, "development_timeline", "--days", "0", "--db", str(demo_db), "--format", "json"
    )
    rows = json.loads(out)
    assert code == 0 and {"talks", "ceasefire", "prisoner_exchange", "sanctions"} <= {
        r["kind"] for r in rows
    }


def test_an_unknown_topic_is_an_error_listing_the_known_topics(demo_db, capsys, tmp_path):
    base = ["entity_daily", "--days", "0", "--db", str(demo_db)]
    code, out, err = query(capsys, *base, "--topic", "nosuch")
    assert code == 2 and out == ""
    assert err.strip() == (
        "newsmon: error: unknown topic 'nosuch'; known topics: russia-ukraine-talks "
        "('*': all articles)"
    )
    # A topic of the sources file is known too, even before any article belongs to it.
    sources = tmp_path / "sources.yaml"
    data = yaml.safe_load((ROOT / "sources.yaml").read_text(encoding="utf-8"))
    data["topics"].append({"id": "gaza-talks", "keywords": ["Gaza"]})
    sources.write_text(yaml.safe_dump(data), encoding="utf-8")
    code, _, err = query(capsys, *base, "--topic", "nosuch", "--sources", str(sources))
    assert code == 2 and "known topics: gaza-talks, russia-ukraine-talks (" in err
    code, out, err = query(capsys, *base, "--topic", "gaza-talks", "--sources", str(sources))
    assert code == 0 and out.rstrip().endswith("(0 rows)")
    assert "no article of this warehouse belongs to topic 'gaza-talks' yet" in err
    # The report refuses it the same way, before writing anything.
    out_file = tmp_path / "r.html"
    capsys.readouterr()
    code = main(["report", "--db", str(demo_db), "--topic", "nosuch", "--out", str(out_file)])
    assert code == 2 and "unknown topic 'nosuch'" in capsys.readouterr().err
    assert not out_file.exists()


def test_long_values_are_cut_with_an_ellipsis_unless_wide(demo_db, capsys):
    sql = "SELECT repeat('x', 100) AS long, 'short' AS s, 'a' || chr(10) || 'b' AS two_lines"
    code, out, _ = query(capsys, "--sql", sql, "--db", str(demo_db))
    header, rule, row = out.splitlines()[:3]
    assert code == 0 and row.startswith("x" * 59 + "…  short")
    assert "x" * 60 not in out and len(rule.split()[0]) == 60
    assert row.endswith("a⏎b")  # a line break would break the table's rows
    code, out, _ = query(capsys, "--sql", sql, "--db", str(demo_db), "--wide")
    assert code == 0 and out.splitlines()[2].startswith("x" * 100 + "  short")
    code, out, _ = query(capsys, "--sql", sql, "--db", str(demo_db), "--format", "csv")
    assert "x" * 100 + ",short" in out  # CSV and JSON hold whole values
    # exactly the width is not cut
    assert render(["c"], [("y" * 60,)], "table").splitlines()[2] == "y" * 60


def test_developments_named_is_a_named_query_with_names_and_outlets(demo_db, capsys):
    code, out, _ = query(
        capsys,
        "developments_named",
        "--days",
        "0",
        "--topic",
        "russia-ukraine-talks",
        "--db",
        str(demo_db),
        "--format",
        "json",
    )
    rows = json.loads(out)
    assert code == 0 and rows and {r["topic"] for r in rows} == {"russia-ukraine-talks"}
    assert any("Russia" in r["actors"] for r in rows)
    assert all(r["outlet"] and r["url"] and r["sentence"] for r in rows)
