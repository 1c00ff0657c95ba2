"""The app's Streamlit configuration: what a visitor may see of an error."""

import subprocess
import sys

import tomllib

from tests.server import ROOT


def test_visitors_never_see_error_details():
    with (ROOT / ".streamlit" / "config.toml").open("rb") as file:
        configured = tomllib.load(file)
    assert configured["client"]["showErrorDetails"] == "none"


def test_streamlit_reads_the_setting_as_none():
    shown = subprocess.run([sys.executable, "-m", "streamlit", "config", "show"], cwd=ROOT, capture_output=True,
                           text=True, timeout=120, check=True).stdout
    assert 'showErrorDetails = "none"' in shown.split("[client]", 1)[1].split("\n[", 1)[0]
