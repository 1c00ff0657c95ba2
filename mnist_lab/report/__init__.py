"""The assignment report: every question answered with evidence from the student's run, and its exports.

:func:`build_report` gathers, for each numbered question (:data:`QUESTIONS`), a short answer in the
app's words and the evidence behind it (figures, tables, images, charts, code) from the data, the run,
its stored evaluation and the one-click comparison runs. A student's :class:`HandIn` puts their own answers
first and MNIST Lab's explanations only where they revealed them; :func:`to_markdown`, :func:`to_html`,
:func:`mnist_lab.report.pdf.to_pdf` and :func:`build_notebook` write it as downloadable documents. :func:`reproducibility_card` and :func:`card_markdown` describe what a
run needs to be reproduced; :func:`build_notebook` writes the run as a Jupyter notebook in plain Keras.
"""

from mnist_lab.report.answers import NO_RUN, build_report
from mnist_lab.report.answers_a import SHOWN_PREDICTIONS
from mnist_lab.report.answers_b import SAMPLE_INDEX
from mnist_lab.report.card import ReproducibilityCard, reproducibility_card
from mnist_lab.report.card import to_markdown as card_markdown
from mnist_lab.report.evidence import (
    Answer,
    Chart,
    Code,
    DataFacts,
    Evidence,
    Figures,
    Images,
    Report,
    RunEvidence,
    Table,
    data_facts,
)
from mnist_lab.report.exporters import png_file, student_markdown, to_html, to_markdown, to_markdown_zip
from mnist_lab.report.handin import APP_HEADING, Explanation, HandIn, Receipt, reading_copy
from mnist_lab.report.notebook import build_notebook, report_of_run, set_parameters, to_ipynb
from mnist_lab.report.questions import PARTS, QUESTIONS, Question, question
from mnist_lab.text import markdown_text

__all__ = [
    "APP_HEADING",
    "NO_RUN",
    "PARTS",
    "QUESTIONS",
    "SAMPLE_INDEX",
    "SHOWN_PREDICTIONS",
    "Answer",
    "Chart",
    "Code",
    "DataFacts",
    "Evidence",
    "Explanation",
    "Figures",
    "HandIn",
    "Images",
    "Question",
    "Receipt",
    "Report",
    "ReproducibilityCard",
    "RunEvidence",
    "Table",
    "build_notebook",
    "build_report",
    "card_markdown",
    "data_facts",
    "markdown_text",
    "png_file",
    "question",
    "reading_copy",
    "report_of_run",
    "reproducibility_card",
    "set_parameters",
    "student_markdown",
    "to_html",
    "to_ipynb",
    "to_markdown",
    "to_markdown_zip",
]
