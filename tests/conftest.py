"""Shared fixtures: a real loopback HTTP server, temporary warehouses, a Prefect test harness."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Prefect reads its settings at import: isolate its home and silence telemetry first.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="newsmon-prefect-"))
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from newsmon.demo.server import Response, StaticSite  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test when the material is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"third-party material not present: {path}")
    return path


@pytest.fixture
def site():
    """A real HTTP server on 127.0.0.1, port 0; add routes with site.routes[path] = Response(...)."""
    with StaticSite() as server:
        yield server


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect API for the whole session (starting one costs seconds)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory, prefect_harness):
    """A warehouse filled by `newsmon demo` with the shipped watch list (read-only use)."""
    from newsmon.cli import main

    folder = tmp_path_factory.mktemp("demo")
    assert (
        main(["demo", "--port", "0", "--dir", str(folder), "--sources", str(ROOT / "sources.yaml")])
        == 0
    )
    return folder / "demo.duckdb"


def write_sources(path: Path, feeds: list[dict], warehouse: Path, **settings) -> Path:
    """Write a sources file for loopback feeds (private networks allowed)."""
    import yaml

    data = {
        "feeds": feeds,
        "settings": {"warehouse": str(warehouse), "allow_private_networks": True, **settings},
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


__all__ = ["Response", "StaticSite", "shared_data", "write_sources", "ROOT", "SHARED_DATA"]
