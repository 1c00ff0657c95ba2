"""What the server accepts from a training worker: each message's kind, type and size, checked before use.

A worker sends ``(kind, payload)`` pairs through a Dask queue (:mod:`mnist_lab.training.worker.task`) and returns a
small dict when its task ends. The server trusts nothing in them beyond their shape: :func:`checked_message`
refuses an unknown kind, a payload of the wrong type and anything larger than a real training sends, before the
follow loop stores it. Model bytes must look like a ``.keras`` file (a zip archive); they are only ever loaded
with Keras' ``safe_mode`` (:func:`mnist_lab.predictions.inference.load_model_file`).

Messages travel through msgpack, so tuples arrive as lists: both are accepted, and a tuple is returned.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any

import numpy as np

from mnist_lab.errors import MnistLabError
from mnist_lab.models.architectures import MAX_PARAMS
from mnist_lab.training import protocol

#: A ``.keras`` file of the largest network the app builds: float32 weights and two Adam slots per weight, with
#: room for the archive's configuration.
MAX_MODEL_BYTES = 4 * 3 * MAX_PARAMS + 16 * 2**20
#: Batch messages gathered into one: a flush every fraction of a second holds far fewer.
MAX_BATCHES = 100_000
#: Test images scored, and classes per score row.
MAX_SCORE_ROWS, MAX_CLASSES = 2_000_000, 1_000
#: Keys of one epoch's row of figures, and the longest text a row or a ``begin`` message holds.
MAX_ROW_KEYS, MAX_TEXT = 64, 512
#: The largest epoch and batch numbers a training reaches (the app allows far fewer).
MAX_COUNT = 10**9
ZIP_MAGIC = b"PK\x03\x04"


class WorkerMessageError(MnistLabError, ValueError):
    """A training worker sent something that is not a message of MNIST Lab's workers (wrong type or size)."""


def checked_message(kind: Any, payload: Any) -> tuple[str, Any]:
    """Check one message from a worker; return it as ``(kind, payload)``.

    Parameters
    ----------
    kind : str
        One of :mod:`mnist_lab.training.protocol`'s message kinds, or ``batches``.
    payload : object
        What the worker sent with it.

    Returns
    -------
    tuple
        ``(kind, payload)``, with tuples in place of lists where the follow loop unpacks pairs.

    Raises
    ------
    WorkerMessageError
        The kind is unknown, or the payload is not of the type and size that kind has.

    Examples
    --------
    >>> checked_message("epoch_begin", 2)
    ('epoch_begin', 2)
    >>> checked_message("batches", [[1, 2]])[0]  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    WorkerMessageError: the training worker sent a 'batches' message that is not one of MNIST Lab's
    """
    if not isinstance(kind, str) or kind not in _CHECKS:
        shown = repr(kind)[:40] if isinstance(kind, str) else type(kind).__name__
        raise WorkerMessageError(f"the training worker sent a message of an unknown kind ({shown}): its workers may "
                                 "run another version of MNIST Lab; install this one on them")
    try:
        return kind, _CHECKS[kind](payload)
    except _Refused as refused:
        raise WorkerMessageError(f"the training worker sent a {kind!r} message that is not one of MNIST Lab's "
                                 f"({refused}): the training is ended; check that its workers run this version "
                                 "of MNIST Lab and that only they can reach the scheduler") from None


def checked_item(item: Any) -> tuple[str, Any]:
    """Check one item of a run's queue: a ``(kind, payload)`` pair (see :func:`checked_message`).

    Raises
    ------
    WorkerMessageError
        The item is not a pair, or the pair is not a message.
    """
    if not isinstance(item, list | tuple) or len(item) != 2:
        raise WorkerMessageError(f"the training worker sent a {type(item).__name__} where a (kind, payload) pair "
                                 "belongs: check that its workers run this version of MNIST Lab")
    return checked_message(*item)


def checked_ending(result: Any) -> dict[str, Any]:
    """Check what a worker's training task returned: :class:`protocol.Ending` as a dict, or ``{"retried": True}``.

    Raises
    ------
    WorkerMessageError
        It is neither.
    """
    try:
        if isinstance(result, dict) and set(result) == {protocol.RETRIED} and result[protocol.RETRIED] is True:
            return {protocol.RETRIED: True}
        return _ending(result)
    except _Refused as refused:
        raise WorkerMessageError(f"the training worker's task returned something other than how a training "
                                 f"ended ({refused}): check that its workers run this version of MNIST Lab") from None


class _Refused(Exception):
    """Internal: why a payload was refused (turned into a WorkerMessageError with the message's kind)."""


def _require(condition: bool, why: str) -> None:
    if not condition:
        raise _Refused(why)


def _count(value: Any, name: str, *, low: int = 0) -> int:
    _require(isinstance(value, numbers.Integral) and not isinstance(value, bool) and low <= value <= MAX_COUNT,
             f"{name} is not a whole number from {low} to {MAX_COUNT:,}")
    return int(value)


def _number(value: Any, name: str) -> float:
    _require(isinstance(value, numbers.Real) and not isinstance(value, bool), f"{name} is not a number")
    return float(value)


def _text(value: Any, name: str) -> str:
    _require(isinstance(value, str) and len(value) <= MAX_TEXT, f"{name} is not a text of up to {MAX_TEXT} characters")
    return value


def _pair(value: Any, name: str) -> tuple[Any, Any]:
    _require(isinstance(value, list | tuple) and len(value) == 2, f"{name} is not a pair")
    return tuple(value)


def _mapping(value: Any, name: str, *, required: tuple[str, ...] = (), most: int = MAX_ROW_KEYS) -> dict[str, Any]:
    _require(isinstance(value, dict) and len(value) <= most and all(isinstance(key, str) for key in value),
             f"{name} is not a mapping of up to {most} named values")
    missing = [key for key in required if key not in value]
    _require(not missing, f"{name} lacks {', '.join(missing)}")
    return value


def _begin(payload: Any) -> dict[str, Any]:
    payload = _mapping(payload, "the payload", required=("batches_per_epoch", "worker", "host", "pid"))
    return {"batches_per_epoch": _count(payload["batches_per_epoch"], "batches_per_epoch", low=1),
            "worker": _text(payload["worker"], "worker"), "host": _text(payload["host"], "host"),
            "pid": _count(payload["pid"], "pid")}


def _epoch_begin(payload: Any) -> int:
    return _count(payload, "the epoch", low=1)


def _batch(payload: Any) -> dict[str, Any]:
    payload = _mapping(payload, "the batch", required=("epoch", "batch", "loss", "accuracy", "when"))
    return {"epoch": _count(payload["epoch"], "epoch", low=1), "batch": _count(payload["batch"], "batch", low=1),
            "loss": _number(payload["loss"], "loss"), "accuracy": _number(payload["accuracy"], "accuracy"),
            "when": _number(payload["when"], "when")}


def _batches(payload: Any) -> list[dict[str, Any]]:
    _require(isinstance(payload, list | tuple) and 0 < len(payload) <= MAX_BATCHES,
             f"the payload is not a list of 1 to {MAX_BATCHES:,} batches")
    return [_batch(row) for row in payload]


def _epoch(payload: Any) -> tuple[dict[str, Any], bytes | None]:
    row, model = _pair(payload, "the payload")
    row = _mapping(row, "the epoch's figures", required=("epoch", "train_seconds", "partial"))
    checked: dict[str, Any] = {}
    for key, value in row.items():
        _require(len(key) <= 64, "a figure's name is too long")
        if key == "partial":
            _require(isinstance(value, bool), "partial is not true or false")
            checked[key] = value
        elif key == "epoch":
            checked[key] = _count(value, "epoch", low=1)
        else:
            checked[key] = _number(value, key)
    if model is not None:
        _require(isinstance(model, bytes | bytearray | memoryview), "the model is not bytes")
        model = bytes(model)
        _require(len(model) <= MAX_MODEL_BYTES, f"the model is over {MAX_MODEL_BYTES / 1e6:,.0f} MB")
        _require(model.startswith(ZIP_MAGIC), "the model is not a .keras file")
    return checked, model


def _test_scores(payload: Any) -> tuple[int, np.ndarray]:
    epoch, scores = _pair(payload, "the payload")
    epoch = _count(epoch, "the epoch", low=1)
    _require(isinstance(scores, np.ndarray) and scores.ndim == 2 and scores.dtype.kind == "f"
             and 0 < scores.shape[0] <= MAX_SCORE_ROWS and 0 < scores.shape[1] <= MAX_CLASSES,
             f"the scores are not a table of up to {MAX_SCORE_ROWS:,} rows of up to {MAX_CLASSES} probabilities")
    return epoch, scores


def _ending(payload: Any) -> dict[str, Any]:
    """The fields of :class:`protocol.Ending`, checked by their declared types (flags, and pairs of counts)."""
    fields = {item.name: str(item.type) for item in dataclasses.fields(protocol.Ending)}
    required = tuple(item.name for item in dataclasses.fields(protocol.Ending)
                     if item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING)
    payload = _mapping(payload, "the ending", required=required, most=len(fields))
    unknown = sorted(set(payload) - set(fields))
    _require(not unknown, f"the ending has unknown fields ({', '.join(name[:40] for name in unknown)})")
    checked: dict[str, Any] = {}
    for name, value in payload.items():
        declared = fields[name]
        if declared == "bool":
            _require(isinstance(value, bool), f"{name} is not true or false")
            checked[name] = value
        elif declared.startswith("tuple[int, int]"):
            if value is None and "None" in declared:
                checked[name] = None
                continue
            epoch, batch = _pair(value, name)
            checked[name] = (_count(epoch, f"{name}'s epoch"), _count(batch, f"{name}'s batch"))
        else:
            checked[name] = _number(value, name)
    return checked


_CHECKS = {protocol.BEGIN: _begin, protocol.EPOCH_BEGIN: _epoch_begin, protocol.BATCH: _batch,
           protocol.BATCHES: _batches, protocol.EPOCH: _epoch, protocol.TEST_SCORES: _test_scores,
           protocol.END: _ending}
