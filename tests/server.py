"""Start the real app with `streamlit run` for browser tests and subprocess fault tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_app(home: Path, port: int, log: Path, env: dict[str, str] | None = None,
              secrets: Path | None = None) -> subprocess.Popen:
    """Start the app in its own process group, logging to ``log`` (the child keeps the file open).

    ``env`` adds to (or overrides) this process's environment; ``secrets`` is the secrets file to read instead of
    ``.streamlit/secrets.toml``.
    """
    env = {**os.environ, "MNIST_LAB_HOME": str(home), "PYTHONUNBUFFERED": "1", **(env or {})}
    command = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
        "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
        *(["--secrets.files", str(secrets)] if secrets is not None else []),
    ]
    with log.open("w") as output:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)


def wait_serving(url: str, answered: Callable, process: subprocess.Popen, log: Path, what: str,
                 timeout: float = 60) -> None:
    """Poll ``url`` until ``answered(response)`` is true; fail with ``log`` if ``process`` exits or never answers.

    ``what`` names the process in the failure ("the app").
    """
    def answers_now() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as answer:
            return answered(answer)
        return False

    try:
        wait_for(answers_now, timeout=timeout, interval=0.3, what=f"{what} to answer {url}")
    except AssertionError as error:
        raise RuntimeError(f"{error}:\n{log.read_text()}") from error


def wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    """Poll ``/_stcore/health`` until it answers ok; fail with the server log if it never does."""
    wait_serving(f"{url}/_stcore/health", lambda answer: answer.read().strip() == b"ok", process, log, "the app",
                 timeout)


def stop_process(process: subprocess.Popen, timeout: float = 15) -> None:
    """Ask ``process`` to end; kill it if it has not within ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()


@contextlib.contextmanager
def running_app(home: Path, env: dict[str, str] | None = None, *, port: int | None = None,
                secrets: Path | None = None) -> Iterator[str]:
    """Run the app until the block ends, with ``env`` added to its environment; yield its URL.

    ``port`` is the port to listen on (a free one when None); ``secrets`` the secrets file it reads.
    """
    port = port or free_port()
    log = home / "server.log"
    home.mkdir(parents=True, exist_ok=True)
    process = start_app(home, port, log, env, secrets)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, log)
        yield url
    finally:
        stop_process(process)
