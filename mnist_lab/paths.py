"""The one home directory of MNIST Lab: runs, their models and imported datasets live under it."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "MNIST_LAB_HOME"


def default_home() -> Path:
    """Return the home directory: ``$MNIST_LAB_HOME`` if set, else ``~/.mnist_lab``."""
    configured = os.environ.get(HOME_ENV)
    return Path(configured).expanduser().resolve() if configured else Path.home() / ".mnist_lab"
