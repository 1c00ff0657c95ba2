"""The Examples sections of the public API run as written: a reader who copies one gets the output shown."""

import doctest
import importlib

import pytest

from mnist_lab.runs.database import DATABASE_ENV

DOCUMENTED = ["mnist_lab.evaluation.metrics", "mnist_lab.evaluation.curves", "mnist_lab.report.pdf_tags",
              "mnist_lab.data.preprocess", "mnist_lab.data.decode", "mnist_lab.runs.store",
              "mnist_lab.runs.class_settings", "mnist_lab.models.used_settings",
              "mnist_lab.training.protocol", "mnist_lab.training.server.outcomes",
              "mnist_lab.training.server.messages", "mnist_lab.training.server.progress"]


@pytest.mark.parametrize("name", DOCUMENTED)
def test_the_examples_run_as_written(name, monkeypatch):
    # The run store's examples open a store in a temporary home: its SQLite file, never a server set for the shell.
    monkeypatch.delenv(DATABASE_ENV, raising=False)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no example to run"
    assert result.failed == 0
