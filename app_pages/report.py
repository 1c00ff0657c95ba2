"""Report page: every question of the assignment, numbered and answered with evidence from the active run."""

import streamlit as st

from mnist_lab import access, report
from mnist_lab.data import Dataset
from mnist_lab.errors import MnistLabError
from mnist_lab.models import config
from mnist_lab.runs import choice
from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text
from mnist_lab.training import experiments
from ui import report_links, resources, sidebar, vega

STARTED_EXPERIMENT = "report_experiment"  # the secret of the comparison this session started: it may stop it
TAB, WHOLE_REPORT = "report_tab", "Whole report"  # one tab per answer, and one with them all
store = resources.store_or_stop()
home = str(store.home)


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


def show_evidence(item: report.Evidence, key: tuple) -> None:
    if item.caption:
        st.caption(item.caption)
    if isinstance(item, report.Figures):
        for column, (label, value) in zip(st.columns(len(item.values)), item.values.items()):
            column.metric(label, value)
    elif isinstance(item, report.Table):
        st.dataframe(item.frame, hide_index=True, height="content")
    elif isinstance(item, report.Images):
        st.image(png_files(key, item.images), caption=list(item.captions))
    elif isinstance(item, report.Chart) and item.panels:
        panels = vega.cached(("report panels", *key), lambda: list(item.panels))
        for column, panel in zip(st.columns(len(panels)), panels):  # stacked on a phone
            vega.show(panel, column, width="stretch")
    elif isinstance(item, report.Chart):
        # Each chart at its own size unless it may stretch: stretched, a natural-size chart (square plot, legend
        # below) kept its axes and legend outside the stretched width and was cut off at 1,400 px.
        vega.show(vega.cached(("report chart", *key), lambda: item.chart), width="stretch" if item.stretch else "content")
    else:
        st.code(item.code, language="python", wrap_lines=True)


def show_answers(answers: list[report.Answer], base: config.ModelConfig | None, data: Dataset, version: tuple) -> None:
    """Each answer under the heading of its part of the assignment."""
    part = ""
    for answer in answers:
        if answer.question.id[0] != part:
            part = answer.question.id[0]
            st.header(report.PARTS[part])
        show_answer(answer, base, data, version)


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
                      f"({train.validation_fraction:.0%} held out for validation), {train.epochs} epochs each."):
        try:
            token = runner.start(key, base, data)
        except MnistLabError as error:
            st.error(markdown_text(str(error)))
        else:
            st.session_state[STARTED_EXPERIMENT] = token
            st.rerun()


def show_answer(answer: report.Answer, base: config.ModelConfig | None, data: Dataset, version: tuple) -> None:
    q = answer.question
    with st.container(border=True):
        st.subheader(f"{q.number}. {q.title}", anchor=q.id)
        st.markdown(f"*Question:* {q.text}")
        st.markdown(answer.text)
        for number, item in enumerate(answer.evidence):
            show_evidence(item, (*version, q.id, number))
        if answer.todo:
            st.info(answer.todo)
        if answer.experiment:
            experiment_panel(answer.experiment, base, data)


st.title("Report: the assignment, answered")
st.markdown("Every question of the assignment, numbered, with a short answer and the evidence from the active run "
            "and the data: train another model and the figures follow it. Each answer has its tab, and the last tab "
            "holds the whole report; download it below, as HTML with its pictures or as Markdown.")
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
        st.markdown(report.card_markdown(report.reproducibility_card(run)))
evidence, problem = run_evidence(run)
outcomes = {key: experiments.outcome(store, chosen, data.name) for key, chosen in experiments.EXPERIMENTS.items()}
with st.spinner("Writing the answers: gathering each question's figures, tables and charts from the run and the "
                "data...", show_time=True):
    version = report_version(run, evidence, data, outcomes)
    built = built_report(version, problem, data, evidence, outcomes)
(st.markdown if evidence else st.info)(built.intro)
stem = f"mnist-lab-report-{run.id if evidence else 'data'}"
card = report.card_markdown(report.reproducibility_card(run)) if evidence else ""
html_col, markdown_col, notebook_col, outputs_col = st.columns(4)
html_col.download_button("Download the report (HTML)", data=lambda: report.to_html(built, card=card),
                         file_name=f"{stem}.html", mime="text/html", on_click="ignore", icon=":material/download:",
                         key="report_html", help="One self-contained file, ready to print: charts and digits are "
                                                 "embedded as images, the reproducibility card on the first page.")
markdown_col.download_button("Download the report (Markdown, .zip)",
                             data=lambda: report.to_markdown_zip(built, card=card, name=stem), file_name=f"{stem}.zip",
                             mime="application/zip", on_click="ignore", icon=":material/download:",
                             key="report_markdown", help="The Markdown file with its charts and digits as PNG images "
                                                         "next to it.")
if evidence:
    notebook_col.download_button(
        "Notebook (.ipynb)", data=lambda: report.to_ipynb(report.build_notebook(evidence, data, built)),
        file_name=f"{stem}.ipynb", mime="application/x-ipynb+json", on_click="ignore",
        icon=":material/code:", key="report_notebook",
        help="Trains this run again in plain Keras (no MNIST Lab needed, runs in Colab), with the answers as text "
             "next to the code of their evidence.")
    outputs_col.download_button(
        "Notebook with the app's outputs",
        data=lambda: report.to_ipynb(report.build_notebook(evidence, data, built, with_outputs=True)),
        file_name=f"{stem}-with-outputs.ipynb", mime="application/x-ipynb+json",
        on_click="ignore", icon=":material/code:", key="report_notebook_outputs",
        help="The same notebook with this report's figures and tables already in it, ready to hand in as it is.")
base = base_network(run)
focus = st.query_params.get(report_links.FOCUS, "").lower()
numbers = {q.id: q.number for q in report.QUESTIONS}
if focus in numbers:
    st.caption(f"Opened at the answer to {numbers[focus]}: every other answer has its tab.")
# Only the open tab is drawn (on_change="rerun"): the whole report at once took the browser about 1.5 s to draw.
tabs = st.tabs([*numbers.values(), WHOLE_REPORT], key=TAB, on_change="rerun", default=numbers.get(focus))
for tab, shown in zip(tabs, [*numbers, WHOLE_REPORT]):
    if tab.open:
        with tab:
            show_answers(built.answers if shown == WHOLE_REPORT else [built.answer(shown)], base, data, version)
