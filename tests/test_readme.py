"""The README's quick start and quick tour run as written on a fresh copy of the repository.

Every line of their `sh` blocks runs with bash in a copy of the tracked files (what a fresh
clone has), except `make test`, which is this suite. The copy borrows this checkout's .venv
(its install stamp kept fresh), so `make demo` serves and loads but installs nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _section(text: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, flags=re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for title in ("Quick start", "Quick tour"):
        for block in re.findall(r"^```sh\n(.*?)^```", _section(text, title), flags=re.M | re.S):
            commands += [line for line in block.splitlines() if line.strip()]
    return [c for c in commands if not c.startswith("make test")]


def _fresh_copy(dst: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if listed.returncode == 0 and listed.stdout:
        for name in filter(None, listed.stdout.decode().split("\0")):
            source = ROOT / name
            if source.is_file():
                (dst / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dst / name)
    else:  # not a git checkout: everything but what a run or an install makes
        shutil.copytree(
            ROOT,
            dst,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(".venv", "data", ".git", "__pycache__", "*.duckdb*"),
        )
    (dst / ".venv").symlink_to(ROOT / ".venv")
    for name in ("pyproject.toml", "constraints.txt"):  # older than the borrowed install stamp
        os.utime(dst / name, (946684800, 946684800))


def test_the_readme_quick_start_and_tour_run_as_written(tmp_path):
    if not (ROOT / ".venv" / ".installed").exists():
        pytest.skip("needs the .venv that `make` installs")
    commands = readme_commands()
    assert (
        commands[0]
        == "make demo    # creates .venv, installs newsmon, serves the bundled corpus on loopback, polls it"
    )
    assert len(commands) >= 6, commands
    copy = tmp_path / "clone"
    copy.mkdir()
    _fresh_copy(copy)
    # As a user types them: a top-level make, no Prefect server.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS") and not k.startswith("PREFECT_API")
    }
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    outputs = []
    for command in commands:
        done = subprocess.run(
            ["bash", "-c", command], cwd=copy, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        assert done.stdout.strip(), f"{command} printed nothing"
        outputs.append(done.stdout)
    joined = "\n".join(outputs)
    assert "warehouse: data/demo/demo.duckdb (45 articles in all)" in joined
    assert "Istanbul" in joined  # story titles through newsmon query and the DuckDB CLI
    assert re.search(r"prisoner_exchange\s+occurred", joined)
    report = copy / "data" / "demo" / "report-russia-ukraine-talks.html"
    assert report.exists() and "<svg" in report.read_text(encoding="utf-8")
