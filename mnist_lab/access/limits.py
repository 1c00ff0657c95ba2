"""The limits a teacher sets for the class, checked before a student's training is queued."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from mnist_lab.access.users import User
from mnist_lab.errors import LimitExceededError
from mnist_lab.models import config
from mnist_lab.text import plural


def _limit(label: str, high: int) -> Any:
    """An optional whole-number limit (None: no limit) with its form label and largest value."""
    return field(default=None, metadata={"label": label, "limit": config.Limit(low=1, high=high, step=1)})


@dataclass(frozen=True)
class ClassLimits:
    """Limits for every student of the class; None means no limit. Teachers are never limited.

    Parameters
    ----------
    max_epochs : int, optional
        The longest training allowed, in epochs.
    max_parameters : int, optional
        The largest network allowed, in weights.
    trainings_per_hour : int, optional
        How many trainings a student may start in any hour (a sweep counts each of its runs).
    max_training_minutes : int, optional
        How long one training may train; it then stops after the batch in progress and keeps its model.
    """

    max_epochs: int | None = _limit("Longest training (epochs)", int(config.limit_of(config.TrainConfig, "epochs").high))
    max_parameters: int | None = _limit("Largest network (weights)", 20_000_000)
    trainings_per_hour: int | None = _limit("Trainings per student per hour", 1000)
    max_training_minutes: int | None = _limit("Longest training (minutes)", 24 * 60)

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if value is not None:
                item.metadata["limit"].check(item.name, value)

    def to_dict(self) -> dict[str, int | None]:
        """The limits as JSON-ready values."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ClassLimits:
        """Limits from :meth:`to_dict`'s output; unknown keys (from a newer version) are ignored."""
        names = {item.name for item in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in names})

    def over(self, defaults: ClassLimits) -> ClassLimits:
        """These limits, with ``defaults``' value for each limit not set here."""
        return ClassLimits(**{item.name: getattr(self, item.name) if getattr(self, item.name) is not None
                              else getattr(defaults, item.name) for item in dataclasses.fields(self)})

    @property
    def max_training_seconds(self) -> float | None:
        """:attr:`max_training_minutes` in seconds (None: no time limit)."""
        return None if self.max_training_minutes is None else 60.0 * self.max_training_minutes


def describe(limits: ClassLimits) -> str:
    """The limits in one sentence for a student ("" when there are none).

    Examples
    --------
    >>> describe(ClassLimits(max_epochs=20, max_training_minutes=15))
    'This class allows at most 20 epochs per training; each training stops after 15 minutes and keeps its model.'
    """
    parts = []
    if limits.max_epochs is not None:
        parts.append(f"at most {plural(limits.max_epochs, 'epoch')} per training")
    if limits.max_parameters is not None:
        parts.append(f"networks of at most {limits.max_parameters:,} weights")
    if limits.trainings_per_hour is not None:
        parts.append(f"{plural(limits.trainings_per_hour, 'training')} per student per hour")
    allowed = f"This class allows {', '.join(parts[:-1])}{' and ' if len(parts) > 1 else ''}{parts[-1]}" if parts else ""
    if limits.max_training_minutes is None:
        return f"{allowed}." if allowed else ""
    stop = f"each training stops after {plural(limits.max_training_minutes, 'minute')} and keeps its model."
    return f"{allowed}; {stop}" if allowed else stop[0].upper() + stop[1:]


#: The limits of a shared lab without login, where no teacher sets any, for each one the secrets leave out: a
#: class of 20 on one worker then waits at most about 15 minutes per student ahead in the queue.
SHARED_DEFAULTS = ClassLimits(max_epochs=50, max_parameters=2_000_000, trainings_per_hour=6, max_training_minutes=15)
#: ``[mnist_lab]`` keys of the secrets -> the limit each sets.
SECRETS_KEYS = {"max_epochs": "max_epochs", "max_weights": "max_parameters",
                "trainings_per_hour": "trainings_per_hour", "max_training_minutes": "max_training_minutes"}


#: ``(field name, form label, Limit)`` of each limit, for the Class page's form.
LIMIT_FIELDS = tuple((item.name, item.metadata["label"], item.metadata["limit"]) for item in dataclasses.fields(ClassLimits))


def check_training(
    limits: ClassLimits,
    user: User,
    trainings: list[tuple[int, int]],
    started_last_hour: int,
) -> None:
    """Refuse trainings that break the class limits, before anything is queued.

    Parameters
    ----------
    limits : ClassLimits
        The class's limits.
    user : User
        Who starts them; teachers are not limited.
    trainings : list of (epochs, parameters)
        The trainings to start (several for a sweep).
    started_last_hour : int
        How many trainings ``user`` started in the last hour.

    Raises
    ------
    LimitExceededError
        A limit would be broken; the message names it, the value asked for and what to change.
    """
    if user.teacher:
        return
    for epochs, parameters in trainings:
        if limits.max_epochs is not None and epochs > limits.max_epochs:
            raise LimitExceededError(
                f"This class allows at most {plural(limits.max_epochs, 'epoch')} per training; this one asks for "
                f"{epochs}. "
                "Lower the number of epochs."
            )
        if limits.max_parameters is not None and parameters > limits.max_parameters:
            raise LimitExceededError(
                f"This class allows networks of at most {limits.max_parameters:,} weights; this one has "
                f"{parameters:,}. Choose a smaller architecture, fewer filters or fewer dense units."
            )
    if limits.trainings_per_hour is not None and started_last_hour + len(trainings) > limits.trainings_per_hour:
        left = max(0, limits.trainings_per_hour - started_last_hour)
        raise LimitExceededError(
            f"This class allows {limits.trainings_per_hour} trainings per student per hour; you started "
            f"{started_last_hour} in the last hour, so {left} more can start now"
            + (f" and this asks for {len(trainings)}." if len(trainings) > 1 else ".")
            + " Try again later."
        )
