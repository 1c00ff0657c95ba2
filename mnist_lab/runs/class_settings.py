"""The settings a teacher makes for the whole class, kept in the run store's ``class_settings`` table.

:class:`ClassSettings` is a part of :class:`mnist_lab.runs.store.RunStore`, as :class:`mnist_lab.runs.files.RunFiles`
is: a store reads and sets the class's limits through it.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from mnist_lab.access.limits import ClassLimits
from mnist_lab.access.users import User
from mnist_lab.errors import AccessError
from mnist_lab.runs.schema import class_settings, insert_or

_LIMITS_KEY = "limits"


class ClassSettings:
    """The class settings of :class:`mnist_lab.runs.store.RunStore`: the limits the teacher set for the class.

    Everyone reads them; only a teacher sets them.
    """

    user: User

    def class_limits(self) -> ClassLimits:
        """The limits the teacher set for the class (none set: no limits).

        Returns
        -------
        ClassLimits
            The saved limits; every limit None when the teacher never set any.

        Examples
        --------
        >>> import tempfile
        >>> from mnist_lab.runs.store import RunStore
        >>> RunStore(tempfile.mkdtemp()).class_limits()
        ClassLimits(max_epochs=None, max_parameters=None, trainings_per_hour=None, max_training_minutes=None)
        """
        with self._connect(write=False) as db:
            value = db.execute(sa.select(class_settings.c.value).where(class_settings.c.key == _LIMITS_KEY)
                               ).scalar_one_or_none()
        return ClassLimits() if value is None else ClassLimits.from_dict(json.loads(value))

    def set_class_limits(self, limits: ClassLimits) -> None:
        """Set the class's limits.

        Parameters
        ----------
        limits : ClassLimits
            The new limits; they replace every earlier one.

        Raises
        ------
        AccessError
            The user is not a teacher.

        Examples
        --------
        >>> import tempfile
        >>> from mnist_lab.access.limits import ClassLimits
        >>> from mnist_lab.access.users import User
        >>> from mnist_lab.runs.store import RunStore
        >>> store = RunStore(tempfile.mkdtemp())
        >>> store.as_user(User("teacher", "Ms Lee", teacher=True)).set_class_limits(ClassLimits(max_epochs=20))
        >>> store.class_limits().max_epochs
        20
        >>> store.set_class_limits(ClassLimits())
        Traceback (most recent call last):
        ...
        mnist_lab.errors.AccessError: only a teacher sets the limits of the class
        """
        if not self.user.teacher:
            raise AccessError("only a teacher sets the limits of the class")
        with self._connect() as db:
            insert_or(db, class_settings, {"key": _LIMITS_KEY, "value": json.dumps(limits.to_dict())}, keys=("key",),
                      update=("value",))
