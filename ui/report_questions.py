"""The Report page's questions: each with the run's evidence, the student's answer, the checklist and MNIST Lab's
explanation."""

from __future__ import annotations

from typing import NamedTuple

import streamlit as st

from mnist_lab import report, workbook
from mnist_lab.data import Dataset
from mnist_lab.models import config
from ui import vega
from ui import workbook as workbook_ui
from ui.experiment_panel import experiment_panel


class Workbench(NamedTuple):
    """What every question of the page draws from: the run, its workbook, the teacher's setting, the data."""

    book: workbook.Workbook | None
    saved: dict[str, workbook.SavedAnswer]
    reveals: dict[str, workbook.Reveal]
    policy: str
    read_only: bool
    figures: tuple[workbook.Figure, ...]
    evidence: report.RunEvidence | None
    base: config.ModelConfig | None
    data: Dataset
    version: tuple
    #: The last outcome of each one-click comparison, and the home they run in.
    outcomes: dict
    home: str


def show_questions(answers: list[report.Answer], context: Workbench) -> None:
    """Each question under the heading of its part of the assignment."""
    part = ""
    for answer in answers:
        if answer.question.id[0] != part:
            part = answer.question.id[0]
            st.header(report.PARTS[part])
        show_question(answer, context)


def show_question(answer: report.Answer, context: Workbench) -> None:
    """The question, the run's evidence, the student's answer, the checklist, then MNIST Lab's explanation."""
    q = answer.question
    with st.container(border=True):
        st.subheader(f"{q.number}. {q.title}", anchor=q.id)
        st.markdown(f"*Question:* {q.text}")
        st.markdown("**Evidence from your run and its data**" if context.evidence else "**Evidence from the data**")
        for number, item in enumerate(answer.evidence):
            show_evidence(item, (*context.version, q.id, number))
        if answer.todo:
            st.info(answer.todo)
        if answer.experiment:
            experiment_panel(answer.experiment, context.outcomes[answer.experiment], context.base, context.data,
                             context.home)
        saved = context.saved.get(q.id)
        workbook_ui.answer_editor(context.book, q, saved, read_only=context.read_only, figures=context.figures)
        if context.book is not None:
            workbook_ui.save_error(context.book.run_id, q.id)
        workbook_ui.checklist_panel(_checklist_of(q.id, context.version, context.evidence, context.data))
        workbook_ui.explanation_panel(context.book, answer, policy=context.policy, answered=saved is not None,
                                      revealed=context.reveals.get(q.id), read_only=context.read_only)


def show_evidence(item: report.Evidence, key: tuple) -> None:
    """One piece of a question's evidence; ``key`` names it in the caches of its pictures and charts."""
    if item.caption:
        st.caption(item.caption)
    if isinstance(item, report.Figures):
        for column, (label, value) in zip(st.columns(len(item.values)), item.values.items()):
            column.metric(label, value)
    elif isinstance(item, report.Table):
        st.dataframe(item.frame, hide_index=True, height="content")
    elif isinstance(item, report.Images):
        st.image(_png_files(key, item.images), caption=list(item.captions), alt=list(item.alternatives))
    elif isinstance(item, report.Chart) and item.panels:
        panels = vega.cached(("report panels", *key), lambda: list(item.panels))
        for column, panel in zip(st.columns(len(panels)), panels):  # stacked on a phone
            vega.show(panel, column, width="stretch")
        _described(item)
    elif isinstance(item, report.Chart):
        # Each chart at its own size unless it may stretch: stretched, a natural-size chart (square plot, legend
        # below) kept its axes and legend outside the stretched width and was cut off at 1,400 px.
        vega.show(vega.cached(("report chart", *key), lambda: item.chart), width="stretch" if item.stretch else "content")
        _described(item)
    else:
        st.code(item.code, language="python", wrap_lines=True)


def _described(item: report.Chart) -> None:
    """The chart's summary in words and its figures as a table, under the chart."""
    if item.summary:
        vega.describe(item.summary, item.table)


@st.cache_data(max_entries=64, show_spinner=False)
def _png_files(key: tuple, _images: tuple) -> list[bytes]:
    """The evidence's pictures as PNG files, encoded once per report version for every session."""
    return [report.png_file(image) for image in _images]


@st.cache_resource(max_entries=64, show_spinner=False)
def _checklist_of(question_id: str, version: tuple, _evidence: report.RunEvidence | None, _data: Dataset) -> list[str]:
    """The question's checklist for one version of the run, built once for every session."""
    return workbook.checklist(question_id, _evidence, _data)


@st.cache_resource(max_entries=16, show_spinner=False)
def figures_of(version: tuple, _evidence: report.RunEvidence, _data: Dataset) -> tuple[workbook.Figure, ...]:
    """The run's figures the answers are checked against, gathered once per run version."""
    return workbook.run_figures(_evidence, _data)
