"""Report page: the student's workbook. Each question with the run's evidence, the student's own answer, what a good
answer covers and, as the teacher allows, MNIST Lab's explanation; the hand-in downloads."""

from typing import NamedTuple

import streamlit as st

from mnist_lab import access, report, workbook
from mnist_lab.data import Dataset
from mnist_lab.errors import MnistLabError
from mnist_lab.models import config
from mnist_lab.runs import choice
from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text, plural
from mnist_lab.training import experiments
from ui import identity, report_links, resources, sidebar, vega
from ui import workbook as workbook_ui

STARTED_EXPERIMENT = "report_experiment"  # the secret of the comparison this session started: it may stop it
TAB, ALL_QUESTIONS = "report_tab", "All questions"  # one tab per question, and one with them all
store = resources.store_or_stop()
home = str(store.home)


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


@st.cache_data(show_spinner=False)
def data_facts(name: str, sha256: str) -> report.DataFacts:
    return report.data_facts(resources.dataset(name))


def experiment_runner(home: str) -> experiments.ExperimentRunner:
    """This user's runner of one-click comparisons (every student has their own)."""
    user = resources.user()
    return _runner_of(home, user.id, user)


@st.cache_resource
def _runner_of(home: str, user_id: str, _user: access.User) -> experiments.ExperimentRunner:
    return experiments.ExperimentRunner(resources.trainer(), user=_user)


def run_evidence(run: run_store.Run | None) -> tuple[report.RunEvidence | None, str]:
    if run is None:
        return None, report.NO_RUN
    name, other = f"**{markdown_text(run.name)}**", "Pick another run in the sidebar or train a new one."
    if run.status == run_store.RUNNING:
        return None, f"{name} is still training: its answers appear here once it has finished or been stopped."
    if run.problem is not None:
        return None, f"{markdown_text(run.problem[0].upper() + run.problem[1:])}. {other}"
    try:
        with st.spinner(f"Loading the model of {name} and evaluating it on the test images for the report (the first "
                        "time only; the results are stored with the run)...", show_time=True):
            model = resources.run_model(run)
            ev = resources.evaluation_of(run)
            scores = resources.test_scores_of(run)
    except MnistLabError as error:
        return None, f"{name} cannot be used: {markdown_text(str(error))}. {other}"
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


@st.cache_data(max_entries=64, show_spinner=False)
def png_files(key: tuple, _images: tuple) -> list[bytes]:
    """The evidence's pictures as PNG files, encoded once per report version for every session."""
    return [report.png_file(image) for image in _images]


def described(item: report.Chart) -> None:
    """The chart's summary in words and its figures as a table, under the chart."""
    if item.summary:
        vega.describe(item.summary, item.table)


def show_evidence(item: report.Evidence, key: tuple) -> None:
    if item.caption:
        st.caption(item.caption)
    if isinstance(item, report.Figures):
        for column, (label, value) in zip(st.columns(len(item.values)), item.values.items()):
            column.metric(label, value)
    elif isinstance(item, report.Table):
        st.dataframe(item.frame, hide_index=True, height="content")
    elif isinstance(item, report.Images):
        st.image(png_files(key, item.images), caption=list(item.captions), alt=list(item.alternatives))
    elif isinstance(item, report.Chart) and item.panels:
        panels = vega.cached(("report panels", *key), lambda: list(item.panels))
        for column, panel in zip(st.columns(len(panels)), panels):  # stacked on a phone
            vega.show(panel, column, width="stretch")
        described(item)
    elif isinstance(item, report.Chart):
        # Each chart at its own size unless it may stretch: stretched, a natural-size chart (square plot, legend
        # below) kept its axes and legend outside the stretched width and was cut off at 1,400 px.
        vega.show(vega.cached(("report chart", *key), lambda: item.chart), width="stretch" if item.stretch else "content")
        described(item)
    else:
        st.code(item.code, language="python", wrap_lines=True)


def show_questions(answers: list[report.Answer], context: Workbench) -> None:
    """Each question under the heading of its part of the assignment."""
    part = ""
    for answer in answers:
        if answer.question.id[0] != part:
            part = answer.question.id[0]
            st.header(report.PARTS[part])
        show_question(answer, context)


@st.fragment(run_every=2)
def live_experiment() -> None:
    runner = experiment_runner(home)
    state = runner.progress()
    if state is None:
        st.rerun(scope="app")
    number, total, progress = state
    st.progress(progress.fraction, text=f"Running… run {number} of {total}: {progress.name}, "
                                        f"epoch {max(progress.epoch, 1)} of {progress.epochs}")
    token = st.session_state.get(STARTED_EXPERIMENT, "")
    if runner.owned_by(token):
        st.button("Stop the comparison", on_click=runner.stop, args=(token,), key="report_stop", icon=":material/stop:",
                  help="Stops the run in progress after its batch and starts no further run.")


def experiment_panel(key: str, base: config.ModelConfig | None, data: Dataset) -> None:
    runner, outcome = experiment_runner(home), outcomes[key]
    if runner.running() == key:
        live_experiment()
        return
    arms, train = experiments.EXPERIMENTS[key].arms(base), experiments.SMALL_TRAIN
    if outcome is not None and not outcome.complete:
        st.warning("The last comparison ended before all its runs finished (it was stopped, the server restarted "
                   "or a run was deleted): run it again.")
    label = "Run the comparison again" if outcome is not None else "Run the comparison"
    if st.button(f"{label}: {experiments.describe(arms)}", key=f"report_{key}", icon=":material/science:",
                 help=f"Trains {len(arms)} small runs one after the other: {train.train_limit:,} images "
                      f"({train.validation_fraction:.0%} held out for validation), {plural(train.epochs, 'epoch')} each."):
        try:
            token = runner.start(key, base, data)
        except MnistLabError as error:
            st.error(markdown_text(str(error)))
        else:
            st.session_state[STARTED_EXPERIMENT] = token
            st.rerun()


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
            experiment_panel(answer.experiment, context.base, context.data)
        saved = context.saved.get(q.id)
        workbook_ui.answer_editor(context.book, q, saved, read_only=context.read_only, figures=context.figures)
        if context.book is not None:
            workbook_ui.save_error(context.book.run_id, q.id)
        workbook_ui.checklist_panel(checklist_of(q.id, context.version, context.evidence, context.data))
        workbook_ui.explanation_panel(context.book, answer, policy=context.policy, answered=saved is not None,
                                      revealed=context.reveals.get(q.id), read_only=context.read_only)


@st.cache_resource(max_entries=64, show_spinner=False)
def checklist_of(question_id: str, version: tuple, _evidence: report.RunEvidence | None, _data: Dataset) -> list[str]:
    """The question's checklist for one version of the run, built once for every session."""
    return workbook.checklist(question_id, _evidence, _data)


@st.cache_resource(max_entries=16, show_spinner=False)
def figures_of(version: tuple, _evidence: report.RunEvidence, _data: Dataset) -> tuple[workbook.Figure, ...]:
    """The run's figures the answers are checked against, gathered once per run version."""
    return workbook.run_figures(_evidence, _data)


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
context = Workbench(book, saved, book.reveals() if book is not None else {},
                   workbook.class_policy(store, identity.settings()), read_only,
                   figures_of(version, evidence, data) if evidence else (), evidence, base_network(run), data, version)
# Only the open tab is drawn (on_change="rerun"): the whole report at once took the browser about 1.5 s to draw.
tabs = st.tabs([*numbers.values(), ALL_QUESTIONS], key=TAB, on_change="rerun", default=numbers.get(focus))
for tab, shown in zip(tabs, [*numbers, ALL_QUESTIONS]):
    if tab.open:
        with tab:
            show_questions(built.answers if shown == ALL_QUESTIONS else [built.answer(shown)], context)
