"""One Prefect API for a whole run started without a server (cron, a shell): started here,
shared with every process the run starts, and ended with the run."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import prefect
from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import (
    PREFECT_API_URL,
    PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
    get_current_settings,
    temporary_settings,
)

from newsmon.errors import NewsmonError

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask the kernel to send `sig` to this process when its parent ends (Linux; else nothing).

    The safety net for a parent killed with SIGKILL, which runs no cleanup of its own.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the parent's own cleanup must do
        pass


class RunScopedServer(SubprocessASGIServer):
    """Prefect's temporary API server, tied to the process that starts it.

    Prefect's own starts with the caller's stdout and stderr and is stopped only by an atexit
    hook: a pipe reading the caller stays open while it lives, and a caller killed without
    running atexit (SIGKILL, or a process worker's exit) leaves it behind. This one writes
    its output to a file and gets SIGTERM from the kernel when the process that started it
    ends, however that happens.
    """

    def __init__(self, port: int | None = None):
        super().__init__(port)
        if not hasattr(self, "output"):
            # Closed with the object: tail() reads it after a failed start.
            self.output = tempfile.TemporaryFile(prefix="newsmon-prefect-api-")  # noqa: SIM115

    def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
        # Prefect's own command (prefect/server/api/server.py), with the output and the
        # parent-death signal changed.
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(prefect.__module_path__.parent),
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env={
                **os.environ,
                "PREFECT_UI_ENABLED": "0",
                "PREFECT__SERVER_EPHEMERAL": "1",
                "PREFECT__SERVER_FINAL": "1",
                **get_current_settings().to_environment_variables(exclude_unset=True),
            },
            stdin=subprocess.DEVNULL,
            stdout=self.output,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )

    def tail(self, size: int = 2000) -> str:
        """The end of what the server wrote (for an error message)."""
        self.output.seek(0, os.SEEK_END)
        self.output.seek(max(0, self.output.tell() - size))
        return self.output.read().decode("utf-8", "replace")


def _drain_to(server: RunScopedServer) -> None:
    """Send the logs and events still queued for the API before it stops (else Prefect
    sends them at exit, to a server that is gone, and prints the failure)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for service in (APILogWorker, EventsWorker):
        try:
            service.drain_all(timeout=10)
        except Exception as exc:  # the run's outcome stands; only its last logs are lost
            log.warning(
                "sending the last %s to %s failed: %s", service.__name__, server.api_url, exc
            )


@contextmanager
def run_api() -> Iterator[str | None]:
    """Make sure the run and every process it starts talk to one Prefect API.

    With PREFECT_API_URL set (a server, a work pool, the test harness) nothing changes and
    the server's URL is yielded. Without one, Prefect would start a temporary server in this
    process and one more in every process worker, each left running when the worker
    ends. Here one server starts for the run, its URL goes into the settings and the
    environment that workers inherit, and it stops when the run ends (on success, error,
    Ctrl-C or SIGTERM; on SIGKILL the kernel stops it).
    """
    configured = get_current_settings().api.url
    if configured:
        yield configured
        return
    server = RunScopedServer()
    try:
        # A first start migrates a new PREFECT_HOME's database: on a busy machine that can
        # take longer than Prefect's default wait (20 s).
        server.start(timeout=max(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value(), 90))
    except Exception as exc:
        output = server.tail()
        server.stop()
        raise NewsmonError(f"the temporary Prefect API did not start: {exc}\n{output}") from exc
    previous = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            yield server.api_url
    finally:
        _drain_to(server)
        if previous is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = previous
        server.stop()
