"""A real OpenID Connect provider for the login tests: ``oidc-provider-mock`` on 127.0.0.1 and a free port."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests.server import free_port, stop_process, wait_serving


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
        wait_serving(f"{url}/.well-known/openid-configuration", lambda answer: json.load(answer).get("issuer"),
                     process, log, "the OpenID Connect provider")
        yield url
    finally:
        stop_process(process)


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
