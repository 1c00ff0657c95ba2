"""The server as an operator runs it: on this machine only unless opened on purpose, its secrets never committed."""

import shutil
import subprocess

import pytest

from tests.server import ROOT


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_serves_this_machine_only_unless_told_otherwise():
    command = ["make", "-n", "--no-print-directory", "run"]
    planned = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=True).stdout
    assert "streamlit run app.py --server.address 127.0.0.1" in planned
    opened = subprocess.run([*command, "ADDRESS=0.0.0.0"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            check=True).stdout
    assert "streamlit run app.py --server.address 0.0.0.0" in opened


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_the_secrets_file_is_never_committed():
    ignored = subprocess.run(["git", "check-ignore", "--quiet", ".streamlit/secrets.toml"], cwd=ROOT, timeout=60)
    assert ignored.returncode == 0
