"""What went wrong with a run, read from its own curves and settings, and what to try: a run that ended near chance
(:func:`diagnose`), and one that learned its training images but not new ones (:func:`generalisation`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mnist_lab.models import optim
from mnist_lab.runs import store as run_store
from mnist_lab.text import plural

#: A run counts as near chance while its accuracy has covered less than this share of the way from chance to 100%.
NEAR_CHANCE_SHARE = 0.15
#: A training loss that changed by less than this share from the first to the last epoch did not move.
FLAT_LOSS_CHANGE = 0.05
#: Below these learning rates SGD learns too slowly on MNIST (the catalogue's SGD entries quote 0.02-0.1).
SGD_SLOW_RATE = 0.01
#: Above this rate the Adam family is unstable (the catalogue's Adam entry: "0.01 and up"; the batch-normalised fast
#: preset peaks at 0.008).
ADAPTIVE_FAST_RATE = 0.008
SGD_OPTIMIZERS = ("sgd", "sgd_momentum")
#: Training accuracy this far (in accuracy, 0-1) above validation accuracy in the first epoch is a collapse on new
#: images, not the usual small gap: the default preset on 3,000 images trained to 80% and validated at 31%.
COLLAPSE_GAP = 0.2
#: Validation loss this share above its lowest value, with training still ahead, is named overfitting.
OVERFIT_RISE = 0.1
#: ... and training accuracy at least this far above validation accuracy at the end.
OVERFIT_GAP = 0.01
#: Training accuracy this far above validation accuracy at the end is named overfitting whatever the validation
#: loss did: a 3.2M-weight network on 900 images reached 100% against 93% with its validation loss 6% above its low.
OVERFIT_WIDE_GAP = 0.05
#: The architectures whose layers are all batch-normalised (a custom network is when its batch_norm is on).
BATCH_NORMALISED = ("fast", "deep")
#: A batch-normalised network trained for fewer steps than this in all may do far worse on new images: its running
#: averages have not settled. The fast preset's test accuracy by steps (benchmarks/batchnorm_subset.py, 2026-12-06):
#: 22 steps 25.9%, 36 steps 78.7%, 44 steps 91.4%, 50 steps 96.0%, 66 steps 97.2%, 71 steps 97.6%.
MIN_NORMALISED_STEPS = 60
SOFTMAX_LOSSES = ("mse", "categorical_hinge")


@dataclass(frozen=True)
class Diagnosis:
    """Why a run learned nothing, for its Train page panel.

    Attributes
    ----------
    summary : str
        One sentence: the run's accuracy against chance.
    findings : tuple of str
        What its curves show, with their figures.
    tries : tuple of str
        The settings to change, each named as in the Train form, with the value to try.
    """

    summary: str
    findings: tuple[str, ...]
    tries: tuple[str, ...]


def chance_accuracy(num_classes: int) -> float:
    """The accuracy of guessing: one over the number of classes."""
    return 1.0 / max(num_classes, 1)


def uniform_loss(loss: str, num_classes: int) -> float:
    """The loss of a network that gives every class the same probability, for the loss called ``loss``.

    Cross-entropy (with or without smoothing) gives ln K, the mean squared error on one-hot targets (K-1)/K²,
    the categorical hinge 1.
    """
    if loss == "mse":
        return (num_classes - 1) / num_classes**2
    if loss == "categorical_hinge":
        return 1.0
    return math.log(num_classes)


def diagnose(run: run_store.Run) -> Diagnosis | None:
    """Say what went wrong with ``run`` when its last epoch ended near chance; None when it learned or has no epoch.

    A diverged run is left to its own message, which already names the learning rate.

    Parameters
    ----------
    run : Run
        A stored run with its history (``RunStore.get``).
    """
    if run.status == run_store.DIVERGED or not run.history:
        return None
    num_classes = int(run.model_config.get("num_classes", 10))
    split, accuracy = _last_accuracy(run.history[-1])
    chance = chance_accuracy(num_classes)
    if accuracy is None or accuracy >= chance + NEAR_CHANCE_SHARE * (1 - chance):
        return None
    summary = (
        f"Its {split} accuracy, {accuracy:.1%}, is close to the {chance:.1%} of guessing among {num_classes} "
        "classes: the network did not learn to tell them apart."
    )
    losses = [row["loss"] for row in run.history if _finite(row.get("loss"))]
    return Diagnosis(summary, _findings(run, losses, num_classes), _tries(run, losses))


def _last_accuracy(row: dict[str, Any]) -> tuple[str, float | None]:
    """The last epoch's validation accuracy, or its training accuracy when there was no validation."""
    for split, key in (("validation", "val_accuracy"), ("training", "accuracy")):
        if _finite(row.get(key)):
            return split, float(row[key])
    return "validation", None


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _trend(losses: list[float]) -> str:
    """"flat", "rising" or "falling": how the training loss went from the first epoch to the last."""
    first, last = losses[0], losses[-1]
    if abs(last - first) <= FLAT_LOSS_CHANGE * abs(first):
        return "flat"
    return "rising" if last > first else "falling"


def _findings(run: run_store.Run, losses: list[float], num_classes: int) -> tuple[str, ...]:
    """What the loss curve shows, with its figures."""
    if not losses:
        return ()
    loss_name = run.train_config.get("loss", "")
    first, last, epochs = losses[0], losses[-1], len(losses)
    moved = {
        "flat": f"The training loss barely moved: {first:.4g} in the first epoch, {last:.4g} in the last",
        "rising": f"The training loss rose from {first:.4g} in the first epoch to {last:.4g} in the last",
        "falling": f"The training loss fell from {first:.4g} to {last:.4g}, but too little in {epochs} "
                   f"epoch{'s' if epochs > 1 else ''} to reach useful accuracy",
    }[_trend(losses) if epochs > 1 else "flat"]
    findings = [f"{moved}."]
    uniform = uniform_loss(loss_name, num_classes)
    if abs(last - uniform) <= FLAT_LOSS_CHANGE * uniform:
        findings.append(
            f"{last:.4g} is about the {uniform:.4g} of a network that gives all {num_classes} classes the same "
            "probability: its outputs hardly depend on the image."
        )
    return tuple(findings)


def _tries(run: run_store.Run, losses: list[float]) -> tuple[str, ...]:
    """The settings to change, most likely cause first."""
    train, model = run.train_config, run.model_config
    rate, trend = train.get("learning_rate", 0.0), _trend(losses or [0.0])
    tries = []
    verdict = rate_verdict(train)
    if verdict:
        tries.append(verdict)
    elif trend == "rising":
        tries.append(f"Learning rate: the loss rose, so steps of {rate:g} overshoot; try {rate / 10:g}.")
    if train.get("loss") in SOFTMAX_LOSSES:
        tries.append(f"Loss: {optim.LOSSES['sparse_categorical_crossentropy'].label} instead of "
                     f"{optim.LOSSES[train['loss']].label}. After a softmax, this loss gives a confidently wrong "
                     "network almost no gradient, so it learns slowly or not at all.")
    if not model.get("scale_inputs", True):
        tries.append("Scale inputs to 0-1: on. Raw 0-255 pixels make the first layer's gradients up to 255 times "
                     "larger, so no single learning rate suits every layer.")
    if trend == "falling" or not tries:
        tries.append("Epochs: more. The loss was still falling when the training ended." if trend == "falling"
                     else "Architecture: a preset, with its recommended settings, to check that the data and "
                          "the page work; then change one setting at a time.")
    return tuple(tries)


def rate_verdict(train_config: dict[str, Any]) -> str | None:
    """Say when the learning rate is outside the range its optimizer learns MNIST with, and what to try; else None.

    Parameters
    ----------
    train_config : dict
        A run's training settings (``optimizer``, ``learning_rate``).
    """
    rate, optimizer = train_config.get("learning_rate", 0.0), train_config.get("optimizer", "")
    if optimizer in SGD_OPTIMIZERS and rate < SGD_SLOW_RATE:
        return f"Learning rate: {rate:g} is too small for SGD, whose steps are not rescaled; try 0.05."
    if optimizer not in SGD_OPTIMIZERS and rate > ADAPTIVE_FAST_RATE:
        return (f"Learning rate: {rate:g} is large for an adaptive optimizer and can stall or wreck its units; "
                "try 0.001.")
    return None


def generalisation(run: run_store.Run) -> Diagnosis | None:
    """Say when ``run`` learned its training images but not new ones: a collapse on the validation images from the
    first epoch, or overfitting (validation loss rising again); None otherwise.

    Parameters
    ----------
    run : Run
        A stored run with its history (``RunStore.get``).
    """
    rows = [row for row in run.history if _finite(row.get("accuracy")) and _finite(row.get("val_accuracy"))]
    if not rows or run.status == run_store.DIVERGED:
        return None
    first, last = rows[0], rows[-1]
    if first["accuracy"] - first["val_accuracy"] >= COLLAPSE_GAP:
        return _collapse(run, first, last)
    return _overfitting(run)


def _collapse(run: run_store.Run, first: dict[str, Any], last: dict[str, Any]) -> Diagnosis:
    """Training far above validation from the first epoch on, with the likely cause for this network."""
    summary = (f"It learned its training images but not new ones: {first['accuracy']:.1%} training against "
               f"{first['val_accuracy']:.1%} validation accuracy in the first epoch")
    summary += (f", {last['accuracy']:.1%} against {last['val_accuracy']:.1%} in epoch {last['epoch']}."
                if last is not first else ".")
    steps = _steps_per_epoch(run)
    findings, tries = [], []
    if _normalised(run.model_config):
        few = f"With {plural(steps, 'step')} an epoch" if steps else "After few steps"
        findings.append("Likely cause: batch normalisation. In training each batch is normalised with its own "
                        "statistics; validation and test use the running averages the network keeps, which move a "
                        f"little after every step. {few} they are still far from the statistics of the trained "
                        "layers, so the network sees different numbers on new images.")
        tries.append(f"Training images: more (this run had {plural(steps, 'step')} an epoch), or the whole training "
                     "split." if steps else "Epochs: more, so that the running averages catch up.")
        tries.append("Batch size: smaller, for more steps an epoch; or Epochs: more.")
        tries.append("Architecture: keras-classic or lenet5, which have no batch normalisation, for a small subset.")
    else:
        findings.append("The network fits the batches it trains on but its predictions do not carry over: with "
                        "few training images and a high learning rate it can memorise them.")
        tries.append("Learning rate: smaller, or Training images: more.")
    return Diagnosis(summary, tuple(findings), tuple(tries))


def _overfitting(run: run_store.Run) -> Diagnosis | None:
    """Validation loss that rose well above its lowest value while training stayed ahead, or training accuracy far
    above validation accuracy at the end; None otherwise."""
    losses = [(row["epoch"], row["val_loss"]) for row in run.history if _finite(row.get("val_loss"))]
    if len(losses) < 3:
        return None
    best_epoch, best = min(losses, key=lambda pair: pair[1])
    last_epoch, last = losses[-1]
    final = run.history[-1]
    gap = final.get("accuracy", 0.0) - final.get("val_accuracy", 1.0)
    rising = best_epoch != last_epoch and last >= best * (1 + OVERFIT_RISE) and gap >= OVERFIT_GAP
    if not rising and not gap >= OVERFIT_WIDE_GAP:
        return None
    accuracies = f"training accuracy reached {final['accuracy']:.2%} against {final['val_accuracy']:.2%} on the " \
                 "validation images"
    if rising:
        summary = (f"Overfitting: the validation loss was lowest after epoch {best_epoch} ({best:.4f}) and rose to "
                   f"{last:.4f} by epoch {last_epoch}, while {accuracies}.")
    elif best_epoch != last_epoch:
        summary = (f"Overfitting: {accuracies}, {gap * 100:.2f} points apart; the validation loss was lowest after "
                   f"epoch {best_epoch} ({best:.4f}) and was {last:.4f} by epoch {last_epoch}.")
    else:
        summary = (f"Overfitting: {accuracies}, {gap * 100:.2f} points apart, although the validation loss was "
                   f"still falling in epoch {last_epoch}.")
    findings = ("The network fits its training images far more closely than new ones: it has learned features of "
                "those particular images that do not carry over.",)
    stop_at = (f"Epochs: {best_epoch}, where the validation loss was lowest.",) if best_epoch != last_epoch else ()
    tries = (*stop_at, "Dropout or augmentation: on (the deep preset has both), or a smaller network.",
             "Training images: more, if this run used a subset.")
    return Diagnosis(summary, findings, tries)


def short_training(model_config: dict[str, Any], train_config: dict[str, Any], available: int) -> str | None:
    """A warning before the start: a batch-normalised network set to train for too few steps to settle; else None.

    Parameters
    ----------
    model_config, train_config : dict
        The settings as stored with a run (``config.to_dict``).
    available : int
        Images in the dataset's training split (what ``train_limit`` 0 means).

    Examples
    --------
    >>> print(short_training({"architecture": "fast"}, {"train_limit": 3000, "validation_fraction": 0.1,
    ...                      "batch_size": 128, "epochs": 1}, 60_000))  # doctest: +ELLIPSIS
    This network normalises its batches, and this training makes 22 steps in all (22 steps an epoch): ...
    """
    if not _normalised(model_config):
        return None
    per_epoch = _batches_per_epoch(train_config, min(train_config.get("train_limit") or available, available))
    steps = per_epoch * train_config.get("epochs", 1)
    if steps >= MIN_NORMALISED_STEPS:
        return None
    return (f"This network normalises its batches, and this training makes {plural(steps, 'step')} in all "
            f"({plural(per_epoch, 'step')} an epoch): too few for batch normalisation's running averages to settle, "
            "so it may do far worse on new images than on its training images. More epochs or more training images "
            f"(at least {MIN_NORMALISED_STEPS} steps in all), a smaller batch size, or a network without batch "
            "normalisation (keras-classic, lenet5) avoid it.")


def _normalised(model_config: dict[str, Any]) -> bool:
    """Whether the network normalises its batches (a preset built so, or a custom network with batch_norm on)."""
    architecture = model_config.get("architecture")
    return architecture in BATCH_NORMALISED or (architecture == "custom" and bool(model_config.get("batch_norm")))


def _steps_per_epoch(run: run_store.Run) -> int | None:
    """Batches per epoch of a run trained on a subset, from its stored settings; None for the whole split."""
    images = run.train_config.get("train_limit") or 0
    return _batches_per_epoch(run.train_config, images) if images else None


def _batches_per_epoch(train_config: dict[str, Any], images: int) -> int:
    """Batches an epoch of ``images`` training images makes, once the validation share is held out."""
    trained = images - round(images * train_config.get("validation_fraction", 0.1))
    return max(1, math.ceil(trained / max(1, train_config.get("batch_size", 128))))


__all__ = ["Diagnosis", "chance_accuracy", "diagnose", "generalisation", "short_training", "uniform_loss"]
