"""What a hand-in holds: the student's own answers first, the run's evidence, and MNIST Lab's explanations only
where the student revealed them, under a title page that names the student, the date and the run.

The exporters (HTML, PDF, Markdown, notebook) all write one :class:`HandIn`; :mod:`mnist_lab.workbook` builds it
from the store, so that nothing the app wrote can appear under the student's name.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from mnist_lab.report.evidence import Answer, Report

#: The heading of the student's own answer in every export.
STUDENT_HEADING = "Answer by {name}"
#: What a question the student left empty says, in every export.
NO_ANSWER = "No answer written: {name} left this question empty."
#: The heading of MNIST Lab's explanation, where the student revealed it.
APP_HEADING = "MNIST Lab's explanation"


@dataclass(frozen=True)
class Explanation:
    """MNIST Lab's explanation of one question as the student revealed it.

    Attributes
    ----------
    revealed : str
        When, ``YYYY-MM-DD HH:MM UTC``.
    after_answer : bool
        Whether the student had saved their own answer by then.
    """

    revealed: str
    after_answer: bool

    @property
    def note(self) -> str:
        """One sentence: when it was revealed, before or after the student's answer."""
        if not self.revealed:
            return "Shown in full: this is a reading copy of MNIST Lab's explanations, not a student's hand-in."
        order = "after" if self.after_answer else "before"
        return f"Revealed by the student on {self.revealed}, {order} they saved their own answer."


@dataclass(frozen=True)
class Receipt:
    """The signed receipt printed on a hand-in.

    Attributes
    ----------
    code : str
        The short code printed on the title page (``MNL-1A2B-3C4D-5E6F``).
    document : str
        The JSON text carried in the file's metadata (the signed fields and their signature).
    """

    code: str
    document: str


@dataclass(frozen=True)
class HandIn:
    """One student's hand-in of one run.

    Attributes
    ----------
    student : str
        The name the student hands in under.
    date : str
        The day it was made, ``YYYY-MM-DD``.
    run_label : str
        The run it describes, in words (name, id, status).
    card : str
        The run's reproducibility card in Markdown.
    report : Report
        The evidence of every question (and MNIST Lab's explanation in each answer's ``text``).
    answers : dict
        Question id to the student's own answer (Markdown); a question missing here was left empty.
    explanations : dict
        Question id to :class:`Explanation`, for the questions whose explanation the student revealed; only those
        explanations are printed.
    figures : dict
        Headline figures of the run for the title page, label to formatted value (``"Test accuracy": "99.19%"``).
    receipt : Receipt or None
        The signed receipt; None for a preview that is not handed in.
    """

    student: str
    date: str
    run_label: str
    card: str
    report: Report
    answers: dict[str, str] = field(default_factory=dict)
    explanations: dict[str, Explanation] = field(default_factory=dict)
    figures: dict[str, str] = field(default_factory=dict)
    receipt: Receipt | None = None

    @property
    def title(self) -> str:
        """The document's title: whose hand-in it is, or the report's own title for a reading copy."""
        return f"MNIST assignment by {self.student}" if self.student else self.report.title

    @property
    def is_reading_copy(self) -> bool:
        """Whether this is MNIST Lab's explanations in full rather than a student's hand-in."""
        return not self.student

    def answer_of(self, answer: Answer) -> str:
        """The student's answer to ``answer``'s question, "" when left empty."""
        return self.answers.get(answer.question.id, "")

    def explanation_of(self, answer: Answer) -> Explanation | None:
        """How the student revealed MNIST Lab's explanation of ``answer``'s question; None when they did not."""
        return self.explanations.get(answer.question.id)

    @property
    def answered(self) -> int:
        """How many questions the student answered."""
        return sum(1 for answer in self.report.answers if self.answer_of(answer))

    def no_answer(self) -> str:
        """What an empty question says."""
        return NO_ANSWER.format(name=self.student)

    def student_heading(self) -> str:
        """The heading above each of the student's answers."""
        return STUDENT_HEADING.format(name=self.student)


def reading_copy(report: Report, *, card: str = "") -> HandIn:
    """MNIST Lab's explanations of every question with their evidence, under no student's name.

    For a reader of the app's own text (a teacher, a test); a student's hand-in comes from
    :func:`mnist_lab.workbook.build_handin`.
    """
    shown = Explanation(revealed="", after_answer=False)
    return HandIn(student="", date=today(), run_label="", card=card, report=report,
                  explanations={answer.question.id: shown for answer in report.answers})


def today() -> str:
    """Today's date in UTC, as a hand-in prints it."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
