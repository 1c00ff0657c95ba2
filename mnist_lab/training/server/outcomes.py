"""How a training ended, in words: pure functions of the figures the server has when it ends.

Every text here is quoted to the student (the run's message on the Train, Evaluate and Report pages) and must be
true for that run: each names the epoch it happened in and the epoch whose model is kept.
"""

from __future__ import annotations

from typing import Any

from mnist_lab.runs import store as run_store
from mnist_lab.text import plural
from mnist_lab.training.protocol import DIVERGENCE_FACTOR, Ending

#: The most characters of an error's own text a failed run's message quotes.
FAILURE_TEXT_CHARS = 300
#: The figures of the kept model's epoch that become the run's final metrics.
FINAL_FIGURES = ("loss", "accuracy", "val_loss", "val_accuracy", "test_accuracy")


def outcome(ending: Ending, *, epoch: int, stop_asked: bool, epoch_rows: list[dict[str, Any]], epochs: int,
            learning_rate: float, max_minutes: float | None) -> tuple[str, str]:
    """The final status and message of a fit that ended as ``ending`` says.

    Parameters
    ----------
    ending : Ending
        How the fit ended, as the worker saw it.
    epoch : int
        The epoch in progress when it ended (the last one begun).
    stop_asked : bool
        Whether a stop was asked for (by the student, or by the class's time limit).
    epoch_rows : list of dict
        The figures of every epoch that ended, in order, each with ``epoch``, ``partial`` and ``model_saved``.
    epochs : int
        The epochs the run was to train.
    learning_rate : float
        The run's learning rate (a diverged run's message names it).
    max_minutes : float, optional
        The class's time limit, when it has one.

    Returns
    -------
    tuple of str
        The run's status (``run_store.FINISHED``, ``STOPPED`` or ``DIVERGED``) and its message.

    Examples
    --------
    >>> done = Ending(diverged=False, stopped_before_start=False, stop_reached=None, last=(2, 10))
    >>> rows = [{"epoch": 1, "partial": False, "model_saved": True}, {"epoch": 2, "partial": False, "model_saved": True}]
    >>> outcome(done, epoch=2, stop_asked=False, epoch_rows=rows, epochs=2, learning_rate=0.001, max_minutes=None)
    ('finished', 'Finished 2 epochs.')
    >>> stopped = Ending(diverged=False, stopped_before_start=False, stop_reached=(2, 4), last=(2, 4))
    >>> cut = [rows[0], {"epoch": 2, "partial": True, "model_saved": True}]
    >>> outcome(stopped, epoch=2, stop_asked=True, epoch_rows=cut, epochs=3, learning_rate=0.001, max_minutes=None)
    ('stopped', 'Stopped during epoch 2; the model so far is kept.')
    """
    saved = saved_epoch(epoch_rows)
    if ending.stopped_before_start:
        return run_store.STOPPED, "Stopped before the first batch."
    if ending.timed_out:
        return run_store.STOPPED, (
            f"Stopped: the class's time limit of {plural(max_minutes or 0, 'minute')} per training was reached "
            f"during epoch {epoch}; the model so far is kept (epoch {saved})."
        )
    if ending.diverged:
        kept = f" The model of epoch {saved} is kept." if saved else ""
        return run_store.DIVERGED, (
            f"Training diverged: the loss became NaN, infinite or more than {DIVERGENCE_FACTOR:g} times its "
            f"starting value (learning rate {learning_rate:g}). Try a learning rate 10 times lower.{kept}"
        )
    last = epoch_rows[-1] if epoch_rows else {"epoch": 0, "partial": True}
    if stop_asked and (last["partial"] or last["epoch"] < epochs):
        when = "during" if last["partial"] else "after"
        return run_store.STOPPED, f"Stopped {when} epoch {epoch}; the model so far is kept."
    return run_store.FINISHED, f"Finished {plural(epoch, 'epoch')}."


def saved_epoch(epoch_rows: list[dict[str, Any]]) -> int:
    """The last epoch whose model was saved (0 when none was).

    Examples
    --------
    >>> saved_epoch([{"epoch": 1, "model_saved": True}, {"epoch": 2, "model_saved": False}])
    1
    """
    return max((row["epoch"] for row in epoch_rows if row.get("model_saved")), default=0)


def interrupted_text(what: str, *, epoch: int, saved: int, why: str = "") -> str:
    """``what`` happened, when (the epoch in progress) and which epoch is kept, in plain words.

    Examples
    --------
    >>> interrupted_text("The training cluster stopped answering", epoch=3, saved=2)
    'The training cluster stopped answering during epoch 3; epoch 2 is kept: train it again to go further.'
    >>> interrupted_text("The training process stopped", epoch=0, saved=0, why="it was killed")
    'The training process stopped before the first epoch (it was killed); no epoch had been saved: start it again.'
    """
    reason = f" ({why})" if why else ""
    if epoch == 0:
        when = "before the first epoch"
    elif saved >= epoch:
        when = f"after epoch {saved}"
    else:
        when = f"during epoch {epoch}"
    kept = f"epoch {saved} is kept: train it again to go further." if saved else "no epoch had been saved: start it again."
    return f"{what} {when}{reason}; {kept}"


def process_lost_text(*, epoch: int, saved: int) -> str:
    """The message of a training whose worker process died (SIGKILL, out of memory) or was restarted."""
    return interrupted_text("The training process stopped", epoch=epoch, saved=saved,
                            why="it was killed or ran out of memory")


def failure_text(error: BaseException, *, where: str) -> str:
    """The message of a training that raised ``error`` in ``where`` (an error's long text is cut).

    Examples
    --------
    >>> failure_text(MemoryError(), where="the worker tcp://127.0.0.1:4000")
    'The worker tcp://127.0.0.1:4000 ran out of memory: try a smaller model, batch size or training subset.'
    >>> failure_text(ValueError("x" * 400), where="this process")[-10:]
    'xxxx [...]'
    """
    if isinstance(error, MemoryError):
        return f"{where[0].upper()}{where[1:]} ran out of memory: try a smaller model, batch size or training subset."
    if isinstance(error, run_store.StoreError):
        return f"Training ended: {error}."
    text = str(error)
    if len(text) > FAILURE_TEXT_CHARS:  # Keras quotes whole arrays in some errors
        text = text[:FAILURE_TEXT_CHARS].rstrip() + " [...]"
    return f"Training failed: {type(error).__name__}: {text}"


def duration_text(seconds: float) -> str:
    """A rough duration.

    Examples
    --------
    >>> duration_text(20), duration_text(190), duration_text(4200)
    ('under a minute', 'about 3 min', 'about 1 h 10 min')
    """
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under a minute"
    return f"about {minutes} min" if minutes < 60 else f"about {minutes // 60} h {minutes % 60} min"


def waiting_text(position: int, wait_seconds: float) -> str:
    """What a training waiting in the queue says: its place and, once the queue can tell, its estimated wait.

    Examples
    --------
    >>> waiting_text(2, float("nan"))
    'Waiting for a worker: position 2 in the queue.'
    >>> waiting_text(1, 150.0)
    'Waiting for a worker: position 1 in the queue, about 2 min from now.'
    """
    estimate = "" if wait_seconds != wait_seconds else f", {duration_text(wait_seconds)} from now"  # NaN: unknown
    return f"Waiting for a worker: position {position} in the queue{estimate}."


def final_metrics(epoch_rows: list[dict[str, Any]], worker: dict[str, Any]) -> dict[str, Any]:
    """The run's final metrics: the figures of the epoch whose model is kept, the training time, the worker.

    Examples
    --------
    >>> rows = [{"epoch": 1, "accuracy": 0.9, "train_seconds": 4.0, "model_saved": True},
    ...         {"epoch": 2, "accuracy": 0.2, "train_seconds": 8.5, "model_saved": False}]
    >>> final_metrics(rows, {})
    {'accuracy': 0.9, 'train_seconds': 8.5}
    """
    kept = next((row for row in reversed(epoch_rows) if row.get("model_saved")), {})
    metrics: dict[str, Any] = {key: kept[key] for key in FINAL_FIGURES if key in kept}
    metrics["train_seconds"] = epoch_rows[-1].get("train_seconds", 0.0) if epoch_rows else 0.0
    if worker:
        metrics["worker"] = dict(worker)
    return metrics
