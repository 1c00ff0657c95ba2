"""A text catalogue: the losses, optimizers and learning-rate schedules the student can pick, each with its reason.

Beside the three registries are the builders their entries name and the lookups that compile a model with the chosen
entries (:func:`compile_model`). The custom Keras classes the builders use live in
:mod:`mnist_lab.models.custom_objects`; which settings of a config its choices read, in
:mod:`mnist_lab.models.used_settings`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mnist_lab.models import custom_objects, measured
from mnist_lab.models.registry import Choice, registry

if TYPE_CHECKING:
    import keras

    from mnist_lab.models.config import TrainConfig


def _sparse_crossentropy(config: TrainConfig):
    """Return Keras' sparse categorical cross-entropy."""
    import keras

    return keras.losses.SparseCategoricalCrossentropy(name="sparse_categorical_crossentropy")


def _label_smoothing_crossentropy(config: TrainConfig):
    """Return cross-entropy on one-hot targets smoothed by ``config.label_smoothing``."""
    return custom_objects.keras_objects()["LabelSmoothingCrossentropy"](label_smoothing=config.label_smoothing)


def _one_hot_mse(config: TrainConfig):
    """Return mean squared error between softmax and one-hot targets."""
    return custom_objects.keras_objects()["OneHotMeanSquaredError"]()


def _one_hot_hinge(config: TrainConfig):
    """Return the categorical hinge loss on one-hot targets."""
    return custom_objects.keras_objects()["OneHotCategoricalHinge"]()


def _one_epoch(optimizer: str, learning_rate: float, loss: str = "sparse_categorical_crossentropy") -> str:
    """The measured test accuracy of one epoch of 'fast' with these choices, as the texts quote it."""
    return measured.percent(measured.choice_accuracy(optimizer, learning_rate, loss))


LOSSES: dict[str, Choice] = registry(
    Choice(
        key="sparse_categorical_crossentropy",
        label="Cross-entropy (sparse labels)",
        reason=(
            "The standard loss for picking one class out of ten. It is the negative log of the probability the "
            "softmax gives to the true digit, so a confident wrong answer costs a lot and a confident right one "
            "almost nothing; combined with softmax its gradient is simply (predicted probabilities - one-hot "
            "target), which trains fast and stably. 'Sparse' means it takes the label as an integer 0-9, exactly "
            "how MNIST stores it, so no one-hot encoding is needed. Start here."
        ),
        poor_when=(
            "Labels are noisy or the model becomes over-confident; then label smoothing can generalise slightly "
            "better. It also cannot be used for multi-label problems (it assumes exactly one correct class)."
        ),
        build=_sparse_crossentropy,
    ),
    Choice(
        key="label_smoothing_crossentropy",
        label="Cross-entropy with label smoothing",
        reason=(
            "Cross-entropy against a softened target: with smoothing 0.1 the true digit gets 0.91 and each other "
            "digit 0.01 instead of 1 and 0. The network is no longer pushed to make its logits infinitely large, "
            "which acts as a regulariser and keeps predicted probabilities better calibrated. It is most useful "
            "for long runs of large networks that would otherwise become over-confident; the integer labels are "
            "one-hot encoded inside the loss. One epoch of 'fast' with Adam at 0.001 reached "
            f"{_one_epoch('adam', 0.001, 'label_smoothing_crossentropy')} with it and {_one_epoch('adam', 0.001)} "
            "with plain cross-entropy in the app's measurements."
        ),
        poor_when=(
            "You want the softmax outputs to be sharp confidence scores: they top out below 1 by design. Its loss "
            "values never reach 0, so they cannot be compared with plain cross-entropy's."
        ),
        build=_label_smoothing_crossentropy,
        settings=("label_smoothing",),
    ),
    Choice(
        key="mse",
        label="Mean squared error (on one-hot)",
        reason=(
            "Squared distance between the ten softmax outputs and the one-hot target. It is the loss from "
            "regression and from early neural-network textbooks, and it is included to compare. When the softmax "
            "is confidently wrong its gradient becomes tiny (the softmax saturates) instead of large, so with "
            "plain SGD it learns more slowly: in the app's measurements one epoch of 'fast' with SGD at 0.05 "
            f"reached {_one_epoch('sgd', 0.05, 'mse')} against {_one_epoch('sgd', 0.05)} with cross-entropy. Adam "
            f"rescales small gradients: at 0.001, {_one_epoch('adam', 0.001, 'mse')} against "
            f"{_one_epoch('adam', 0.001)}."
        ),
        poor_when=(
            "Classification in general, and plain SGD in particular: its gradient fades exactly where the model is "
            "confidently wrong, and its outputs are less well calibrated as probabilities."
        ),
        build=_one_hot_mse,
    ),
    Choice(
        key="categorical_hinge",
        label="Categorical hinge (SVM-style margin)",
        reason=(
            "The multi-class SVM loss: it is zero once the true digit's output beats the best wrong digit's output "
            "by a margin of 1, and grows linearly otherwise. Examples that are already classified with margin stop "
            "contributing, so training concentrates on the hard digits. It shows how a margin-based classifier "
            "differs from a probabilistic one."
        ),
        poor_when=(
            "Used after a softmax, as here: softmax outputs lie between 0 and 1, so a margin of 1 can only be met "
            "with a fully confident prediction. One epoch of 'fast' with SGD at 0.05 reached "
            f"{_one_epoch('sgd', 0.05, 'categorical_hinge')} with it and {_one_epoch('sgd', 0.05)} with "
            "cross-entropy in the app's measurements, and its outputs are not meant to be read as probabilities."
        ),
        build=_one_hot_hinge,
    ),
)


def _sgd(learning_rate):
    """Return plain stochastic gradient descent."""
    import keras

    return keras.optimizers.SGD(learning_rate=learning_rate)


def _sgd_momentum(learning_rate):
    """Return SGD with Nesterov momentum 0.9."""
    import keras

    return keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9, nesterov=True)


def _adam(learning_rate):
    """Return Adam."""
    import keras

    return keras.optimizers.Adam(learning_rate=learning_rate)


def _adamw(learning_rate):
    """Return AdamW with Keras' default decoupled weight decay (0.004)."""
    import keras

    return keras.optimizers.AdamW(learning_rate=learning_rate)


def _rmsprop(learning_rate):
    """Return RMSprop."""
    import keras

    return keras.optimizers.RMSprop(learning_rate=learning_rate)


def _adagrad(learning_rate):
    """Return Adagrad."""
    import keras

    return keras.optimizers.Adagrad(learning_rate=learning_rate)


def _nadam(learning_rate):
    """Return Nadam."""
    import keras

    return keras.optimizers.Nadam(learning_rate=learning_rate)


OPTIMIZERS: dict[str, Choice] = registry(
    Choice(
        key="sgd",
        label="SGD",
        reason=(
            "Plain stochastic gradient descent: every weight moves by learning rate x gradient of the current "
            "mini-batch. It is the algorithm the others improve on, so it is the baseline to understand. It needs "
            f"a much larger learning rate than Adam: one epoch of 'fast' reached {_one_epoch('sgd', 0.05)} at rate "
            f"0.05 but {_one_epoch('sgd', 0.001)} at 0.001, where Adam reached {_one_epoch('adam', 0.001)}, in the "
            "app's measurements."
        ),
        poor_when=(
            "You want good results quickly or do not want to tune the learning rate: at 0.001, Adam's usual rate, "
            "it learns slowly, too large a rate diverges, and without momentum it needs more epochs than the others."
        ),
        build=_sgd,
    ),
    Choice(
        key="sgd_momentum",
        label="SGD + Nesterov momentum",
        reason=(
            "SGD that keeps a running velocity (momentum 0.9) so steps build up along directions the gradients "
            "agree on and noisy components cancel out; the Nesterov variant evaluates the gradient at the "
            "look-ahead point, which damps overshooting. With a learning-rate schedule (cosine or one-cycle) it is "
            "the classic recipe for the best final accuracy on image classifiers. Start with a peak rate between "
            "0.02 and 0.1."
        ),
        poor_when=(
            "The learning rate is not tuned or no schedule is used: it is more sensitive to the rate than Adam, and "
            "0.001, Adam's usual rate, is too small for it."
        ),
        build=_sgd_momentum,
    ),
    Choice(
        key="adam",
        label="Adam",
        reason=(
            "Momentum plus a per-weight step size scaled by the running size of that weight's gradients, so every "
            "layer learns at a sensible speed without tuning, which makes it the safest default. Keras' default "
            "learning rate for it, 0.001, is the one the Keras MNIST example uses; one epoch of 'fast' at 0.001 "
            f"reached {_one_epoch('adam', 0.001)} in the app's measurements."
        ),
        poor_when=(
            "You are after the last few hundredths of a percent on a long run: well-tuned SGD with momentum and a "
            "schedule, or AdamW, sometimes generalise slightly better. Large learning rates make it unstable, "
            "above all in networks without batch normalisation."
        ),
        build=_adam,
    ),
    Choice(
        key="adamw",
        label="AdamW",
        reason=(
            "Adam with decoupled weight decay: every step also shrinks all weights a little (Keras' default decay "
            "0.004 x learning rate), independently of the gradient scaling. This is a cleaner form of L2 "
            "regularisation than adding a penalty to the loss, and it helps on longer runs where the network "
            "starts to overfit."
        ),
        poor_when=(
            "Training is only one or two epochs: the decay has no time to matter and it behaves like Adam. On "
            "small models that underfit, extra regularisation does not help."
        ),
        build=_adamw,
    ),
    Choice(
        key="rmsprop",
        label="RMSprop",
        reason=(
            "Divides each weight's step by a running average of its squared gradient, so weights with large, "
            "noisy gradients take smaller steps. It is Adam without the momentum term and was the standard "
            "adaptive optimizer before Adam; Keras' default learning rate for it is 0.001."
        ),
        poor_when=(
            "You need a smooth training curve: without momentum its steps are noisier than Adam's, and it offers "
            "nothing Adam lacks."
        ),
        build=_rmsprop,
    ),
    Choice(
        key="adagrad",
        label="Adagrad",
        reason=(
            "Scales each weight's step by the total of all its past squared gradients, so rarely-updated weights "
            "keep larger steps. It was designed for sparse features (for example word counts) and is useful here "
            "to see how a step size that only ever shrinks behaves."
        ),
        poor_when=(
            "Dense inputs like images and longer training: the accumulated squares keep growing, so the effective "
            "learning rate decays towards zero and training stalls. It needs a larger rate than Adam: one epoch "
            f"of 'fast' reached {_one_epoch('adagrad', 0.001)} at 0.001 and {_one_epoch('adagrad', 0.05)} at 0.05 "
            "in the app's measurements."
        ),
        build=_adagrad,
    ),
    Choice(
        key="nadam",
        label="Nadam",
        reason=(
            "Adam with Nesterov momentum: the momentum step is taken from the look-ahead point, which can "
            "converge a little faster than Adam in the first epochs at the same learning rate. Pick it to compare "
            f"with Adam: one epoch of 'fast' at 0.001 reached {_one_epoch('nadam', 0.001)}, Adam "
            f"{_one_epoch('adam', 0.001)}, in the app's measurements."
        ),
        poor_when=(
            "You expect a clear gain over Adam: the two differ only in where the momentum step is taken, and it "
            "inherits Adam's sensitivity to large learning rates."
        ),
        build=_nadam,
    ),
)


def _constant(learning_rate: float, total_steps: int):
    """Return the fixed learning rate."""
    return learning_rate


def _cosine(learning_rate: float, total_steps: int):
    """Return a cosine decay from ``learning_rate`` to 0 over ``total_steps``."""
    import keras

    return keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=max(1, total_steps))


def _one_cycle(learning_rate: float, total_steps: int):
    """Return the one-cycle schedule peaking at ``learning_rate``."""
    return custom_objects.keras_objects()["OneCycle"](learning_rate, max(1, total_steps))


SCHEDULES: dict[str, Choice] = registry(
    Choice(
        key="constant",
        label="Constant",
        reason=(
            "The learning rate stays the same for the whole run. Simple and easy to reason about, and with Adam "
            "at 0.001 it is what the Keras MNIST example does; a good choice while you compare other settings."
        ),
        poor_when=(
            "You want the best accuracy from a fixed number of epochs: without lowering the rate at the end, the "
            "weights keep jittering around the minimum instead of settling into it."
        ),
        build=_constant,
    ),
    Choice(
        key="cosine",
        label="Cosine decay",
        reason=(
            "Starts at the chosen learning rate and lowers it along half a cosine wave to zero at the last step of "
            "the last epoch. Large steps early explore quickly, small steps at the end settle the weights, which "
            "often gains a little accuracy over a constant rate at no cost."
        ),
        poor_when=(
            "You may want to stop early or continue training: the rate depends on the planned number of epochs, so "
            "a stopped run never got its low-rate phase, and extra epochs run at a rate of 0."
        ),
        build=_cosine,
    ),
    Choice(
        key="one_cycle",
        label="One-cycle (warm-up then anneal)",
        reason=(
            "Rises linearly from 1/25 of the peak rate to the peak over the first quarter of training, then "
            "follows a cosine down to 1/1000 of the peak. The warm-up lets a network with batch norm use a much "
            "larger peak rate than a constant schedule tolerates, and the long anneal settles the weights: a "
            "standard recipe for high accuracy in very few epochs (Smith's 'super-convergence'). The 'fast' "
            f"preset uses it with Adam at 0.008 and reached {measured.percent(measured.accuracy('fast'))} in "
            f"{measured.epochs_phrase('fast')} in the app's measurements."
        ),
        poor_when=(
            "The run is stopped early (the low-rate phase comes only at the end) or the number of epochs will be "
            "changed afterwards. With a peak rate that is too high for the network (no batch norm) the warm-up "
            "phase diverges."
        ),
        build=_one_cycle,
    ),
)


def make_loss(train_config: TrainConfig):
    """Build the loss chosen in ``train_config``.

    Parameters
    ----------
    train_config : TrainConfig
        Uses ``loss`` and ``label_smoothing``.

    Returns
    -------
    keras.losses.Loss
        A loss that takes integer labels 0-9 and softmax outputs.
    """
    return LOSSES[train_config.loss].build(train_config)


def make_optimizer(train_config: TrainConfig, steps_per_epoch: int):
    """Build the optimizer chosen in ``train_config`` with its learning-rate schedule.

    Parameters
    ----------
    train_config : TrainConfig
        Uses ``optimizer``, ``learning_rate``, ``schedule`` and ``epochs``.
    steps_per_epoch : int
        Mini-batches per epoch; the schedule spans ``epochs * steps_per_epoch`` steps.

    Returns
    -------
    keras.optimizers.Optimizer
    """
    total_steps = max(1, train_config.epochs * int(steps_per_epoch))
    learning_rate = SCHEDULES[train_config.schedule].build(train_config.learning_rate, total_steps)
    return OPTIMIZERS[train_config.optimizer].build(learning_rate)


def compile_model(model: keras.Model, train_config: TrainConfig, steps_per_epoch: int) -> keras.Model:
    """Compile ``model`` with the loss, optimizer and schedule of ``train_config`` and an accuracy metric.

    Parameters
    ----------
    model : keras.Model
        An uncompiled model with 10 softmax outputs.
    train_config : TrainConfig
        The training choices.
    steps_per_epoch : int
        Mini-batches per epoch, used by the learning-rate schedule.

    Returns
    -------
    keras.Model
        The same model, compiled.
    """
    import keras

    model.compile(
        optimizer=make_optimizer(train_config, steps_per_epoch),
        loss=make_loss(train_config),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model


__all__ = ["LOSSES", "OPTIMIZERS", "SCHEDULES", "compile_model", "make_loss", "make_optimizer"]
