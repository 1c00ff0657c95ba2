"""A real OpenID Connect provider for the login tests: ``oidc-provider-mock`` on 127.0.0.1 and a free port."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests.server import free_port


@contextlib.contextmanager
def oidc_provider(users: Sequence[dict[str, str]], log: Path) -> Iterator[str]:
    """Run the provider with predefined ``users`` (claims, each with ``sub``) until the block ends; yield its URL.

    Its authorization page offers each predefined user as a button named by their ``sub``.
    """
    port = free_port()
    command = [str(Path(sys.executable).parent / "oidc-provider-mock"), "--host", "127.0.0.1", "--port", str(port)]
    for user in users:
        command += ["--user-claims", json.dumps(user)]
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_metadata(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_for_metadata(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    """Wait until the provider serves its discovery document; fail with its log if it exits or never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the OpenID Connect provider exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(OSError), urllib.request.urlopen(
            f"{url}/.well-known/openid-configuration", timeout=2
        ) as answer:
            if json.load(answer).get("issuer"):
                return
        time.sleep(0.3)
    raise RuntimeError(f"the OpenID Connect provider did not answer within {timeout} s:\n{log.read_text()}")


def login_secrets(path: Path, *, app_port: int, provider: str, teachers: Sequence[str]) -> Path:
    """Write a secrets file that turns on login through ``provider`` for an app on ``app_port``; return it."""
    lines = [
        "[auth]",
        f'redirect_uri = "http://localhost:{app_port}/oauth2callback"',
        'cookie_secret = "a-long-random-secret-for-the-tests-only"',
        'client_id = "mnist-lab"',
        'client_secret = "mnist-lab-secret"',
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"',
        "",
        "[mnist_lab]",
        f"teachers = {json.dumps(list(teachers))}",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path
