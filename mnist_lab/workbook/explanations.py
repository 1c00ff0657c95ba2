"""When a student may open MNIST Lab's own explanation of a question: the teacher's setting.

- ``shown``: at any time (a student alone with the app; the default of the personal mode);
- ``after_answer``: only once the student has saved their own answer to that question (the default of a shared or
  login class);
- ``hidden``: never.

The setting a teacher saves on the Class page wins; a class without a teacher (shared mode, no login) sets it
in the secrets (``[mnist_lab] explanations = "after_answer"``); otherwise the mode's default applies.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from mnist_lab.access.settings import EXPLANATION_POLICIES, PERSONAL_MODE, AccessSettings
from mnist_lab.errors import AccessError, WorkbookError
from mnist_lab.runs.schema import class_settings, insert_or
from mnist_lab.runs.store import RunStore

SHOWN, AFTER_ANSWER, HIDDEN = EXPLANATION_POLICIES
#: What each setting means, for the Class page's choice and the workbook's note.
DESCRIPTIONS = {
    SHOWN: "Shown: a student may open MNIST Lab's explanation of any question at any time.",
    AFTER_ANSWER: "After their answer: a student opens MNIST Lab's explanation of a question only once they have "
                  "saved their own answer to it.",
    HIDDEN: "Hidden: students never see MNIST Lab's explanations; they answer from the evidence alone.",
}
_KEY = "explanations"


def default_policy(mode: str) -> str:
    """The setting of a lab nobody chose one for: shown when personal, after the answer in a class."""
    return SHOWN if mode == PERSONAL_MODE else AFTER_ANSWER


def class_policy(store: RunStore, settings: AccessSettings) -> str:
    """The setting in force: the teacher's saved one, else the secrets', else the mode's default.

    Parameters
    ----------
    store : RunStore
    settings : AccessSettings
        The lab's settings from the secrets.

    Returns
    -------
    str
        One of :data:`SHOWN`, :data:`AFTER_ANSWER`, :data:`HIDDEN`.
    """
    with store.transaction(write=False) as db:
        value = db.execute(sa.select(class_settings.c.value).where(class_settings.c.key == _KEY)).scalar_one_or_none()
    saved = json.loads(value) if value is not None else ""
    return saved if saved in EXPLANATION_POLICIES else settings.explanations or default_policy(settings.mode)


def set_class_policy(store: RunStore, policy: str) -> None:
    """Save the teacher's setting for the whole class.

    Raises
    ------
    AccessError
        The store's user is not a teacher.
    WorkbookError
        ``policy`` is not one of the settings.
    """
    if not store.user.teacher:
        raise AccessError("only a teacher decides when the app's explanations are shown")
    if policy not in EXPLANATION_POLICIES:
        raise WorkbookError(f"the explanations setting must be one of {', '.join(EXPLANATION_POLICIES)}, "
                            f"got {policy!r}")
    with store.transaction() as db:
        insert_or(db, class_settings, {"key": _KEY, "value": json.dumps(policy)}, keys=("key",), update=("value",))


def may_reveal(policy: str, *, answered: bool) -> bool:
    """Whether a student may open the explanation of a question under ``policy``.

    Parameters
    ----------
    policy : str
    answered : bool
        Whether the student has saved their own answer to the question.

    Examples
    --------
    >>> may_reveal("after_answer", answered=False), may_reveal("after_answer", answered=True)
    (False, True)
    >>> may_reveal("hidden", answered=True)
    False
    """
    return policy == SHOWN or (policy == AFTER_ANSWER and answered)
