"""One-click comparison runs for the Report page: the same small training with one thing changed.

Each experiment trains two small runs one after the other, each queued through the server's training engine
(the fair queue of :mod:`mnist_lab.training.server.fair_queue`, so a comparison takes its turn with the students'
trainings), and tags each with its arm (``Run.experiment``), so that its result is found again in the run store
after a restart and quoted by the report. One after the other keeps the arms' figures comparable: two trainings
side by side on the same cores would each get half of them.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from mnist_lab import access, training
from mnist_lab.data import MNIST_NAME, Dataset
from mnist_lab.errors import MnistLabError
from mnist_lab.models import architectures, config
from mnist_lab.runs import store as run_store

#: The small, identical training of every arm: 4,000 training and 1,000 validation images, 2 epochs.
SMALL_TRAIN = config.TrainConfig(
    optimizer="adam", learning_rate=1e-3, schedule="constant", batch_size=64, epochs=2, train_limit=5000,
    validation_fraction=0.2, seed=0,
)


@dataclass(frozen=True)
class Arm:
    """One side of a comparison: its run tag, its label and the network it trains."""

    tag: str
    label: str
    model: config.ModelConfig


@dataclass(frozen=True)
class Experiment:
    """A comparison of two small runs that answers one question of the report.

    Attributes
    ----------
    key : str
        Stable identifier (also the start of every arm's tag).
    question : str
        Id of the report question it answers, such as ``"b1"``.
    title : str
        Short name, used in run names and buttons.
    arms : callable
        Takes the active run's ModelConfig (or None) and returns the arms to train, in order.
    """

    key: str
    question: str
    title: str
    arms: Callable[[config.ModelConfig | None], tuple[Arm, ...]]


def _scaling_arms(base: config.ModelConfig | None) -> tuple[Arm, ...]:
    """The active run's network (or ``fast``) with inputs scaled to 0-1, then on raw 0-255 pixels."""
    base = base or config.ModelConfig(architecture="fast")
    return (
        Arm("b1-scaling-on", "scaled 0-1", config.replace(base, scale_inputs=True)),
        Arm("b1-scaling-off", "raw 0-255", config.replace(base, scale_inputs=False)),
    )


def _perceptron_arms(base: config.ModelConfig | None) -> tuple[Arm, ...]:
    """A perceptron (one Dense layer on the 784 pixels) against the ``fast`` CNN."""
    return (
        Arm("b5-perceptron", "perceptron", config.ModelConfig(architecture="perceptron")),
        Arm("b5-cnn", "CNN", config.ModelConfig(architecture="fast")),
    )


EXPERIMENTS: dict[str, Experiment] = {
    experiment.key: experiment
    for experiment in (
        Experiment("b1-scaling", "b1", "B1 scaling on or off", _scaling_arms),
        Experiment("b5-perceptron-vs-cnn", "b5", "B5 perceptron or CNN", _perceptron_arms),
    )
}


def experiment(key: str) -> Experiment:
    """Return the experiment called ``key``; ValueError lists the known ones."""
    try:
        return EXPERIMENTS[key]
    except KeyError:
        raise ValueError(f"no experiment called {key!r}; choose one of {', '.join(EXPERIMENTS)}") from None


@dataclass(frozen=True)
class Outcome:
    """The latest set of runs of one experiment, as far as it got.

    Attributes
    ----------
    experiment : Experiment
    runs : tuple of (Run or None)
        One per arm, in arm order, with histories; None where that arm has not been started (yet).
    """

    experiment: Experiment
    runs: tuple[run_store.Run | None, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        """The arms' labels, in arm order."""
        return tuple(arm.label for arm in self.experiment.arms(None))

    @property
    def version(self) -> tuple:
        """The :attr:`mnist_lab.runs.store.Run.version` of each arm's run (None where not started)."""
        return tuple(None if run is None else run.version for run in self.runs)

    @property
    def complete(self) -> bool:
        """Whether every arm has a run that ended (finished, stopped, diverged...)."""
        return all(run is not None and run.status != run_store.RUNNING for run in self.runs)

    def table(self) -> pd.DataFrame:
        """One row per arm: its network, inputs, status and figures (None where not measured)."""
        rows = []
        for label, run in zip(self.labels, self.runs):
            row = {"run": label, "status": "not started" if run is None else run.status}
            if run is not None:
                model, metrics = run.model_config, run.metrics
                first = run.history[0] if run.history else {}
                network = model.get("architecture")
                row |= {
                    "network": architectures.ARCHITECTURES[network].label if network in architectures.ARCHITECTURES else network,
                    "inputs": "scaled 0-1" if model.get("scale_inputs", True) else "raw 0-255",
                    "validation accuracy": metrics.get("val_accuracy"),
                    "validation loss": metrics.get("val_loss"),
                    "first-epoch training loss": first.get("loss"),
                    "seconds": metrics.get("train_seconds"),
                }
            rows.append(row)
        return pd.DataFrame(rows)


def outcome(store: run_store.RunStore, experiment: Experiment, dataset: str = MNIST_NAME) -> Outcome | None:
    """The latest set of runs of ``experiment`` on the dataset named ``dataset``, or None if it was never started.

    The set starts with the newest run of the first arm; each further arm is its first run
    created at or after that one, so results of older sets are never mixed in.
    """
    tags = tuple(arm.tag for arm in experiment.arms(None))
    runs = [run for run in store.list_runs() if run.experiment in tags and run.dataset == dataset]
    firsts = [run for run in runs if run.experiment == tags[0]]
    if not firsts:
        return None
    first = max(firsts, key=lambda run: run.created)
    chosen: list[run_store.Run | None] = [first]
    for tag in tags[1:]:
        later = [run for run in runs if run.experiment == tag and run.created >= first.created]
        chosen.append(min(later, key=lambda run: run.created) if later else None)
    return Outcome(experiment, tuple(None if run is None else store.get(run.id) for run in chosen))


class ExperimentRunner:
    """Trains the arms of one student's experiments, one experiment at a time, one arm after the other.

    Parameters
    ----------
    trainer : Trainer
        The server's training engine; each arm waits its turn in its queue.
    train_config : TrainConfig, optional
        The training of every arm; defaults to :data:`SMALL_TRAIN` at the time of each start.
    user : User, optional
        The student the arms' runs belong to (the personal user by default); each student has a runner of their own.
    """

    def __init__(self, trainer: training.Trainer, train_config: config.TrainConfig | None = None,
                 user: access.User = access.PERSONAL):
        self.trainer = trainer
        self.train_config = train_config
        self.user = user
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._key = ""
        self._current: tuple[int, int, training.TrainingJob] | None = None
        self._stopping = threading.Event()
        self._owner_token = ""
        self._dataset: Dataset | None = None

    def start(self, key: str, base: config.ModelConfig | None = None, dataset: Dataset | None = None) -> str:
        """Start the experiment ``key``; ``base`` is the active run's network, used by arms that follow it.

        Every arm trains on ``dataset`` (the active run's; the bundled MNIST when None).

        Returns
        -------
        str
            A secret for this start: :meth:`stop` with it stops this experiment and no later one.

        Raises
        ------
        TrainingBusyError
            A comparison is running; the message says which.
        EngineUnavailableError
            The training engine cannot be reached.
        """
        chosen = experiment(key)
        arms = chosen.arms(base)
        train = self.train_config or SMALL_TRAIN
        with self._lock:
            if self.running() is not None:
                raise training.TrainingBusyError(
                    f"The comparison {EXPERIMENTS[self._key].title!r} is still running: wait until it finishes."
                )
            self._dataset = dataset
            first = self.trainer.start(
                _run_name(chosen, arms[0]), arms[0].model, train, dataset=dataset, experiment=arms[0].tag,
                user=self.user,
            )
            self._stopping.clear()
            self._owner_token = secrets.token_urlsafe(16)
            self._key, self._current = key, (1, len(arms), first)
            self._thread = threading.Thread(
                target=self._train_rest, args=(first, arms, chosen, train), name=f"experiment-{key}", daemon=True
            )
            self._thread.start()
            return self._owner_token

    def running(self) -> str | None:
        """The key of the experiment in progress, or None."""
        return self._key if self._thread is not None and self._thread.is_alive() else None

    def progress(self) -> tuple[int, int, training.Progress] | None:
        """(arm number, number of arms, progress of that arm's training) while an experiment runs."""
        current = self._current
        if self.running() is None or current is None:
            return None
        number, total, job = current
        return number, total, job.progress()

    def owned_by(self, token: str) -> bool:
        """Whether an experiment runs and ``token`` is the secret its start returned."""
        return self.running() is not None and _token_matches(self._owner_token, token)

    def stop(self, token: str | None = None) -> None:
        """Stop the experiment in progress: its current run within one batch, and no further runs.

        With ``token``, only if it is the secret of the experiment in progress (a late click of an old Stop
        button must not stop a newer experiment).
        """
        if token is not None and not self.owned_by(token):
            return
        self._stopping.set()
        current = self._current
        if current is not None:
            current[2].stop()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the experiment in progress; return whether none is running any more."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.running() is None

    def _train_rest(
        self, first: training.TrainingJob, arms: Sequence[Arm], chosen: Experiment, train: config.TrainConfig
    ) -> None:
        """Wait for the first arm, then train the others one by one, each after any training in the way."""
        first.join()
        for number, arm in enumerate(arms[1:], start=2):
            try:
                job = self._start_when_free(chosen, arm, train)
            except MnistLabError:  # the store, the network or the engine refused it
                return  # the outcome shows the arm as not started; the page offers to run it again
            if job is None:
                return
            self._current = (number, len(arms), job)
            if self._stopping.is_set():  # stopped while this arm was starting
                job.stop()
            job.join()

    def _start_when_free(
        self, chosen: Experiment, arm: Arm, train: config.TrainConfig
    ) -> training.TrainingJob | None:
        """Queue ``arm``, first waiting while the trainer refuses it as busy; None once stopped."""
        while not self._stopping.is_set():
            try:
                return self.trainer.start(
                    _run_name(chosen, arm), arm.model, train, dataset=self._dataset, experiment=arm.tag, user=self.user
                )
            except training.TrainingBusyError:
                active = self.trainer.active()
                if active is not None:
                    active.join(1.0)
        return None


def _token_matches(secret: str, given: str) -> bool:
    """Whether ``given`` (from a session, so any text) is the non-empty ``secret``, in constant time."""
    # As bytes: compare_digest refuses str with non-ASCII characters.
    return bool(secret and given) and secrets.compare_digest(secret.encode(), str(given).encode())


def describe(arms: Sequence[Arm]) -> str:
    """The arms in a few words, with their networks: "perceptron against CNN (fast)"."""
    networks = {arm.model.architecture for arm in arms}
    if len(networks) == 1 and all(arm.label != arm.model.architecture for arm in arms):
        return f"{' against '.join(arm.label for arm in arms)}, both {networks.pop()}"
    return " against ".join(_arm_text(arm) for arm in arms)


def _arm_text(arm: Arm) -> str:
    """The arm's label, with its network unless the label is the network."""
    return arm.label if arm.label == arm.model.architecture else f"{arm.label} ({arm.model.architecture})"


def _run_name(chosen: Experiment, arm: Arm) -> str:
    """The run name of one arm: the experiment's title, the arm's label and its network."""
    return f"{chosen.title}: {_arm_text(arm)}"


__all__ = [
    "EXPERIMENTS",
    "SMALL_TRAIN",
    "Arm",
    "Experiment",
    "ExperimentRunner",
    "Outcome",
    "describe",
    "experiment",
    "outcome",
]
