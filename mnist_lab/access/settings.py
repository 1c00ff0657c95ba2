"""How the lab is shared, read from Streamlit's secrets and the environment.

- Personal (nothing configured): one user, every run is theirs.
- Shared (``[mnist_lab] mode = "shared"`` in the secrets, or ``MNIST_LAB_MODE=shared``): each browser is a student
  of its own, known by a cookie.
- Login (an ``[auth]`` section in the secrets): Streamlit's ``st.login``; a student is their login, on any device.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mnist_lab.access.limits import SECRETS_KEYS, SHARED_DEFAULTS, ClassLimits
from mnist_lab.errors import AccessError, ConfigError

PERSONAL_MODE, SHARED, LOGIN = "personal", "shared", "login"
MODES = (PERSONAL_MODE, SHARED, LOGIN)
MODE_ENV = "MNIST_LAB_MODE"
#: How MNIST Lab's own explanations of the questions are offered (see :mod:`mnist_lab.workbook.explanations`).
EXPLANATION_POLICIES = ("shown", "after_answer", "hidden")


@dataclass(frozen=True)
class AccessSettings:
    """The lab's mode and its teachers.

    Parameters
    ----------
    mode : str
        One of :data:`MODES`.
    teachers : tuple of str
        E-mail addresses or login subjects of the teachers (login mode only).
    explanations : str
        ``[mnist_lab] explanations`` of the secrets, one of :data:`EXPLANATION_POLICIES`; "" when not set.
    limits : ClassLimits
        The limits of every training where a teacher has set none (``max_epochs``, ``max_weights``,
        ``trainings_per_hour``, ``max_training_minutes`` in ``[mnist_lab]``); a shared lab without login, which
        has no teacher, gets :data:`~mnist_lab.access.limits.SHARED_DEFAULTS` for those the secrets leave out.
    """

    mode: str = PERSONAL_MODE
    teachers: tuple[str, ...] = ()
    explanations: str = ""
    limits: ClassLimits = field(default_factory=ClassLimits)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise AccessError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.explanations and self.explanations not in EXPLANATION_POLICIES:
            raise AccessError(f'explanations in [mnist_lab] must be one of {", ".join(map(repr, EXPLANATION_POLICIES))}'
                              f', got {self.explanations!r}')

    @classmethod
    def read(cls, secrets: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> AccessSettings:
        """The settings from the secrets (``st.secrets`` as a mapping) and the environment.

        Raises
        ------
        AccessError
            The mode or the teachers are written in a way this version does not understand; the message says how
            to write them.
        """
        environ = os.environ if environ is None else environ
        section = secrets.get("mnist_lab") or {}
        if not isinstance(section, Mapping):
            raise AccessError("[mnist_lab] in .streamlit/secrets.toml must be a section (a table)")
        teachers = section.get("teachers", ())
        if isinstance(teachers, str) or not all(isinstance(entry, str) for entry in teachers):
            raise AccessError('teachers in [mnist_lab] must be a list of e-mail addresses: teachers = ["a@b.org"]')
        explanations = str(section.get("explanations") or "").strip().lower()
        limits = _limits(section)
        if secrets.get("auth"):
            return cls(LOGIN, tuple(teachers), explanations, limits)
        mode = str(environ.get(MODE_ENV) or section.get("mode") or PERSONAL_MODE).strip().lower()
        if mode == LOGIN:
            raise AccessError("login mode needs an [auth] section in .streamlit/secrets.toml (see the README)")
        return cls(mode, tuple(teachers), explanations, limits.over(SHARED_DEFAULTS) if mode == SHARED else limits)


def _limits(section: Mapping[str, Any]) -> ClassLimits:
    """The limits written in the secrets' ``[mnist_lab]`` section (those not written: None)."""
    values = {}
    for key, name in SECRETS_KEYS.items():
        value = section.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise AccessError(f"{key} in [mnist_lab] must be a whole number, such as {key} = "
                              f"{getattr(SHARED_DEFAULTS, name)}; got {value!r}")
        values[name] = value
    try:
        return ClassLimits(**values)
    except ConfigError as error:
        raise AccessError(f"a limit in [mnist_lab] of the secrets is out of range: {error}") from error
