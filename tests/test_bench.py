"""Benchmarks stay runnable: each runs at smoke size (the full runs are `make bench`)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import ROOT


@pytest.mark.slow
@pytest.mark.parametrize(
    ("script", "args", "expected"),
    [
        ("bench_polling.py", [], ["second cycle <= 10 s: PASS", "flow 2"]),
        ("bench_dedup.py", [], ["assigned to stories in <= 2 s: PASS"]),
        ("bench_storylines.py", [], ["assign storylines"]),
        (
            "bench_views.py",
            [],
            ["goal every view <= 300 ms: PASS", "trend refresh", "goal every analyst view"],
        ),
        ("bench_load.py", [], ["rows/s", "same ids: True"]),
        (
            "bench_pipeline.py",
            ["--dask"],
            [
                "articles stored: threads 40 (",
                ", processes 40, dask 40, plain 40;",
                "flow phases, processes",
                "flow phases, dask",
                "cpu ",
                "goal Prefect cost",
            ],
        ),
    ],
)
def test_benchmark_runs_at_smoke_size(script, args, expected):
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--smoke", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    for line in expected:
        assert line in out.stdout


def test_run_all_reads_the_headline_figures_back(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import run_all
    finally:
        sys.path.remove(str(ROOT / "bench"))
    monkeypatch.setattr(run_all, "RESULTS", tmp_path)
    load = {"rows_per_s": 80775, "articles_per_s": 1400}
    (tmp_path / "load-smoke.json").write_text(json.dumps(load))
    (tmp_path / "load.json").write_text(json.dumps({"rows_per_s": 1, "articles_per_s": 1}))
    (tmp_path / "developments.json").write_text(
        json.dumps({"test": {"macro_f1": 0.957}, "speed": {"docs_per_second": 24.7}})
    )
    (tmp_path / "dedup.json").write_text(json.dumps({"batch": 1000}))  # an older format
    assert dict(run_all.headline("load", smoke=True)) == {
        "load_cycle rows/s": "80,775",
        "articles/s": "1,400",
    }
    assert dict(run_all.headline("load", smoke=False))["articles/s"] == "1"
    # An evaluation has one size: its file serves both tables.
    assert ("developments, test split: kind macro-F1", "0.957") in run_all.headline(
        "developments", smoke=True
    )
    stories = {
        "ecbplus per topic": {"pair_f1": 0.581, "merged_pairs": 0.032},
        "demo corpus (labelled)": {"pair_f1": 0.839, "merged_pairs": 0.161},
    }  # no rss_may2025 set: its row is left out
    (tmp_path / "stories.json").write_text(json.dumps(stories))
    assert run_all.headline("stories", smoke=True) == [
        ("stories, ECB+ per topic: pairwise F1 / merges %", "0.581 / 3.2"),
        ("stories, demo corpus: pairwise F1", "0.839"),
    ]
    assert run_all.headline("dedup", smoke=True) == []  # no smoke file: nothing old shown
    assert run_all.headline("dedup", smoke=False)[0][0] == "(figures not read)"
