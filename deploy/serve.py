"""Start a local Prefect server on 127.0.0.1 and serve newsmon's deployments from deploy/prefect.yaml.

    .venv/bin/python deploy/serve.py [--port 4200] [--sources sources.yaml] [--no-server]

Prints the UI address; Ctrl-C (or SIGTERM) stops the runner and then the server. With
--no-server it serves against the Prefect API already configured (PREFECT_API_URL).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOYMENTS = Path(__file__).with_name("prefect.yaml")


def start_server(port: int, home: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """A Prefect server process on 127.0.0.1:port; returns once its API answers.

    `env` adds settings of the server (deploy/cluster.py sets its PostgreSQL database there).
    """
    env = {
        **os.environ,
        **(env or {}),
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        # The UI calls the API on this port; without it the UI calls 4200.
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_UI_API_URL": f"http://127.0.0.1:{port}/api",
    }
    log = open(home / "server.log", "ab")  # noqa: SIM115 (kept open for the server's life)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_healthy(f"http://127.0.0.1:{port}/api", server, home / "server.log")
    return server


def wait_healthy(
    api: str, server: subprocess.Popen | None = None, log: Path | None = None, timeout: float = 120
) -> None:
    """Block until GET {api}/health answers 200 (a fresh server takes ~17 s here)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            tail = log.read_text()[-2000:] if log and log.exists() else ""
            raise RuntimeError(f"the Prefect server exited with {server.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(f"{api}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the Prefect server at {api} did not become healthy in {timeout:g} s")


def stop(process: subprocess.Popen, grace: float = 15) -> None:
    """SIGTERM the process group, then SIGKILL after `grace` seconds."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def runner_deployments(sources: Path | None = None) -> list:
    """The deployments of prefect.yaml as Prefect RunnerDeployments for `serve`."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.flows import load_flow_from_entrypoint

    spec = yaml.safe_load(DEPLOYMENTS.read_text())
    out = []
    for item in spec["deployments"]:
        flow = load_flow_from_entrypoint(str(ROOT / item["entrypoint"]))
        parameters = dict(item.get("parameters") or {})
        if sources is not None and "sources" in parameters:
            parameters["sources"] = str(sources)
        kwargs = {}
        for schedule in item.get("schedules") or []:
            if "interval" in schedule:
                kwargs["interval"] = timedelta(seconds=schedule["interval"])
            if "cron" in schedule:
                kwargs["cron"] = schedule["cron"]
        limit = item.get("concurrency_limit")
        if limit:
            kwargs["concurrency_limit"] = ConcurrencyLimitConfig(
                limit=limit["limit"],
                collision_strategy=ConcurrencyLimitStrategy(
                    limit.get("collision_strategy", "ENQUEUE")
                ),
            )
        out.append(
            flow.to_deployment(
                name=item["name"],
                description=item.get("description"),
                parameters=parameters,
                **kwargs,
            )
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=4200)
    parser.add_argument("--sources", type=Path, default=ROOT / "sources.yaml")
    parser.add_argument(
        "--home", type=Path, default=ROOT / "data" / "prefect", help="PREFECT_HOME of the server"
    )
    parser.add_argument("--no-server", action="store_true", help="use the API in PREFECT_API_URL")
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    server = None
    if not args.no_server:
        args.home.mkdir(parents=True, exist_ok=True)
        print(
            f"starting a Prefect server on 127.0.0.1:{args.port} (logs: {args.home / 'server.log'}) ...",
            flush=True,
        )
        server = start_server(args.port, args.home)
        os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{args.port}/api"

    def shutdown(signum, frame):  # SIGTERM behaves like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, shutdown)
    os.chdir(ROOT)  # flows resolve relative paths (sources.yaml, data/) from the project
    try:
        from prefect import serve

        deployments = runner_deployments(args.sources.resolve())
        ui = os.environ["PREFECT_API_URL"].removesuffix("/api")
        print(
            f"Prefect UI: {ui}  —  deployments: {', '.join(d.name for d in deployments)}",
            flush=True,
        )
        print("open Deployments → poll → Run → Quick run; Ctrl-C stops everything", flush=True)
        serve(*deployments)
    except KeyboardInterrupt:
        print("stopping ...", flush=True)
    finally:
        if server is not None:
            stop(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
