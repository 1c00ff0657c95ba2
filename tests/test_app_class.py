"""AppTest: the teacher's Class page on real trained runs of two students."""


from streamlit.testing.v1 import AppTest

from mnist_lab import access
from mnist_lab.evaluation import classroom
from mnist_lab.runs import store as run_store
from tests.apptest_helpers import ALICE, TEACHER, as_user, open_app_page
from tests.server import ROOT


def test_the_teacher_sees_every_students_runs_evaluates_them_and_ranks_them(class_store, monkeypatch):
    as_user(monkeypatch, TEACHER)
    at = open_app_page("app_pages/class_view.py")
    assert any("2 runs of 2 students" in md.value for md in at.markdown)
    shown = at.dataframe[0].value
    assert sorted(zip(shown["student"], shown["run"])) == [("Alice", "small perceptron"), ("Bob", "small fast")]
    assert shown["test accuracy"].isna().all()  # not evaluated yet: no figure is made up
    assert sorted(at.selectbox(key="class_run").options) == ["Alice · small perceptron · finished",
                                                             "Bob · small fast · finished"]
    assert any("leaderboard ranks test accuracy" in info.value for info in at.info)

    next(button for button in at.button if button.label.startswith("Evaluate the 2 runs")).click().run(timeout=300)
    assert not at.exception, at.exception

    runs = class_store.list_runs(everyone=True)
    accuracy = {run.name: run.metrics["test"]["accuracy"] for run in runs}
    board = at.dataframe[1].value
    assert list(board["architecture"]) == sorted(["perceptron", "fast"], key=lambda a: -accuracy[
        "small fast" if a == "fast" else "small perceptron"])
    assert board["best test accuracy"].tolist() == sorted(accuracy.values(), reverse=True)
    recalls = classroom.recall_frame(runs)
    assert len(recalls) == 20
    hardest = recalls.groupby("class")["recall"].median().sort_values(kind="stable")
    sentence = next(md.value for md in at.markdown if md.value.startswith("Hardest for the class on MNIST"))
    assert f"{hardest.index[0]} ({hardest.iloc[0]:.1%})" in sentence and "over 2 evaluated runs" in sentence
    assert len(at.get("vega_lite_chart")) == 1


def test_the_teacher_sets_the_class_limits_and_a_student_is_held_to_them(class_store, monkeypatch):
    as_user(monkeypatch, TEACHER)
    at = open_app_page("app_pages/class_view.py")
    at.number_input(key="limit_max_epochs").set_value(3)
    at.number_input(key="limit_trainings_per_hour").set_value(10)
    at.button[-1].click().run()  # the form's Save button
    assert not at.exception and any("Saved" in success.value for success in at.success)
    assert class_store.class_limits() == access.ClassLimits(max_epochs=3, trainings_per_hour=10)

    as_user(monkeypatch, ALICE)
    student = open_app_page("app_pages/train.py")
    student.number_input(key="train_epochs").set_value(5).run()
    student.button(key="start_training").click().run()
    assert any("at most 3 epochs per training; this one asks for 5" in error.value for error in student.error)
    assert run_store.RunStore(class_store.home, user=ALICE).list_runs()[0].name == "small perceptron"  # nothing new


def test_a_teacher_opens_a_students_run_read_only_and_deletes_another(class_store, monkeypatch):
    as_user(monkeypatch, TEACHER)
    at = open_app_page("app_pages/class_view.py")
    runs = {run.name: run for run in class_store.list_runs(everyone=True)}
    at.selectbox(key="class_run").set_value(runs["small fast"].id).run()
    next(button for button in at.button if button.label == "Open it, read-only").click().run(timeout=300)
    assert not at.exception, at.exception
    assert at.session_state["active_run"] == runs["small fast"].id
    assert any("You are looking at **Bob**'s run **small fast**" in info.value for info in at.sidebar.info)
    fast_id = runs["small fast"].id
    assert not [box for box in at.sidebar.text_input if box.key == f"rename_{fast_id}"]  # read-only: no rename
    assert at.sidebar.button(key=f"delete_{fast_id}") is not None

    at.switch_page("app_pages/class_view.py").run()
    at.selectbox(key="class_run").set_value(runs["small perceptron"].id).run()
    at.button(key="class_delete").click().run()
    assert [run.name for run in class_store.list_runs(everyone=True)] == ["small fast"]

    as_user(monkeypatch, ALICE)  # Alice's active run is gone: she is told on her next click
    student = open_app_page("app_pages/data.py", active_run=runs["small perceptron"].id)
    assert any("was deleted" in warning.value for warning in student.sidebar.warning)


def test_the_class_page_itself_refuses_a_student(class_store, monkeypatch):
    # The router lists the page for teachers only (tests/test_browser_login.py); the page checks again.
    as_user(monkeypatch, ALICE)
    at = AppTest.from_file(str(ROOT / "app_pages" / "class_view.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    assert [error.value for error in at.error] == ["Only the class's teachers see this page."]
    assert not at.dataframe and not at.selectbox
