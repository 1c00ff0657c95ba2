"""The Report page's workbook widgets: the student's answer, the figures check, the checklist, MNIST Lab's
explanation behind the teacher's setting, the name a student hands in under, and the hand-in downloads."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable

import streamlit as st

from mnist_lab import report, workbook
from mnist_lab.errors import MnistLabError
from mnist_lab.report.pdf import to_pdf
from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text
from mnist_lab.workbook.answers import NAME_MAX

logger = logging.getLogger(__name__)

#: How tall an answer's text area is, in pixels: room for a paragraph or two without scrolling.
ANSWER_HEIGHT = 180


def answer_key(run_id: str, question_id: str) -> str:
    """The session-state key of the text area of one question of one run."""
    return f"answer_{run_id}_{question_id}"


def name_panel(store: run_store.RunStore) -> str:
    """Ask once for the name the student hands in under (a login's name is used as it is); return the name."""
    name = workbook.student_name(store)
    if name:
        st.caption(f"Handing in as **{markdown_text(name)}**.")
        return name
    with st.form("handin_name", border=True):
        typed = st.text_input("Your name, as your teacher knows you", max_chars=NAME_MAX,
                              help="It heads every hand-in you download. It is kept with your runs, so you type it "
                                   "once.")
        if st.form_submit_button("Save my name", icon=":material/badge:"):
            try:
                workbook.set_student_name(store, typed)
            except MnistLabError as error:
                st.error(markdown_text(str(error)))
            else:
                st.rerun()
    return ""


def progress_line(saved: dict[str, workbook.SavedAnswer]) -> None:
    """How many questions are answered, and which are missing."""
    missing = [q.number for q in report.QUESTIONS if q.id not in saved]
    total = len(report.QUESTIONS)
    text = f"**{total - len(missing)} of {total}** questions answered"
    st.markdown(text + (f"; still to answer: {', '.join(missing)}." if missing else ": every question."))


def answer_editor(book: workbook.Workbook | None, question: report.Question, saved: workbook.SavedAnswer | None, *,
                  read_only: bool, figures: tuple[workbook.Figure, ...]) -> None:
    """The student's own answer to ``question``: a Markdown text area saved as they leave it, and a Save button."""
    st.markdown(f"**Your answer to {question.number}** (Markdown: `**bold**`, `- lists`, `` `code` ``)")
    if book is None:
        st.caption("Your answer goes here once you have a run: answers are kept with the run they describe.")
        return
    key = answer_key(book.run_id, question.id)
    text = st.text_area(f"Your answer to {question.number}", value=saved.text if saved else "", key=key,
                        height=ANSWER_HEIGHT, label_visibility="collapsed", disabled=read_only,
                        max_chars=workbook.ANSWER_MAX, on_change=_save, args=(book, question.id, key),
                        placeholder="Write your answer here, in your own words, with figures from your run.")
    if read_only:
        st.caption("Read-only: this is a student's answer." if saved else "The student has not answered this question.")
        return
    button, status = st.columns([1, 3], vertical_alignment="center")
    button.button("Save answer", key=f"save_{key}", icon=":material/save:", on_click=_save, args=(book, question.id, key))
    status.caption(_saved_caption(saved))
    for note in workbook.check_numbers(text, figures) if figures else []:
        st.caption(f":material/help: Check this figure: {markdown_text(note.text)}")


def _save(book: workbook.Workbook, question_id: str, key: str) -> None:
    """Save the text area's answer (the text area's on_change and the Save button)."""
    try:
        book.save(question_id, st.session_state.get(key, ""))
    except MnistLabError as error:
        st.session_state[f"{key}_error"] = str(error)
        logger.info("answer to %s of run %s not saved: %s", question_id, book.run_id, error)
    else:
        st.session_state.pop(f"{key}_error", None)


def _saved_caption(saved: workbook.SavedAnswer | None) -> str:
    if saved is None:
        return "Not saved yet: it is saved when you leave the box or press Save."
    when = datetime.datetime.fromtimestamp(saved.saved, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"Saved {when}."


def save_error(run_id: str, question_id: str) -> None:
    """Show why the last save of this answer failed, if it did."""
    error = st.session_state.get(f"{answer_key(run_id, question_id)}_error")
    if error:
        st.error(f"Your answer was not saved: {markdown_text(error)}")


def _reveal(book: workbook.Workbook, question_id: str, policy: str) -> None:
    """Open MNIST Lab's explanation (the button's callback); the library refuses what the setting does not allow."""
    try:
        book.reveal(question_id, policy=policy)
    except MnistLabError as error:
        logger.info("explanation of %s for run %s refused: %s", question_id, book.run_id, error)


def checklist_panel(items: list[str]) -> None:
    """What a good answer covers, from the student's run."""
    st.markdown("**What a good answer covers**\n\n" + "\n".join(f"- {item}" for item in items))


def explanation_panel(book: workbook.Workbook | None, answer: report.Answer, *, policy: str, answered: bool,
                      revealed: workbook.Reveal | None, read_only: bool) -> None:
    """MNIST Lab's explanation of the question, as the teacher's setting allows, each reveal recorded."""
    if read_only:
        note = ("the student opened it " + ("after" if revealed.after_answer else "before") + " answering"
                if revealed else "the student has not opened it")
        with st.expander(f"MNIST Lab's explanation ({note})"):
            st.markdown(answer.text)
        return
    if revealed is not None:
        with st.container(border=True):
            st.markdown("**MNIST Lab's explanation**")
            st.caption("Opened " + ("after" if revealed.after_answer else "before") + " you saved your answer; your "
                       "hand-in says so.")
            st.markdown(answer.text)
        return
    if policy == workbook.HIDDEN:
        st.caption("Your teacher has hidden MNIST Lab's explanations: answer from the evidence above.")
    elif not workbook.may_reveal(policy, answered=answered):
        st.caption("MNIST Lab's explanation of this question opens once you have saved your own answer.")
    elif book is None:  # no run, so no hand-in to record it in: the data-only explanation, as a reading aid
        with st.expander("MNIST Lab's explanation, from the data alone"):
            st.markdown(answer.text)
    else:
        st.button("Show MNIST Lab's explanation", key=f"reveal_{book.run_id}_{answer.question.id}",
                  icon=":material/lightbulb:", on_click=_reveal, args=(book, answer.question.id, policy),
                  help="Your hand-in records when you opened it, and whether that was before or after your answer.")


def downloads(stem: str, make: Callable[[str], report.HandIn], notebook: Callable[[report.HandIn], str]) -> None:
    """The hand-in's downloads; each one, when clicked, is signed with a new receipt the server keeps.

    ``make`` builds the signed hand-in of an export kind (``workbook.KINDS``); ``notebook`` writes one as ``.ipynb``.
    """
    # One wrapping row, each button as wide as its label: in four equal columns the first read "ready to pr…" at
    # 1,400 px (seen in the keyboard journey's screenshots).
    row = st.container(horizontal=True)
    row.download_button("Hand-in (HTML, ready to print)", data=lambda: report.to_html(make("html")),
                        file_name=f"{stem}.html", mime="text/html", on_click="ignore", icon=":material/download:",
                        key="report_html", help="One self-contained file: your answers, the evidence, the card.")
    row.download_button("Hand-in (PDF)", data=lambda: to_pdf(make("pdf")), file_name=f"{stem}.pdf",
                        mime="application/pdf", on_click="ignore", icon=":material/picture_as_pdf:", key="report_pdf")
    row.download_button("Hand-in (Markdown, .zip)", data=lambda: report.to_markdown_zip(make("markdown"), name=stem),
                        file_name=f"{stem}.zip", mime="application/zip", on_click="ignore",
                        icon=":material/download:", key="report_markdown",
                        help="The Markdown file with its charts and digits as PNG images next to it.")
    row.download_button("Hand-in (notebook)", data=lambda: notebook(make("notebook")),
                        file_name=f"{stem}.ipynb", mime="application/x-ipynb+json", on_click="ignore",
                        icon=":material/code:", key="report_notebook",
                        help="Trains this run again in plain Keras (runs in Colab), your answers next to the code.")
