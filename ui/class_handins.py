"""The Class page's hand-in sections: the explanations setting, the class's hand-ins, checking a hand-in file, and
re-training a hand-in's run to check it."""

from __future__ import annotations

import streamlit as st

from mnist_lab import access, workbook
from mnist_lab.errors import MnistLabError
from mnist_lab.models import config
from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text
from mnist_lab.workbook import classbook
from ui import resources, sidebar

#: The largest hand-in a teacher uploads for checking, in MB (a hand-in with every chart is a few MB).
UPLOAD_MB = 60
_ZIP = "class_handins_zip"
_VERDICT_STYLE = {workbook.GENUINE: st.success, workbook.ALTERED: st.error, workbook.FOREIGN: st.warning,
                  workbook.UNSIGNED: st.warning}


def explanations_setting(store: run_store.RunStore, settings: access.AccessSettings) -> None:
    """When students may open MNIST Lab's explanations: the teacher's choice for the class."""
    st.header("MNIST Lab's explanations")
    current = workbook.class_policy(store, settings)
    options = list(workbook.DESCRIPTIONS)
    chosen = st.radio("When may a student open MNIST Lab's explanation of a question?", options,
                      index=options.index(current), format_func=workbook.DESCRIPTIONS.get, key="class_explanations")
    if chosen != current and st.button("Save the setting", key="save_explanations", icon=":material/save:"):
        try:
            workbook.set_class_policy(store, chosen)
        except MnistLabError as error:
            st.error(markdown_text(str(error)))
        else:
            st.rerun()
    st.caption("Every hand-in says which explanations its student opened, and whether before or after their answer.")


def handins_panel(store: run_store.RunStore, runs: list[run_store.Run]) -> None:
    """The class's hand-ins: answered questions, reveals, last edit, receipt; open one, download them all."""
    st.header("Hand-ins")
    frame = classbook.handins_frame(store, runs)
    if frame.empty:
        st.info("No student has written an answer or downloaded a hand-in yet.")
        return
    st.dataframe(frame.drop(columns="id"), hide_index=True, width="stretch", column_config={
        "last edit": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm", timezone="UTC")})
    labels = {row.id: f"{row.student} · {row.run}" for row in frame.itertuples()}
    chosen = st.selectbox("A hand-in", options=list(labels), format_func=labels.get, key="class_handin")
    opened, collected = st.columns(2)
    if opened.button("Open it read-only", icon=":material/visibility:", width="stretch", key="open_handin",
                     help="The Report page shows the student's answers beside the run's evidence, read-only."):
        sidebar.set_active_run(chosen)
        st.switch_page("app_pages/report.py")
    every = "the hand-in" if len(frame) == 1 else f"all {len(frame)} hand-ins"
    if collected.button(f"Prepare {every} as one .zip", icon=":material/folder_zip:",
                        width="stretch", key="prepare_zip",
                        help="Each as signed HTML; each run's model reads its test images if not done yet."):
        _prepare_zip(store, list(frame["id"]))
    if _ZIP in st.session_state:
        st.download_button("Download the hand-ins (.zip)", data=st.session_state[_ZIP], file_name="mnist-lab-handins.zip",
                           mime="application/zip", icon=":material/download:", on_click="ignore", key="handins_zip")


def _prepare_zip(store: run_store.RunStore, run_ids: list[str]) -> None:
    bar = st.progress(0.0, text="Writing the hand-ins...")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"Writing hand-in {done + 1} of {total}...")

    content, failed = classbook.handins_zip(run_ids, lambda run_id: classbook.export_handin(
        store, run_id, resources.dataset_of), progress)
    bar.empty()
    st.session_state[_ZIP] = content
    for run_id, reason in failed:
        st.warning(f"Run {run_id} was left out of the zip: {markdown_text(reason)}")


def check_panel(store: run_store.RunStore) -> None:
    """Upload a hand-in and say whether it is genuine, altered (and where) or from another server."""
    st.header("Check a hand-in")
    upload = st.file_uploader("A student's hand-in: HTML, PDF, Markdown .zip or notebook", key="check_upload",
                              type=["html", "htm", "pdf", "zip", "md", "ipynb"], max_upload_size=UPLOAD_MB)
    if upload is None:
        st.caption("The receipt printed on a hand-in is signed with a key only this server holds; the check compares "
                   "the file with what this server issued. `mnist-lab verify FILE` does the same.")
        return
    try:
        verdict = workbook.verify_handin(store, upload.getvalue(), upload.name)
    except MnistLabError as error:
        st.error(markdown_text(str(error)))
        return
    _VERDICT_STYLE[verdict.status](markdown_text(verdict.message))


def recheck_panel(store: run_store.RunStore, runs: list[run_store.Run], names: dict[str, str]) -> None:
    """Queue a hand-in's run again (same dataset, configuration and seed) and compare the two test accuracies."""
    st.header("Re-train a run to check it")
    candidates = [run for run in runs if run.status == run_store.FINISHED and not run.experiment]
    if not candidates:
        st.info("No finished run to re-train yet.")
        return
    labels = {run.id: f"{names.get(run.owner, run.owner_name)} · {run.name}" for run in candidates}
    chosen = next(run for run in candidates if run.id == st.selectbox(
        "The run of a hand-in", options=list(labels), format_func=labels.get, key="recheck_run"))
    latest = next(iter(classbook.rechecks_of(runs, chosen.id)), None)
    if latest is not None:
        outcome = classbook.recheck(store, chosen, latest)
        style = {True: st.success, False: st.warning}.get(outcome.agree, st.info)
        style(markdown_text(outcome.sentence))
    if st.button("Train it again with the same data, settings and seed", key="recheck_start", icon=":material/replay:",
                 help="Queued as your own run, tagged as a check; the students' queue is served in turn."):
        _start_recheck(chosen)


def _start_recheck(run: run_store.Run) -> None:
    try:
        model = config.from_dict(config.ModelConfig, run.model_config)
        train = config.from_dict(config.TrainConfig, run.train_config)
        resources.trainer().start(f"check of {run.name}"[:run_store.NAME_MAX], model, train,
                                  dataset=resources.dataset_of(run), experiment=classbook.recheck_tag(run.id),
                                  user=resources.user(), evaluate_test=True)
    except MnistLabError as error:
        st.error(markdown_text(str(error)))
    else:
        st.success("Queued: the result appears here when it has finished (open the Train page to watch it).")
