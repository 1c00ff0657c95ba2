"""The process's one logging setup: the library's records reach stderr with their module, once, at the chosen level."""

import logging
import subprocess
import sys

import pytest

from mnist_lab import logs

RECORD = """
import logging
from mnist_lab import logs
logs.configure()
logs.configure()  # a Streamlit rerun runs app.py again
logging.getLogger("mnist_lab.data.cache").info("loaded the dataset 'MNIST'")
logging.getLogger("mnist_lab.data.cache").debug("a detail")
logging.getLogger("ui.workbook").warning("a page's warning")
"""


def run_python(code, **env):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", **env})


def test_records_reach_stderr_once_with_their_level_and_module():
    printed = run_python(RECORD).stderr.splitlines()
    assert len(printed) == 2, printed
    assert printed[0].endswith("INFO    mnist_lab.data.cache: loaded the dataset 'MNIST'")
    assert printed[1].endswith("WARNING ui.workbook: a page's warning")


def test_the_environment_chooses_the_level():
    printed = run_python(RECORD, **{logs.LEVEL_ENV: "debug"}).stderr
    assert "DEBUG   mnist_lab.data.cache: a detail" in printed
    quiet = run_python(RECORD, **{logs.LEVEL_ENV: "WARNING"}).stderr
    assert "loaded the dataset" not in quiet and "a page's warning" in quiet


@pytest.fixture
def restored_loggers():
    """Put the packages' loggers back as they were, for the tests that come after."""
    saved = {name: (logger.level, list(logger.handlers)) for name in logs.PACKAGES for logger in [logging.getLogger(name)]}
    yield
    for name, (level, handlers) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.handlers[:] = handlers


def test_an_unknown_level_falls_back_and_says_so(restored_loggers, caplog):
    level = logs.configure(environ={logs.LEVEL_ENV: "chatty"})
    assert level == logging.INFO and logging.getLogger("mnist_lab").level == logging.INFO
    handlers = [h for h in logging.getLogger("mnist_lab").handlers if type(h).__name__ == "_LabHandler"]
    assert len(handlers) == 1
    # The handler may predate this test (an AppTest ran app.py): the record is read where pytest collects it.
    assert "MNIST_LAB_LOG_LEVEL='chatty' is not a logging level" in caplog.text
