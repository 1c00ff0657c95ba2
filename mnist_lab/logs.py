"""The one logging setup of a process: MNIST Lab's records go to stderr with their time, level and module.

The library only creates loggers (``logging.getLogger(__name__)``); the process that runs it, the app or the
``mnist-lab`` command, calls :func:`configure` once at start. Streamlit configures only its own loggers, so without
this a library warning would reach stderr bare (Python's last-resort handler) and its information never. The
records still propagate to the root logger, where nothing prints them unless a program asks (pytest's capture does).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

#: The environment variable that chooses the level: DEBUG, INFO, WARNING, ERROR.
LEVEL_ENV = "MNIST_LAB_LOG_LEVEL"
#: The format of Streamlit's own log lines, so that the server's log reads as one.
FORMAT = "%(asctime)s %(levelname) -7s %(name)s: %(message)s"
#: The top-level packages whose loggers this configures: the library and the app's Streamlit helpers.
PACKAGES = ("mnist_lab", "ui")


class _LabHandler(logging.StreamHandler):
    """The handler :func:`configure` adds, told apart from any other so that it is added once per logger."""


def configure(default: str = "INFO", environ: Mapping[str, str] | None = None) -> int:
    """Send the records of :data:`PACKAGES` to stderr at the level :data:`LEVEL_ENV` names, else ``default``.

    Calling it again (every Streamlit rerun runs ``app.py``) changes the level and adds no second handler.

    Parameters
    ----------
    default : str
        The level when :data:`LEVEL_ENV` is not set: INFO for the app's server, WARNING for a command whose output
        is read.
    environ : mapping, optional
        Where to read :data:`LEVEL_ENV`; ``os.environ`` by default.

    Returns
    -------
    int
        The level set. An unknown level name falls back to ``default``, and says so in the log.
    """
    environ = os.environ if environ is None else environ
    chosen = environ.get(LEVEL_ENV, default).strip().upper()
    level = logging.getLevelName(chosen)  # the number of a level's name; for any other name, a string
    level = level if isinstance(level, int) else None
    for package in PACKAGES:
        logger = logging.getLogger(package)
        logger.setLevel(level if level is not None else default)
        if not any(isinstance(handler, _LabHandler) for handler in logger.handlers):
            handler = _LabHandler(sys.stderr)
            handler.setFormatter(logging.Formatter(FORMAT))
            logger.addHandler(handler)
    if level is None:
        logging.getLogger(__name__).warning("%s=%r is not a logging level (DEBUG, INFO, WARNING, ERROR): using %s",
                                            LEVEL_ENV, environ[LEVEL_ENV], default)
        return logging.getLevelName(default)
    return level
