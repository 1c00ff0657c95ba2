"""A real PostgreSQL server for tests: Debian's ``postgresql``, in a temporary folder, on a free port.

initdb refuses to run as root (CI runs as root), so the server's files belong to the ``postgres`` user and its
commands run through ``runuser`` when this process is root. The server listens on 127.0.0.1 only, and asks for
a password made for the session.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.server import free_port

#: Where Debian installs the server's programs (one folder per major version).
BIN_GLOB = "/usr/lib/postgresql/*/bin"


def binaries() -> Path | None:
    """The folder of initdb and pg_ctl, the newest version found; None when PostgreSQL is not installed."""
    found = sorted((Path(folder) for folder in glob.glob(BIN_GLOB) if (Path(folder) / "initdb").exists()),
                   key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0)
    return found[-1] if found else None


def why_not() -> str | None:
    """Why a server cannot be started here, or None when it can."""
    if binaries() is None:
        return "PostgreSQL is not installed (apt-get install -y postgresql; .ci/run does it)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a 'postgres' user for initdb (apt-get install -y postgresql makes it)"
        if shutil.which("runuser") is None:
            return "running as root without runuser to start PostgreSQL as the 'postgres' user"
    return None


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class Server:
    """A server made by :func:`started_server`: its base URL, and :meth:`stop` and :meth:`start` to take it away and
    bring it back on the same data and port (a database outage)."""

    folder: Path
    port: int
    password: str

    @property
    def url(self) -> str:
        """The base URL, without a database name."""
        return f"postgresql+psycopg://postgres:{self.password}@127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        bin_dir = binaries()
        subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(self.folder / "data"), "-w", "-t", "60",
                                        "-l", str(self.folder / "server.log"), "-o",
                                        f"-p {self.port} -k {self.folder} -h 127.0.0.1 -F -c max_connections=300",
                                        "start"]), check=True, capture_output=True, text=True, timeout=120)

    @property
    def running(self) -> bool:
        """Whether the server runs (``pg_ctl status``)."""
        return subprocess.run(_as_server_user([str(binaries() / "pg_ctl"), "-D", str(self.folder / "data"), "status"]),
                              capture_output=True, timeout=60, check=False).returncode == 0

    def stop(self) -> None:
        """Stop the server at once (``-m fast``: open sessions are ended) and wait until it has stopped."""
        subprocess.run(_as_server_user([str(binaries() / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast",
                                        "-w", "stop"]), check=True, capture_output=True, text=True, timeout=120)

    def __repr__(self) -> str:
        return f"<postgres.Server 127.0.0.1:{self.port} in {self.folder}>"


@contextlib.contextmanager
def started_server(folder: Path) -> Iterator[Server]:
    """Start a server with its data in ``folder``; yield it; stop it after (if it still runs)."""
    bin_dir = binaries()
    assert bin_dir is not None, why_not()
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        for path in (folder, *folder.parents):
            if path == Path(path.anchor):
                break
            os.chmod(path, os.stat(path).st_mode | 0o711)  # the server user must reach its folder
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    # Connections over TCP need the password, so a test can give a wrong one; the server's socket trusts.
    server = Server(folder, free_port(), secrets.token_hex(8))
    password_file = folder / "password"
    password_file.write_text(server.password)
    if os.geteuid() == 0:
        os.chown(password_file, entry.pw_uid, entry.pw_gid)
    subprocess.run(_as_server_user([str(bin_dir / "initdb"), "-D", str(folder / "data"), "--auth-local=trust",
                                    "--auth-host=scram-sha-256", f"--pwfile={password_file}", "-U", "postgres",
                                    "-E", "UTF8", "--no-sync"]), check=True, capture_output=True, text=True, timeout=120)
    server.start()
    try:
        yield server
    finally:
        subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-m", "fast", "-w", "stop"]),
                       capture_output=True, timeout=120, check=False)


@contextlib.contextmanager
def running_server(folder: Path) -> Iterator[str]:
    """Start a server with its data in ``folder``; yield its base URL (no database name); stop it after."""
    with started_server(folder) as server:
        yield server.url


def new_database(base_url: str) -> str:
    """Create an empty database on the server of ``base_url``; return its URL."""
    import psycopg

    name = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(base_url.replace("postgresql+psycopg", "postgresql") + "/postgres",
                         autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{base_url}/{name}"
