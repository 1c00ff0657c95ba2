"""Class page (teachers only): every student's runs and hand-ins, checking a hand-in, the explanations setting, where
the class's work lives and its archive, a leaderboard, the digits the class finds hardest, the limits."""

import streamlit as st

from mnist_lab import access, charts, workbook
from mnist_lab import data as datasets
from mnist_lab.charts import describe
from mnist_lab.errors import MnistLabError
from mnist_lab.evaluation import classroom
from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text
from ui import archive_panel, class_handins, dataset_delete, identity, resources, sidebar, vega

DATASET_DELETED = "class_dataset_deleted_message"
RUN_COLUMNS = {
    "test accuracy": st.column_config.NumberColumn(format="percent", help="Empty until the run is evaluated"),
    "created": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm", timezone="UTC"),
}

store = resources.store_or_stop()
user = resources.user()
if not user.teacher:  # the router lists this page for teachers only; a stale link lands here
    st.error("Only the class's teachers see this page.")
    st.stop()

st.title("Class")
st.caption("Only teachers see this page. Students see their own runs only.")
try:
    runs = store.list_runs(everyone=True)
except MnistLabError as error:
    st.error(markdown_text(str(error)))
    st.stop()


def evaluate_all() -> None:
    bar = st.progress(0.0, text="Evaluating...")

    def progress(done: int, total: int, run) -> None:
        bar.progress(done / total, text=f"Evaluating run {done + 1} of {total} on its test images: "
                                        f"{markdown_text(run.owner_name)}'s {markdown_text(run.name)}")

    failed = classroom.evaluate_missing(runs, resources.evaluation_of, progress)
    bar.empty()
    for run, reason in failed:
        st.warning(f"{markdown_text(run.owner_name)}'s {markdown_text(run.name)} cannot be evaluated: "
                   f"{markdown_text(reason)}")
    if not failed:
        st.rerun()


def open_run(run_id: str) -> None:
    sidebar.set_active_run(run_id)


def datasets_section() -> None:
    """The datasets students added, who added each, and a Delete control."""
    st.header("Datasets added by the class")
    if DATASET_DELETED in st.session_state:
        st.success(markdown_text(st.session_state.pop(DATASET_DELETED)))
    home = run_store.default_home()
    added = datasets.imported_datasets(home, database=resources.database_url())
    if not added:
        st.info("Nobody has added a dataset yet (Data page, Add your own dataset).")
        return
    st.dataframe(
        [{"dataset": record.name, "added by": record.owner_name, "size on disk (MB)": round(record.size / 2**20, 1)}
         for record in added],
        hide_index=True, width="stretch",
    )
    chosen = st.selectbox("A dataset", options=[record.name for record in added], key="class_dataset")
    dataset_delete.delete_popover(chosen, label="Delete it", key="class_dataset_delete", message_key=DATASET_DELETED)


class_handins.explanations_setting(store, identity.settings())
class_handins.check_panel(store)
datasets_section()
archive_panel.class_archive_section(store)

st.header("Runs")
if not runs:
    st.info("No student has trained a run yet.")
    st.stop()
students = len({run.owner for run in runs})
names = workbook.names_of_students(store)
frame = classroom.runs_frame(runs, names)
st.markdown(f"{len(runs)} run{'s' * (len(runs) != 1)} of {students} student{'s' * (students != 1)}, newest first.")
st.dataframe(frame.drop(columns="id"), hide_index=True, width="stretch", column_config=RUN_COLUMNS)
st.download_button("Download the class (CSV)", data=classroom.class_csv(runs, names), file_name="mnist-lab-class.csv",
                   mime="text/csv", icon=":material/table:", on_click="ignore", key="class_csv",
                   help="One line per run: student, run, dataset, training images, epochs, test accuracy, status.")
missing = classroom.unevaluated(runs)
if missing and st.button(f"Evaluate the {missing} run{'s' * (missing != 1)} not evaluated yet", icon=":material/analytics:",
                         help="Each run's model reads its 10,000 test images once; the results are kept with the run."):
    evaluate_all()

labels = {row.id: f"{row.student} · {row.run} · {row.status}" for row in frame.itertuples()}
chosen = st.selectbox("A student's run", options=list(labels), format_func=labels.get, key="class_run")
opened, deleted = st.columns(2)
if opened.button("Open it, read-only", icon=":material/visibility:", width="stretch",
                 help="It becomes your active run: the Predictions, Evaluate and Report pages describe it."):
    open_run(chosen)
    st.switch_page("app_pages/evaluate.py")
with deleted.popover("Delete it", icon=":material/delete:", width="stretch"):
    st.write(f"Delete **{markdown_text(labels[chosen])}** and its model for good? The student is told on their next click.")
    if st.button("Delete run", type="primary", key="class_delete"):
        try:
            store.delete(chosen)
        except MnistLabError as error:
            st.error(markdown_text(str(error)))
        else:
            st.rerun()

class_handins.handins_panel(store, runs)
class_handins.recheck_panel(store, runs, names)

st.header("Leaderboard")
board = classroom.leaderboard(runs, names)
if board.empty:
    st.info("No run has been evaluated yet: the leaderboard ranks test accuracy, which evaluation measures.")
else:
    st.caption("The best evaluated run of each architecture on each dataset, by test accuracy, with the training "
               "images and epochs it had: a run on a subset or for one epoch is not comparable with a full one.")
    st.dataframe(board, hide_index=True, width="stretch",
                 column_config={"best test accuracy": st.column_config.NumberColumn(format="percent")})

st.header("Which classes the class finds hardest")
recalls = classroom.recall_frame(runs)
if recalls.empty:
    st.info("Appears once runs are evaluated: the test recall of each class, across the class's runs.")
for dataset in sorted(recalls["dataset"].unique()):
    chosen_recalls = recalls[recalls["dataset"] == dataset]
    st.markdown(classroom.hardest_classes(recalls, dataset))
    vega.show_described(charts.class_recall_chart(chosen_recalls), describe.class_recalls(chosen_recalls),
                        chosen_recalls, width="content", name=f"the recalls on {dataset}")

st.header("Limits for the class")
st.caption("Checked before a student's training is queued, on this page's server and on the command line; "
           "teachers are not limited. Leave a field empty for no limit.")
limits = store.class_limits()
with st.form("class_limits"):
    values = {
        name: st.number_input(label, min_value=int(limit.low), max_value=int(limit.high), step=1,
                              value=getattr(limits, name), placeholder="no limit", key=f"limit_{name}")
        for name, label, limit in access.LIMIT_FIELDS
    }
    if st.form_submit_button("Save limits", type="primary"):
        try:
            store.set_class_limits(access.ClassLimits(**values))
        except MnistLabError as error:
            st.error(markdown_text(str(error)))
        else:
            st.success("Saved: they apply to every training started from now on.")
