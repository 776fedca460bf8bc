"""The soak's checks and report (bench/soak.py): (a) processes and pipes left, (b) growth of
the soak process, (c) every article stored once, (d) nothing staged forever, (e) exit codes;
each figure printed, all of them written to bench/results/soak.json (soak-smoke.json).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from bench.soak_procs import GRACE

ROOT = Path(__file__).resolve().parents[1]


def median(values: list[float]) -> float:
    """The median, 0 for no values."""
    return statistics.median(values) if values else 0.0


def fifths(samples: list[dict[str, float]], key: str) -> tuple[float, float]:
    """Median of `key` over the first and the last fifth of the samples."""
    n = max(1, len(samples) // 5)
    return median([s[key] for s in samples[:n]]), median([s[key] for s in samples[-n:]])


def check_warehouse(db: Path, served: set[str], final_listed: set[str]) -> tuple[dict, list[str]]:
    """Figures and failures of check (c)."""
    if not db.exists():  # no run got as far as a load
        keys = ["rows", "distinct_ids", "urls_stored_twice", "stored_not_served", "revisions"]
        keys += ["final_listed_stored", "marked_duplicates", "text_source", "runs_recorded"]
        figures = dict.fromkeys(keys, 0)
        figures |= {"final_listed": len(final_listed), "served_urls": len(served)}
        return figures, [f"(c) no warehouse at {db}"]
    problems = []
    with duckdb.connect(str(db), read_only=True) as con:
        rows, ids = con.execute(
            "SELECT count(*), count(DISTINCT article_id) FROM articles"
        ).fetchone()
        twice = con.execute(
            "SELECT url, count(*) FROM articles WHERE url IS NOT NULL GROUP BY url HAVING count(*) > 1"
        ).fetchall()
        urls = {r[0] for r in con.execute("SELECT url FROM articles").fetchall()}
        revisions = con.execute("SELECT count(*) FROM article_revisions").fetchone()[0]
        duplicates = con.execute(
            "SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL"
        ).fetchone()[0]
        by_source = dict(
            con.execute("SELECT text_source, count(*) FROM articles GROUP BY ALL").fetchall()
        )
        runs = dict(con.execute("SELECT status, count(*) FROM runs GROUP BY ALL").fetchall())
    not_served = sorted(u for u in urls if u not in served)
    missing = sorted(final_listed - urls)
    figures = {
        "rows": rows,
        "distinct_ids": ids,
        "urls_stored_twice": len(twice),
        "stored_not_served": len(not_served),
        "final_listed": len(final_listed),
        "final_listed_stored": len(final_listed) - len(missing),
        "served_urls": len(served),
        "revisions": revisions,
        "marked_duplicates": duplicates,
        "text_source": by_source,
        "runs_recorded": runs,
    }
    if rows != ids:
        problems.append(f"(c) {rows} article rows but {ids} distinct ids")
    if twice:
        problems.append(f"(c) {len(twice)} URLs stored more than once, e.g. {twice[:3]}")
    if not_served:
        problems.append(
            f"(c) {len(not_served)} stored URLs were never served, e.g. {not_served[:3]}"
        )
    if missing:
        problems.append(
            f"(c) {len(missing)} entries of the final, healthy feeds are not stored, e.g. {missing[:3]}"
        )
    return figures, problems


def report(args, work, db, records, samples, leftovers, served, final_listed, wall) -> int:
    """Print checks (a) to (e), write the figures; the exit status (1: a check failed)."""
    problems: list[str] = []
    print()
    # (a) processes and pipes
    by_run = Counter()
    kinds = Counter()
    for cycle, kind, _info in leftovers:
        rec = records[cycle - 1]
        by_run["killed" if rec["killed_at"] is not None else rec["runner"]] += 1
        kinds[kind] += 1
    runs_with = len({c for c, _, _ in leftovers})
    detail = "; ".join(f"{k} x{n}" for k, n in kinds.most_common()) or "none"
    origin = ", ".join(f"{n} from {k} runs" for k, n in sorted(by_run.items()))
    print(
        f"(a) processes alive {GRACE:g} s after their run exited: {len(leftovers)} in {runs_with}"
        f" of {len(records)} runs{' (' + origin + ')' if origin else ''}: {detail}"
    )
    if leftovers:
        problems.append(
            f"(a) {len(leftovers)} processes outlived their run by {GRACE:g} s ({detail})"
        )
    held = [r for r in records if r["eof_after_exit"] is None]
    eofs = [r["eof_after_exit"] for r in records if r["eof_after_exit"] is not None]
    holders = Counter(
        "killed runs" if r["killed_at"] is not None else f"{r['runner']} runs" for r in held
    )
    pipe_line = (
        f"(a) stdout pipe at EOF within {GRACE:g} s of exit: {len(records) - len(held)} of"
        f" {len(records)} runs (the slowest {max(eofs, default=0):.2f} s after exit)"
    )
    if held:
        pipe_line += f"; still open in {len(held)}: {dict(holders)}"
    print(pipe_line)
    if held:
        example = next((r["pipe_held_by"] for r in held if r["pipe_held_by"]), [])
        problems.append(
            f"(a) the stdout pipe of {len(held)} runs was still open {GRACE:g} s after they"
            f" exited, e.g. held by {example[:2]}"
        )
    seen = Counter()
    for r in records:
        seen.update(r["seen"])
    print(
        "    processes the runs started (seen while running): "
        + ("; ".join(f"{k} x{n}" for k, n in seen.most_common()) or "none")
    )
    runners = Counter(r["runner"] for r in records)
    bursts_new = ", ".join(
        f"cycle {r['cycle']} "
        + ("killed" if r["killed_at"] is not None else str(r.get("new", "-")))
        for r in records
        if r["kind"] == "burst"
    )
    print(
        f"    runs on the process runner: {runners['processes']}, on threads: {runners['threads']};"
        f" new articles in the bursts: {bursts_new or 'no burst'}"
    )
    if not runners["processes"] and any(r["kind"] == "burst" for r in records):
        problems.append("(a) no run used the process runner: the bursts did not reach it")

    # (b) growth of the long-lived process (the soak, its HTTP server inside)
    figures_b = {}
    growth = []
    for key, unit, allowed in (
        ("fds", "", lambda a, b: b <= a + 2),
        ("rss_mib", " MiB", lambda a, b: b <= a * 1.15 + 16),
        ("threads", "", lambda a, b: b <= a + 2),
    ):
        first, last = fifths(samples, key)
        figures_b[key] = [first, last]
        growth.append(f"{key} {first:g} -> {last:g}{unit}")
        if not allowed(first, last):
            problems.append(f"(b) {key} of the soak process grew: {first:g} -> {last:g}{unit}")
    print(
        "(b) soak process with its HTTP server, median of the first fifth of cycles -> last"
        f" fifth: {', '.join(growth)} (peak RSS {max(s['rss_mib'] for s in samples):g} MiB)"
    )
    if args.keep_leftovers and any("kept_rss_mib" in s for s in samples):
        kept = [s.get("kept_rss_mib", 0) for s in samples]
        kept_fds = [s.get("kept_fds", 0) for s in samples]
        print(
            f"(b) processes left over and kept: RSS {kept[0]:g} -> {kept[-1]:g} MiB in all,"
            f" fds {kept_fds[0]} -> {kept_fds[-1]} (first -> last cycle)"
        )

    # (c) every article once
    figures_c, found = check_warehouse(db, served, final_listed)
    problems += found
    print(
        f"(c) articles: {figures_c['rows']} rows, {figures_c['distinct_ids']} distinct ids;"
        f" URLs stored twice: {figures_c['urls_stored_twice']}; stored but never served:"
        f" {figures_c['stored_not_served']}; entries of the final feeds stored:"
        f" {figures_c['final_listed_stored']} of {figures_c['final_listed']}"
    )
    print(
        f"    served entry URLs {figures_c['served_urls']}; revisions kept"
        f" {figures_c['revisions']}; marked duplicates {figures_c['marked_duplicates']};"
        f" text from {figures_c['text_source']}; runs recorded {figures_c['runs_recorded']}"
    )

    # (d) nothing staged forever
    staging = db.with_name(db.name + ".staging")
    left_staged = sorted(p.name for p in staging.iterdir()) if staging.is_dir() else None
    staged_runs = sum(1 for r in records if r.get("staged"))
    print(
        "(d) staging after the final clean cycle: "
        + (
            "absent"
            if left_staged is None
            else f"{len(left_staged)} entries {left_staged[:5]}"
            if left_staged
            else "empty"
        )
        + f" ({staged_runs} runs staged their batch on the way)"
    )
    if left_staged:
        problems.append(f"(d) {len(left_staged)} entries left in {staging}: {left_staged[:5]}")

    # (e) exit codes
    killed = [r for r in records if r["killed_at"] is not None]
    bad = [r for r in records if r["killed_at"] is None and (r["exit"] != 0 or r["timed_out"])]
    print(
        f"(e) runs not killed that failed or timed out: {len(bad)} of {len(records) - len(killed)}"
        f" ({len(killed)} killed with SIGKILL at {[r['killed_at'] for r in killed]} s;"
        f" {sum(r['kill_planned'] is not None for r in records) - len(killed)} ended before"
        " their planned kill)"
    )
    for r in bad:
        problems.append(
            f"(e) cycle {r['cycle']} exited {r['exit']}{' (timed out)' if r['timed_out'] else ''};"
            f" stderr in {work / 'logs' / 'cycle-{:03d}.stderr'.format(r['cycle'])}"
        )

    durations = [r["seconds"] for r in records if r["killed_at"] is None]
    burst_times = [r["seconds"] for r in records if r["kind"] == "burst" and r["killed_at"] is None]
    burst_text = f", a burst {median(burst_times):.1f} s" if burst_times else ""
    print(
        f"time: {wall:.0f} s for {len(records)} runs; a run not killed {median(durations):.1f} s"
        f" (median){burst_text}"
    )
    figures = {
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cycles": args.cycles,
        "seed": args.seed,
        "seconds": round(wall, 1),
        "leftover_processes": len(leftovers),
        "leftover_kinds": dict(kinds),
        "leftovers_by_run": dict(by_run),
        "pipes_held_open": len(held),
        "growth": figures_b,
        "warehouse": figures_c,
        "staging_left": left_staged or [],
        "runs_failed": len(bad),
        "runs_killed": len(killed),
        "problems": problems,
        "passed": not problems,
        "records": records,
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
        },
    }
    out = ROOT / "bench" / "results" / ("soak-smoke.json" if args.smoke else "soak.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"figures written to {out}")
    if problems:
        print("soak: FAIL")
        for p in problems:
            print("  " + p)
        return 1
    print("soak: PASS")
    return 0
