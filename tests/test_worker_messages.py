"""What the server accepts from a training worker: each message is checked for kind, type and size before use,
and every model file is loaded with Keras' ``safe_mode``."""

import ast
import math

import numpy as np
import pytest

from mnist_lab.training import protocol
from mnist_lab.training.server import messages
from mnist_lab.training.server.messages import WorkerMessageError, checked_ending, checked_item, checked_message
from tests.server import ROOT

BATCH = {"epoch": 1, "batch": 3, "loss": 0.5, "accuracy": 0.8, "when": 12.5}
ROW = {"epoch": 2, "train_seconds": 1.5, "loss": 0.3, "accuracy": 0.9, "val_loss": 0.35, "partial": False}
MODEL = b"PK\x03\x04" + b"\x00" * 100


@pytest.mark.parametrize(("kind", "payload"), [
    (protocol.BEGIN, {"batches_per_epoch": 12, "worker": "tls://127.0.0.1:4000", "host": "h", "pid": 42}),
    (protocol.EPOCH_BEGIN, 3),
    (protocol.BATCH, BATCH),
    (protocol.BATCHES, [BATCH, {**BATCH, "batch": 4, "loss": math.nan}]),
    (protocol.EPOCH, [ROW, MODEL]),
    (protocol.EPOCH, (ROW, None)),
    (protocol.TEST_SCORES, [2, np.full((10, 10), 0.1, np.float32)]),
    (protocol.END, {"diverged": False, "stopped_before_start": False, "stop_reached": [2, 5], "last": [2, 6]}),
])
def test_the_messages_a_worker_sends_pass(kind, payload):
    checked_kind, checked = checked_message(kind, payload)
    assert checked_kind == kind
    if kind == protocol.EPOCH:
        assert checked == (ROW, payload[1])  # a pair that msgpack turned into a list comes back as a tuple
    if kind == protocol.END:
        assert checked["stop_reached"] == (2, 5) and protocol.Ending(**checked).last == (2, 6)


@pytest.mark.parametrize(("item", "why"), [
    ("begin", "pair"),
    (["exec", "print(1)"], "unknown kind"),
    ([b"epoch", 1], "unknown kind"),
    ([protocol.EPOCH_BEGIN, "2"], "whole number"),
    ([protocol.EPOCH_BEGIN, True], "whole number"),
    ([protocol.BEGIN, {"batches_per_epoch": 1, "worker": "x" * 10_000, "host": "h", "pid": 1}], "text of up to"),
    ([protocol.BATCH, {**BATCH, "loss": "0.5"}], "loss is not a number"),
    ([protocol.BATCHES, [BATCH] * (messages.MAX_BATCHES + 1)], "list of 1 to"),
    ([protocol.EPOCH, [ROW, b"#!/bin/sh\nrm -rf /"]], "not a .keras file"),
    ([protocol.EPOCH, [ROW, "PK\x03\x04"]], "not bytes"),
    ([protocol.EPOCH, [{**ROW, "note": "<img src=x>"}, None]], "note is not a number"),
    ([protocol.EPOCH, [{f"k{n}": 1.0 for n in range(100)}, None]], "named values"),
    ([protocol.TEST_SCORES, [1, [[0.1] * 10]]], "table of up to"),
    ([protocol.TEST_SCORES, [1, np.zeros((3, 10), object)]], "table of up to"),
    ([protocol.END, {"diverged": 0, "stopped_before_start": False, "stop_reached": None, "last": [1, 1]}],
     "diverged is not true or false"),
])
def test_anything_else_is_refused_with_a_message(item, why):
    with pytest.raises(WorkerMessageError, match=why) as refused:
        checked_item(item)
    assert "this version of MNIST Lab" in str(refused.value) or "install this one" in str(refused.value)


def test_a_model_over_the_size_limit_is_refused_before_use(monkeypatch):
    monkeypatch.setattr(messages, "MAX_MODEL_BYTES", 1000)
    with pytest.raises(WorkerMessageError, match="the model is over"):
        checked_message(protocol.EPOCH, [ROW, MODEL + b"\x00" * 1000])


def test_the_task_result_is_an_ending_or_a_retry():
    ending = {"diverged": True, "stopped_before_start": False, "stop_reached": None, "last": [1, 3]}
    assert checked_ending(ending) == {**ending, "last": (1, 3)}
    assert checked_ending({"retried": True}) == {"retried": True}
    for forged in ({"retried": 1}, {**ending, "extra": 1}, ["retried"], None):
        with pytest.raises(WorkerMessageError):
            checked_ending(forged)


def test_every_model_the_app_loads_is_loaded_with_safe_mode():
    """Each ``load_model`` call in the library, the pages and the UI passes ``safe_mode=True`` literally."""
    calls = []
    for folder in ("mnist_lab", "ui", "app_pages"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                        "load_model", "model_from_json", "deserialize_keras_object"):
                    safe = [kw for kw in node.keywords if kw.arg == "safe_mode"]
                    calls.append((path.relative_to(ROOT), node.lineno,
                                  bool(safe) and isinstance(safe[0].value, ast.Constant) and safe[0].value.value is True))
    assert calls, "no model loading found: the scan is looking in the wrong place"
    assert all(safe for *_, safe in calls), [call for call in calls if not call[2]]
