"""How a run's choices held up in that run: its learning rate against Keras' default, whether it learned, and the
catalogue's warnings that apply to it (stopped before a schedule's low-rate phase, too short for a regulariser).

The catalogue (:mod:`mnist_lab.models.optim`) says why one picks each choice in general; A2 quotes it after these
sentences, which are computed from the run's own settings and log.
"""

from __future__ import annotations

import math

from mnist_lab.models import optim
from mnist_lab.runs import store as run_store
from mnist_lab.text import plural
from mnist_lab.training import diagnosis

#: Keras 3's default learning rate of each optimizer (``keras.optimizers.<Name>(learning_rate=...)``); a test checks
#: them against the installed Keras.
KERAS_DEFAULT_RATES = {"sgd": 0.01, "sgd_momentum": 0.01, "adam": 0.001, "adamw": 0.001, "rmsprop": 0.001,
                       "adagrad": 0.001, "nadam": 0.001}
#: Schedules that lower the rate towards the end of the planned epochs.
ANNEALING = ("cosine", "one_cycle")
#: Choices whose catalogue entry says they matter on long runs only, and how many epochs count as short.
SHORT_RUN_EPOCHS = 2
_LONG_RUN_CHOICES = {
    ("optimizer", "adamw"): "its weight decay matters on longer runs, where a network starts to overfit",
    ("loss", "label_smoothing_crossentropy"): "it is most useful for long runs of large networks that would "
                                              "otherwise become over-confident",
}


def how_choices_held(run: run_store.Run, *, weights: int | None = None) -> list[str]:
    """Sentences on how ``run``'s loss, optimizer, learning rate and schedule did in that run.

    Parameters
    ----------
    run : Run
        A stored run with its history.
    weights : int, optional
        The network's number of weights, quoted where the catalogue speaks of large networks.

    Returns
    -------
    list of str
        The rate against Keras' default, the outcome (failed, did not carry over to new images, or the accuracy
        reached), then each catalogue warning that applies to the run; empty for a run without an epoch.
    """
    if not run.history:
        return []
    return [sentence for sentence in (_rate(run), _outcome(run), _stopped_schedule(run), *_short_run(run, weights))
            if sentence]


def _rate(run: run_store.Run) -> str:
    """The run's learning rate as a multiple of Keras' default for its optimizer."""
    train = run.train_config
    optimizer, rate = train.get("optimizer"), train.get("learning_rate")
    default = KERAS_DEFAULT_RATES.get(optimizer)
    if default is None or not isinstance(rate, (int, float)) or rate <= 0:
        return ""
    name = "peak learning rate" if train.get("schedule") == "one_cycle" else "learning rate"
    label = optim.OPTIMIZERS[optimizer].label
    ratio = rate / default
    if math.isclose(ratio, 1.0, rel_tol=1e-9):
        return f"The {name}, {rate:g}, is Keras' default for {label}."
    times = f"{ratio:.3g} times" if ratio > 1 else f"1/{1 / ratio:.3g} of"
    return f"The {name}, {rate:g}, is {times} Keras' default for {label} ({default:g})."


def _outcome(run: run_store.Run) -> str:
    """Whether the choices worked in this run, from its log: failed, did not carry over, or what they reached."""
    failed = diagnosis.diagnose(run)
    if failed is not None:
        return f"**In this run the choices failed.** {failed.summary} Most likely cause: {failed.tries[0]}"
    fragile = diagnosis.generalisation(run)
    if fragile is not None:
        return (f"**In this run they did not carry over to new images.** {fragile.summary} {fragile.findings[0]} "
                f"What to try first: {fragile.tries[0]}")
    last = run.history[-1]
    for key, split in (("val_accuracy", "validation"), ("accuracy", "training")):
        if isinstance(last.get(key), (int, float)):
            return (f"In this run they reached {last[key]:.2%} {split} accuracy in epoch {last['epoch']}, "
                    f"its last{' (partly trained)' if last.get('partial') else ''}.")
    return ""


def _stopped_schedule(run: run_store.Run) -> str:
    """A run that ended before the low-rate phase its annealing schedule keeps for the end of the planned epochs."""
    schedule, planned = run.train_config.get("schedule"), run.train_config.get("epochs")
    last = run.history[-1]
    if schedule not in ANNEALING or run.status == run_store.FINISHED or not isinstance(planned, int):
        return ""
    if last["epoch"] >= planned and not last.get("partial"):
        return ""
    label = optim.SCHEDULES[schedule].label
    return (f"The run ended as *{run.status}* in epoch {last['epoch']} of the {plural(planned, 'epoch')} it planned: "
            f"the {label} schedule lowers the rate at the end of the planned epochs, so this run never had its "
            "low-rate phase, the case in which the catalogue calls it a poor choice.")


def _short_run(run: run_store.Run, weights: int | None) -> list[str]:
    """The catalogue's 'useful on long runs' choices, in a run of few epochs."""
    planned = run.train_config.get("epochs")
    if not isinstance(planned, int) or planned > SHORT_RUN_EPOCHS:
        return []
    size = f" of a {weights:,}-weight network" if weights else ""
    sentences = []
    for (kind, key), claim in _LONG_RUN_CHOICES.items():
        if run.train_config.get(kind) == key:
            registry = optim.OPTIMIZERS if kind == "optimizer" else optim.LOSSES
            sentences.append(f"The catalogue says of {registry[key].label} that {claim}; this run trained "
                             f"{plural(planned, 'epoch')}{size}.")
    return sentences
