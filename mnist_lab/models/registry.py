"""Registry entries: a named choice, the reason to pick it, and how to build it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Choice:
    """One entry of a registry (architecture, loss, optimizer or schedule).

    Parameters
    ----------
    key : str
        Stable identifier, stored in configs.
    label : str
        Short name shown in the UI.
    reason : str
        Why one would pick it (one paragraph, shown next to the control and quoted by the report).
    poor_when : str
        When it is a poor choice.
    build : callable
        Factory; imports TensorFlow lazily so that reading the registry stays cheap.
    settings : tuple of str
        The fields of the config that this choice reads beyond its own key (a custom network's filters, the
        label-smoothing loss's smoothing); the others do not change what it builds.
    """

    key: str
    label: str
    reason: str
    poor_when: str
    build: Callable[..., Any]
    settings: tuple[str, ...] = ()


def registry(*choices: Choice) -> dict[str, Choice]:
    """Return the choices keyed by ``key``, refusing duplicate keys."""
    table: dict[str, Choice] = {}
    for choice in choices:
        if choice.key in table:
            raise ValueError(f"duplicate registry key {choice.key!r}")
        table[choice.key] = choice
    return table
