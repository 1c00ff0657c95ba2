"""The student's workbook: their own answers beside their run's evidence, and the hand-in a teacher can verify.

- :class:`Workbook`: a student's answers to one run and the explanations they revealed, kept in the run store;
- :func:`class_policy`, :func:`may_reveal`: when MNIST Lab's own explanations may be opened (the teacher's setting);
- :func:`checklist`, :func:`check_numbers`: what a good answer covers, and the numbers of an answer that match no
  figure of the run;
- :func:`build_handin`: the hand-in every export writes, signed with a receipt (:mod:`mnist_lab.workbook.receipts`);
- :func:`verify_handin`: a hand-in file checked against what this server issued;
- :mod:`mnist_lab.workbook.classbook`: the teacher's view of the class's hand-ins.
"""

from mnist_lab.workbook.answers import (
    ANSWER_MAX,
    Reveal,
    SavedAnswer,
    Workbook,
    clean_answer,
    names_of_students,
    set_student_name,
    student_name,
)
from mnist_lab.workbook.checklist import checklist
from mnist_lab.workbook.explanations import (
    AFTER_ANSWER,
    DESCRIPTIONS,
    HIDDEN,
    SHOWN,
    class_policy,
    default_policy,
    may_reveal,
    set_class_policy,
)
from mnist_lab.workbook.figures import Figure, FigureNote, check_numbers, run_figures
from mnist_lab.workbook.handin import KINDS, build_handin, handin_name, headline_figures
from mnist_lab.workbook.receipts import ALTERED, FOREIGN, GENUINE, UNSIGNED, Verdict
from mnist_lab.workbook.verify import read_handin, verify_handin

__all__ = [
    "AFTER_ANSWER",
    "ALTERED",
    "ANSWER_MAX",
    "DESCRIPTIONS",
    "FOREIGN",
    "GENUINE",
    "HIDDEN",
    "KINDS",
    "SHOWN",
    "UNSIGNED",
    "Figure",
    "FigureNote",
    "Reveal",
    "SavedAnswer",
    "Verdict",
    "Workbook",
    "build_handin",
    "check_numbers",
    "checklist",
    "class_policy",
    "clean_answer",
    "default_policy",
    "handin_name",
    "headline_figures",
    "may_reveal",
    "names_of_students",
    "read_handin",
    "run_figures",
    "set_class_policy",
    "set_student_name",
    "student_name",
    "verify_handin",
]
