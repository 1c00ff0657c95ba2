"""A student's workbook for one run: their own answers, the explanations they revealed, and the name they hand in.

Only the run's owner writes in its workbook; a teacher reads every workbook (``RunStore`` decides, as for runs).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import sqlalchemy as sa

from mnist_lab.access.users import is_login
from mnist_lab.errors import AccessError, WorkbookError
from mnist_lab.report.questions import QUESTIONS, question
from mnist_lab.runs.schema import answers, insert_or, reveals, student_names
from mnist_lab.runs.store import RunStore
from mnist_lab.workbook.explanations import HIDDEN, may_reveal

logger = logging.getLogger(__name__)

#: The longest answer kept, in characters: about ten printed pages, far more than any question needs.
ANSWER_MAX = 20_000
#: The longest name a student gives their hand-ins.
NAME_MAX = 80


@dataclass(frozen=True)
class SavedAnswer:
    """A student's answer to one question, as stored.

    Attributes
    ----------
    question : str
        The question's id (``"b6"``).
    text : str
        The answer in Markdown, as the student wrote it.
    first_saved, saved : float
        When it was first saved and last changed (seconds since the epoch).
    """

    question: str
    text: str
    first_saved: float
    saved: float


@dataclass(frozen=True)
class Reveal:
    """The first time a student opened MNIST Lab's explanation of a question.

    Attributes
    ----------
    question : str
    revealed : float
        When (seconds since the epoch).
    after_answer : bool
        Whether the student had saved an answer to the question by then.
    """

    question: str
    revealed: float
    after_answer: bool


class Workbook:
    """The answers and revealed explanations of one run, as the store's user may see and change them.

    Parameters
    ----------
    store : RunStore
        Acting for the user; only the run's owner may write, a teacher may read.
    run_id : str

    Raises
    ------
    RunNotFoundError
        The user may not read the run, or it does not exist.
    """

    def __init__(self, store: RunStore, run_id: str):
        self.store, self.run_id = store, run_id
        with store.transaction(write=False) as db:
            store.check_access(db, run_id)

    def __repr__(self) -> str:
        return f"<Workbook of run {self.run_id} for {self.store.user.id}>"

    def answers(self) -> dict[str, SavedAnswer]:
        """The saved answers, question id to answer, in the assignment's order."""
        with self.store.transaction(write=False) as db:
            self.store.check_access(db, self.run_id)
            rows = db.execute(sa.select(answers).where(answers.c.run_id == self.run_id)).mappings().all()
        found = {row["question"]: SavedAnswer(row["question"], row["text"], row["first_saved"], row["saved"])
                 for row in rows}
        return {q.id: found[q.id] for q in QUESTIONS if q.id in found}

    def save(self, question_id: str, text: str) -> SavedAnswer | None:
        """Save the student's answer to a question; an empty answer removes the saved one.

        Parameters
        ----------
        question_id : str
            ``"a1"`` ... ``"b9"``.
        text : str
            Markdown, at most :data:`ANSWER_MAX` characters; control characters other than line breaks and tabs
            are dropped.

        Returns
        -------
        SavedAnswer or None
            None when the answer was empty.

        Raises
        ------
        WorkbookError
            An unknown question, or an answer that is too long.
        RunNotFoundError
            The run is not the user's own (a teacher reads answers but never writes them).
        """
        qid = _question_id(question_id)
        cleaned = clean_answer(text)
        now = time.time()
        with self.store.transaction() as db:
            self.store.check_access(db, self.run_id, change=True)
            which = (answers.c.run_id == self.run_id) & (answers.c.question == qid)
            if not cleaned:
                db.execute(sa.delete(answers).where(which))
                return None
            insert_or(db, answers, {"run_id": self.run_id, "question": qid, "text": cleaned, "first_saved": now,
                                    "saved": now}, keys=("run_id", "question"), update=("text", "saved"))
            row = db.execute(sa.select(answers).where(which)).mappings().one()
        return SavedAnswer(qid, row["text"], row["first_saved"], row["saved"])

    def reveals(self) -> dict[str, Reveal]:
        """The explanations revealed so far, question id to its first reveal."""
        with self.store.transaction(write=False) as db:
            self.store.check_access(db, self.run_id)
            rows = db.execute(sa.select(reveals).where(reveals.c.run_id == self.run_id)).mappings().all()
        return {row["question"]: Reveal(row["question"], row["revealed"], bool(row["after_answer"])) for row in rows}

    def reveal(self, question_id: str, *, policy: str) -> Reveal:
        """Record that the student opened MNIST Lab's explanation of a question (its first opening counts).

        Parameters
        ----------
        question_id : str
        policy : str
            The teacher's setting in force (:func:`mnist_lab.workbook.class_policy`): the library refuses a reveal
            it does not allow, whatever a page offers.

        Returns
        -------
        Reveal
            The first reveal of the question, this one or an earlier one.

        Raises
        ------
        AccessError
            The setting does not allow it: explanations are hidden, or open only after the student's own answer.
        RunNotFoundError
            The run is not the user's own.
        """
        qid = _question_id(question_id)
        with self.store.transaction() as db:
            self.store.check_access(db, self.run_id, change=True)
            answered = db.execute(sa.select(answers.c.question).where(
                answers.c.run_id == self.run_id, answers.c.question == qid)).first() is not None
            if not may_reveal(policy, answered=answered):
                raise AccessError("your teacher has hidden MNIST Lab's explanations" if policy == HIDDEN else
                                  "MNIST Lab's explanation of this question opens once you have saved your own "
                                  "answer to it")
            insert_or(db, reveals, {"run_id": self.run_id, "question": qid, "revealed": time.time(),
                                    "after_answer": int(answered)}, keys=("run_id", "question"))
            row = db.execute(sa.select(reveals).where(reveals.c.run_id == self.run_id,
                                                      reveals.c.question == qid)).mappings().one()
        logger.debug("run %s: explanation of %s revealed", self.run_id, qid)
        return Reveal(qid, row["revealed"], bool(row["after_answer"]))


def clean_answer(text: str) -> str:
    """``text`` without control characters (line breaks and tabs kept) and outer blank space.

    Raises
    ------
    WorkbookError
        ``text`` is not a string, or is longer than :data:`ANSWER_MAX` characters.
    """
    if not isinstance(text, str):
        raise WorkbookError(f"an answer must be text, got {type(text).__name__}")
    cleaned = "".join(ch for ch in text.replace("\r\n", "\n") if ch.isprintable() or ch in "\n\t").strip()
    if len(cleaned) > ANSWER_MAX:
        raise WorkbookError(f"an answer can be at most {ANSWER_MAX:,} characters; this one has {len(cleaned):,}: "
                            "shorten it and save again")
    return cleaned


def student_name(store: RunStore) -> str:
    """The name the store's user hands in under: the one they typed, else their login name, else ""."""
    return typed_name(store, store.user.id) or (store.user.name if is_login(store.user) else "")


def typed_name(store: RunStore, student: str) -> str:
    """The name ``student`` (a user id) typed for their hand-ins, "" when they typed none."""
    with store.transaction(write=False) as db:
        name = db.execute(sa.select(student_names.c.name).where(student_names.c.student == student)
                          ).scalar_one_or_none()
    return name or ""


def set_student_name(store: RunStore, name: str) -> str:
    """Keep the name the store's user hands in under; return it as stored.

    Raises
    ------
    WorkbookError
        The name is empty once control characters and outer spaces are removed.
    """
    cleaned = "".join(ch for ch in str(name) if ch.isprintable()).strip()[:NAME_MAX]
    if not cleaned:
        raise WorkbookError("type the name your teacher knows you by: it heads every hand-in")
    with store.transaction() as db:
        insert_or(db, student_names, {"student": store.user.id, "name": cleaned}, keys=("student",), update=("name",))
    return cleaned


def names_of_students(store: RunStore) -> dict[str, str]:
    """Every student's typed name, student id to name (teachers only).

    Raises
    ------
    AccessError
        The store's user is not a teacher.
    """
    if not store.user.teacher:
        raise AccessError("only a teacher sees the names of the whole class")
    with store.transaction(write=False) as db:
        return {row["student"]: row["name"] for row in db.execute(sa.select(student_names)).mappings()}


def _question_id(question_id: str) -> str:
    try:
        return question(question_id).id
    except ValueError as error:
        raise WorkbookError(str(error)) from error
