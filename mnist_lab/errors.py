"""Every error MnistLab raises on purpose, under one base class.

A page catches :class:`MnistLabError` and shows its message, which says what is wrong and what to do. Each
error also derives from the built-in exception that fits it (``ValueError`` for bad input, ``RuntimeError``
for a state of the machine, ``KeyError`` for a missing run), so code written against those keeps working.
"""

from __future__ import annotations


class MnistLabError(Exception):
    """Base class of every MNIST Lab error; its message is meant for the user."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__doc__ or ""


class ConfigError(MnistLabError, ValueError):
    """A configuration value is out of range or unknown."""


class IdxFormatError(MnistLabError, ValueError):
    """The bytes are not a well-formed IDX file."""


class ChecksumError(MnistLabError, ValueError):
    """The file decoded fine but its content is not the expected one."""


class DatasetError(MnistLabError, ValueError):
    """A dataset cannot be used: a missing or inconsistent file, or an unknown dataset name."""


class ImageInputError(MnistLabError, ValueError):
    """The input cannot be read as an image of a digit."""


class BlankImageError(ImageInputError):
    """The image is readable but holds no ink."""


class MetricsInputError(MnistLabError, ValueError):
    """Labels, scores or a confusion matrix have shapes or values the metrics cannot use."""


class StoreError(MnistLabError, RuntimeError):
    """The run store cannot be read or written (read-only or full disk, damaged database)."""


class RunNotFoundError(MnistLabError, KeyError):
    """No run has this id (or it is not the caller's)."""

    def __str__(self) -> str:
        return f"no run with id {self.args[0]!r}"


class RunNameError(MnistLabError, ValueError):
    """A run name is empty or unusable."""


class ModelUnavailableError(MnistLabError, RuntimeError):
    """The run has no usable model file (never saved, deleted or damaged) or its dataset is missing."""


class TrainingBusyError(MnistLabError, RuntimeError):
    """This student (a user of the lab) already has a training waiting or running."""


class EngineUnavailableError(MnistLabError, RuntimeError):
    """The training engine cannot be reached or started: no scheduler at the configured address, or no workers."""


class AccessError(MnistLabError, PermissionError):
    """The caller may not do this (not a teacher), or the lab's access settings are unusable."""


class LimitExceededError(MnistLabError, ValueError):
    """A training would break a limit the teacher set for the class."""


class WorkbookError(MnistLabError, ValueError):
    """A student's answer, name or hand-in cannot be used: too long, an unknown question, an unreadable file."""


class DatabaseSettingError(StoreError):
    """The configured database cannot be used: a malformed URL, a missing driver, a refused login or no server."""


class ArchiveError(MnistLabError, ValueError):
    """A class archive cannot be imported: damaged, forged, too large, of an unknown format, or not the caller's."""


class DatabaseUnreachableError(StoreError):
    """The run store's database server cannot be reached right now: it is down, refuses connections or does not
    answer. Nothing is wrong with the setting; the same operation works again once the server is back."""
