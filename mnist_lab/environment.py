"""The software and the machine a run is trained with, read without importing TensorFlow."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from pathlib import Path
from typing import Any

import mnist_lab

#: Distributions that provide TensorFlow, in the order they are looked for (the CPU-only build on Linux).
TENSORFLOW_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tensorflow-intel")
#: Library name to its distribution name(s), in the order a card lists them (Python comes first).
PACKAGES = {
    "TensorFlow": TENSORFLOW_DISTRIBUTIONS,
    "Keras": ("keras",),
    "NumPy": ("numpy",),
    "scikit-learn": ("scikit-learn",),
}
NOT_INSTALLED = "not installed"
_CPUINFO = Path("/proc/cpuinfo")


def describe() -> dict[str, Any]:
    """This process's software and machine, as stored with each new run.

    Returns
    -------
    dict
        ``versions`` (see :func:`software_versions`), ``cpu`` (model name) and ``cores`` (logical cores).
    """
    return {"versions": software_versions(), "cpu": cpu_model(), "cores": os.cpu_count() or 1}


def software_versions() -> dict[str, str]:
    """Python's version and the installed TensorFlow, Keras, NumPy, scikit-learn and MNIST Lab, without importing them.

    Returns
    -------
    dict
        Name to version; a package that is not installed shows as :data:`NOT_INSTALLED`.
    """
    versions = {"Python": platform.python_version()}
    versions.update({name: _installed_version(distributions) for name, distributions in PACKAGES.items()})
    versions["MNIST Lab"] = mnist_lab.__version__
    return versions


def _installed_version(distributions: tuple[str, ...]) -> str:
    """The version of the first of ``distributions`` that is installed."""
    for distribution in distributions:
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return NOT_INSTALLED


def cpu_model() -> str:
    """The CPU's model name (from ``/proc/cpuinfo`` on Linux), else what the platform module knows."""
    try:
        lines = _CPUINFO.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    named = (line.split(":", 1)[1].strip() for line in lines if line.startswith("model name") and ":" in line)
    return next(named, "") or platform.processor() or platform.machine() or "unknown CPU"
