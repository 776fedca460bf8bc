"""Run every benchmark and evaluation of the project and print one table of their figures.

    .venv/bin/python bench/run_all.py            # full sizes (tens of minutes)
    .venv/bin/python bench/run_all.py --smoke    # smoke sizes, as `make test` runs them

Each script prints its own details and writes bench/results/<name>.json (with the machine
description); this runner then prints one table of every script's status and time and one of
the headline figures it reads back from those files.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

STORIES_JSON = ["--json", "bench/results/stories.json"]  # one size: the same file both ways

# script, extra args at full size, extra args at smoke size, result file stem
SCRIPTS = [
    ("bench_polling.py", [], ["--smoke"], "polling"),
    ("bench_dedup.py", [], ["--smoke"], "dedup"),
    ("bench_storylines.py", [], ["--smoke"], "storylines"),  # after dedup: reads its total
    ("bench_views.py", [], ["--smoke"], "views"),
    ("bench_load.py", [], ["--smoke"], "load"),
    ("bench_pipeline.py", ["--dask"], ["--smoke"], "pipeline"),
    ("eval_near_duplicates.py", [], [], None),
    ("eval_url_updates.py", [], [], "url_updates"),
    ("eval_stories.py", STORIES_JSON, STORIES_JSON, "stories"),
    ("eval_storylines.py", [], [], None),
    ("eval_entities.py", [], [], "entities"),
    ("eval_developments.py", [], [], "developments"),
    ("soak.py", [], ["--smoke"], "soak"),
]


def headline(stem: str | None, smoke: bool) -> list[tuple[str, str]]:
    """The main figures of one script's result file (none when it wrote none or lacks them).

    At smoke size, a script that has a smoke size is read from its smoke file only (never
    from an older full-size one); the evaluations, which have one size, from their file.
    """
    if stem is None:
        return []
    has_smoke = any(s == stem and smoke_args != full for _, full, smoke_args, s in SCRIPTS)
    path = RESULTS / (f"{stem}-smoke.json" if smoke and has_smoke else f"{stem}.json")
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    try:
        if stem == "polling":
            return [(f"{r['cycle']}: feeds/s", f"{r['feeds_per_s']}") for r in data["rows"]]
        if stem == "dedup":
            return [
                (
                    f"batch of {data['batch']:,} vs {data['stored']:,} stored: s",
                    f"{data['total_seconds']}",
                ),
                ("peak Python MiB", f"{data['python_peak_mib']}"),
            ]
        if stem == "storylines":
            rows = [
                (
                    f"storylines of a batch of {data['batch']:,} vs {data['stored']:,}: s",
                    f"{data['storylines_seconds']}",
                )
            ]
            if "total_seconds" in data:
                rows.append(("dedup + events + storylines: s", f"{data['total_seconds']}"))
            return rows
        if stem == "views":
            slowest = max(data["timings"].items(), key=lambda kv: kv[1]["median_ms"])
            return [(f"slowest view ({slowest[0]}): median ms", f"{slowest[1]['median_ms']}")]
        if stem == "load":
            return [
                ("load_cycle rows/s", f"{data['rows_per_s']:,}"),
                ("articles/s", f"{data['articles_per_s']:,}"),
            ]
        if stem == "pipeline":
            rates, overhead = data["rates"], data["overhead_pct"]
            return [
                ("trafilatura floor, 1 core: pages/s", f"{rates['trafilatura_1core_pages_per_s']}"),
                (
                    "extraction+NER floor, 2 cores (warm): articles/s",
                    f"{rates['extract_ner_2core_warm_per_s']}",
                ),
                ("full cycle, 2 processes: articles/s", f"{rates['cycle_processes_2_per_s']}"),
                *(
                    [("full cycle, warm Dask cluster: articles/s", f"{rates[key]}")]
                    if (key := "cycle_dask_warm_2_per_s") in rates
                    else []
                ),
                (
                    "overhead vs warm floor / with start-up: %",
                    f"{overhead['vs_warm_floor']} / {overhead['vs_floor_with_startup']}",
                ),
                ("Prefect cost: ms/article", f"{data['prefect_ms_per_article']}"),
            ]
        if stem == "stories":
            rows = []
            for name, label in (
                ("ecbplus per topic", "stories, ECB+ per topic: pairwise F1 / merges %"),
                ("demo corpus (labelled)", "stories, demo corpus: pairwise F1"),
                ("rss_may2025 (feed entries)", "stories, rss_may2025 feed entries: pairwise F1"),
            ):
                if name in data:  # the third-party sets are absent without ../shared/data
                    fig = data[name]
                    value = f"{fig['pair_f1']:.3f}"
                    if name.startswith("ecbplus"):
                        value += f" / {100 * fig['merged_pairs']:.1f}"
                    rows.append((label, value))
            return rows
        if stem == "url_updates":
            kept, rejected = data["updates_kept"], data["different_rejected"]
            return [
                (
                    f"URL-id updates kept / other pairs apart (at {data['threshold']:g})",
                    f"{kept[0]}/{kept[1]} / {rejected[0]:,}/{rejected[1]:,}",
                )
            ]
        if stem == "entities":
            return [
                (
                    "NER+pipeline on the demo: articles/s (1 process)",
                    f"{data['speed']['pipeline_p1']:.1f}",
                )
            ]
        if stem == "soak":
            growth, stored = data["growth"], data["warehouse"]
            twice = stored["urls_stored_twice"] + stored["rows"] - stored["distinct_ids"]
            return [
                (
                    "processes left / pipes held open / runs failed",
                    f"{data['leftover_processes']} / {data['pipes_held_open']} / "
                    f"{data['runs_failed']} ({data['cycles']} cycles)",
                ),
                (
                    "articles stored twice / staged batches left",
                    f"{twice} / {len(data['staging_left'])}",
                ),
                (
                    "soak process, first -> last fifth: fds / RSS MiB",
                    f"{growth['fds'][0]:g} -> {growth['fds'][1]:g}"
                    f" / {growth['rss_mib'][0]:g} -> {growth['rss_mib'][1]:g}",
                ),
            ]
        if stem == "developments":
            test = data["test"]
            return [
                ("developments, test split: kind macro-F1", f"{test['macro_f1']:.3f}"),
                ("development stage: docs/s", f"{data['speed']['docs_per_second']:.1f}"),
            ]
    except (KeyError, TypeError, ValueError) as exc:  # an older result file
        return [("(figures not read)", f"{type(exc).__name__}: {exc}")]
    return []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    rows = []
    for script, full, smoke, _stem in SCRIPTS:
        path = ROOT / "bench" / script
        if not path.exists():
            rows.append((script, "missing", 0.0))
            continue
        started = time.perf_counter()
        print(f"\n=== {script} ===", flush=True)
        done = subprocess.run(
            [sys.executable, str(path), *(smoke if args.smoke else full)], cwd=ROOT
        )
        seconds = time.perf_counter() - started
        rows.append((script, "ok" if done.returncode == 0 else f"exit {done.returncode}", seconds))
    print(f"\n{'benchmark':28} {'status':10} {'seconds':>8}")
    for script, status, seconds in rows:
        print(f"{script:28} {status:10} {seconds:8.1f}")
    print(f"\n{'benchmark':28} {'figure':52} value")
    for script, _full, _smoke, stem in SCRIPTS:
        for figure, value in headline(stem, args.smoke):
            print(f"{script:28} {figure:52} {value}")
    print(f"\nfigures: {RESULTS}/*.json")
    summary = {
        script: {"status": status, "seconds": round(seconds, 1)} for script, status, seconds in rows
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / ("run_all-smoke.json" if args.smoke else "run_all.json")).write_text(
        json.dumps(summary, indent=2)
    )
    return (
        0 if all(status in ("ok", "missing") or status == "exit 1" for _, status, _ in rows) else 1
    )


if __name__ == "__main__":
    sys.exit(main())
