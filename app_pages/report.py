"""Report page: the student's workbook. Each question with the run's evidence, the student's own answer, what a good
answer covers and, as the teacher allows, MNIST Lab's explanation; the hand-in downloads."""

import streamlit as st

from mnist_lab import report, workbook
from mnist_lab.data import Dataset
from mnist_lab.errors import MnistLabError
from mnist_lab.models import config
from mnist_lab.runs import choice
from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text
from mnist_lab.training import experiments
from ui import identity, report_links, report_questions, resources, sidebar
from ui import workbook as workbook_ui

TAB, ALL_QUESTIONS = "report_tab", "All questions"  # one tab per question, and one with them all
store = resources.store_or_stop()
home = str(store.home)


@st.cache_data(show_spinner=False)
def data_facts(name: str, sha256: str) -> report.DataFacts:
    return report.data_facts(resources.dataset(name))


def run_evidence(run: run_store.Run | None) -> tuple[report.RunEvidence | None, str]:
    if run is None:
        return None, report.NO_RUN
    unready = run_store.not_ready(run, when_done="its answers appear here")
    if unready is not None:
        return None, unready
    name = f"**{markdown_text(run.name)}**"
    try:
        with st.spinner(f"Loading the model of {name} and evaluating it on the test images for the report (the first "
                        "time only; the results are stored with the run)...", show_time=True):
            model = resources.run_model(run)
            ev = resources.evaluation_of(run)
            scores = resources.test_scores_of(run)
    except MnistLabError as error:
        return None, f"{name} cannot be used: {markdown_text(str(error))}. {run_store.PICK_ANOTHER}"
    return report.RunEvidence(run, model, ev, scores), ""


def base_network(run: run_store.Run | None) -> config.ModelConfig | None:
    try:
        return None if run is None else config.from_dict(config.ModelConfig, run.model_config)
    except (MnistLabError, TypeError):
        return None


@st.cache_resource(max_entries=16, show_spinner=False)
def built_report(version: tuple, problem: str, _data: Dataset, _evidence: report.RunEvidence | None,
                 _outcomes: dict) -> report.Report:
    """The report of one ``version`` of the run, the comparisons and the data, written once for every session."""
    return report.build_report(_data, _evidence, problem=problem, outcomes=_outcomes,
                               facts=data_facts(_data.name, _data.sha256))


def report_version(run: run_store.Run | None, evidence: report.RunEvidence | None, data: Dataset,
                   outcomes: dict) -> tuple:
    """Everything the report is written from: two equal versions give the same report."""
    comparisons = tuple((key, None if found is None else found.version) for key, found in outcomes.items())
    return None if run is None else run.version, evidence is not None, data.name, data.sha256, comparisons


def workbook_of(run: run_store.Run | None) -> workbook.Workbook | None:
    """The workbook of the chosen run; None without a run or when the run is gone."""
    if run is None:
        return None
    try:
        return workbook.Workbook(store, run.id)
    except MnistLabError as error:
        st.error(markdown_text(str(error)))
        return None


st.title("Report: your workbook")
st.markdown("Answer every question of the assignment in your own words, beside the evidence from your run: its "
            "figures, tables and charts. Your answers are saved with the run, and your hand-in (HTML, PDF, Markdown "
            "or a notebook) puts them first, under your name, with a receipt your teacher can check.")
sidebar.run_choice("Run this report describes", key="report_run_picker")
run = sidebar.active_run()
if run is not None and choice.is_comparison(run):
    st.warning("This is a small run of a one-click comparison, not one of your trainings: pick your own run above "
               "for the report you hand in.", icon=":material/science:")
try:
    data = resources.dataset_of(run) if run is not None else resources.dataset(sidebar.chosen_dataset_name())
except MnistLabError as error:
    st.error(f"The dataset of this report cannot be loaded: {markdown_text(str(error))}")
    st.stop()
if run is not None:
    with st.expander("Reproducibility card: the run's settings, data, software and machine"):
        st.markdown(report.card_markdown(report.reproducibility_card(run, store.home)))
evidence, problem = run_evidence(run)
outcomes = {key: experiments.outcome(store, chosen, data.name) for key, chosen in experiments.EXPERIMENTS.items()}
with st.spinner("Gathering each question's figures, tables and charts from the run and the data...", show_time=True):
    version = report_version(run, evidence, data, outcomes)
    built = built_report(version, problem, data, evidence, outcomes)
(st.markdown if evidence else st.info)(built.intro)
book = workbook_of(run)
read_only = run is not None and run.owner != resources.user().id
saved = book.answers() if book is not None else {}
if book is not None and not read_only:
    workbook_ui.progress_line(saved)
    name = workbook_ui.name_panel(store)
    if evidence and name:
        workbook_ui.downloads(
            f"mnist-lab-handin-{run.id}",
            lambda kind: workbook.build_handin(store, evidence, built, kind=kind),
            lambda handin: report.to_ipynb(report.build_notebook(evidence, data, handin)))
    elif evidence:
        st.caption("Give your name above to download your hand-in.")
elif book is not None:
    st.info(f"You are reading **{markdown_text(run.owner_name)}**'s workbook: their answers, read-only.")
focus = st.query_params.get(report_links.FOCUS, "").lower()
numbers = {q.id: q.number for q in report.QUESTIONS}
if focus in numbers:
    st.caption(f"Opened at the answer to {numbers[focus]}: every other answer has its tab.")
context = report_questions.Workbench(
    book, saved, book.reveals() if book is not None else {}, workbook.class_policy(store, identity.settings()),
    read_only, report_questions.figures_of(version, evidence, data) if evidence else (), evidence, base_network(run),
    data, version, outcomes, home)
# Only the open tab is drawn (on_change="rerun"): the whole report at once took the browser about 1.5 s to draw.
tabs = st.tabs([*numbers.values(), ALL_QUESTIONS], key=TAB, on_change="rerun", default=numbers.get(focus))
for tab, shown in zip(tabs, [*numbers, ALL_QUESTIONS]):
    if tab.open:
        with tab:
            report_questions.show_questions(built.answers if shown == ALL_QUESTIONS else [built.answer(shown)], context)
