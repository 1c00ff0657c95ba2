"""Admission: whether a training may start (its size, the class's limits), and the run it creates when it may.

The checks happen once per training: :func:`new_job` for a training made alone (the command line, tests),
``Trainer.start_many`` for the trainings a page queues, which holds its admission lock around the checks and the
creation so that two tabs pressing Start at once cannot both pass.
"""

from __future__ import annotations

import functools
import time

from mnist_lab import access, environment
from mnist_lab.data import Dataset, shared_mnist
from mnist_lab.models import architectures, config
from mnist_lab.runs import store as run_store
from mnist_lab.training.server.job import TrainingJob
from mnist_lab.training.split import reasons_for


def new_job(
    store: run_store.RunStore,
    name: str,
    model_config: config.ModelConfig,
    train_config: config.TrainConfig,
    dataset: Dataset | None = None,
    *,
    experiment: str = "",
    evaluate_test: bool = False,
    defaults: access.ClassLimits | None = None,
) -> TrainingJob:
    """Create a run of ``store.user`` and return its job, not yet started (``job.run()`` here, or ``Trainer.queue``).

    The run trains on ``dataset`` (the bundled MNIST when None) and records its name and checksum; the network
    gets one output unit per class of the dataset, whatever ``model_config.num_classes`` says. The class limits
    are the teacher's (``RunStore.class_limits``), with ``defaults`` (the lab's settings) for those not set; the
    job gets their time limit.

    Raises
    ------
    ConfigError
        The network is too big to train here (see ``architectures.check_size``).
    LimitExceededError
        The training breaks a limit of the class.
    StoreError, RunNameError
        The run cannot be created.
    """
    dataset = dataset or shared_mnist()
    model_config = for_dataset(model_config, dataset)
    architectures.check_size(model_config)
    limits = check_limits(store, [(model_config, train_config)], defaults)
    return create_job(store, name, model_config, train_config, dataset, limits=limits, experiment=experiment,
                      evaluate_test=evaluate_test)


def for_dataset(model_config: config.ModelConfig, dataset: Dataset) -> config.ModelConfig:
    """``model_config`` with one output unit per class of ``dataset``."""
    return config.replace(model_config, num_classes=dataset.n_classes)


def create_job(
    store: run_store.RunStore,
    name: str,
    model_config: config.ModelConfig,
    train_config: config.TrainConfig,
    dataset: Dataset,
    *,
    limits: access.ClassLimits,
    experiment: str = "",
    evaluate_test: bool = False,
) -> TrainingJob:
    """Create the run of a training already admitted (its size and limits checked) and return its job, with the time
    limit of ``limits``.

    Raises
    ------
    StoreError, RunNameError
        The run cannot be created.
    """
    run_id = store.create_run(
        name, config.to_dict(model_config), config.to_dict(train_config), reasons_for(model_config, train_config),
        experiment=experiment, dataset=dataset.name, dataset_sha256=dataset.sha256, environment=environment.describe(),
    )
    return TrainingJob(run_id, name, model_config, train_config, store, dataset, evaluate_test=evaluate_test,
                       experiment=experiment, max_minutes=limits.max_training_minutes)


def check_limits(
    store: run_store.RunStore,
    trainings: list[tuple[config.ModelConfig, config.TrainConfig]],
    defaults: access.ClassLimits | None = None,
) -> access.ClassLimits:
    """Refuse trainings of ``store.user`` that break the class limits, before any is created.

    The limits are the teacher's (``RunStore.class_limits``), with ``defaults`` for each one the teacher has not
    set (a shared lab without login has no teacher: its limits come from the settings).

    Returns
    -------
    ClassLimits
        The limits that hold for these trainings (their time limit applies to teachers too).

    Raises
    ------
    LimitExceededError
        A limit would be broken; the message names it.
    """
    limits = store.class_limits().over(defaults or access.ClassLimits())
    if store.user.teacher or limits == access.ClassLimits(max_training_minutes=limits.max_training_minutes):
        return limits
    sized = [(train.epochs, parameter_count(model) if limits.max_parameters else 0) for model, train in trainings]
    access.check_training(limits, store.user, sized, store.started_since(time.time() - 3600))
    return limits


@functools.lru_cache(maxsize=64)
def parameter_count(model_config: config.ModelConfig) -> int:
    """The number of weights of the network ``model_config`` describes (built with Keras when not computable)."""
    estimate = architectures.estimate_params(model_config)
    return estimate if estimate is not None else architectures.describe(model_config)[1]
