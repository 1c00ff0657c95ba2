"""AppTest of the workbook on real trained runs: a student's answers saved and kept, the figures check, the name
of the hand-in, MNIST Lab's explanations under each setting, and the teacher's read-only view and Class page."""

import re

import pytest
from streamlit.testing.v1 import AppTest

from mnist_lab import access, workbook
from mnist_lab.runs.store import RunStore
from tests.apptest_helpers import ALICE, TEACHER, as_user
from tests.server import ROOT


def open_question(question, *, active_run, secrets=None):
    """The Report page in a new session at the tab of ``question`` (such as "B6")."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in (secrets or {}).items():
        at.secrets[key] = value
    at.session_state["active_run"] = active_run
    at.run()
    at.switch_page("app_pages/report.py")
    at.session_state["report_tab"] = question
    at.run()
    assert not at.exception, at.exception
    return at


def handin_buttons(at):
    """The labels of the hand-in downloads (the sidebar's model download is not one)."""
    return [button.proto.label for button in at.get("download_button") if button.proto.label.startswith("Hand-in")]


def texts(elements):
    return "\n".join(element.value for element in elements)


@pytest.fixture
def fast_run(trained_copy):
    return next(run for run in trained_copy.list_runs() if run.name == "small fast")


def test_an_answer_is_saved_checked_against_the_figures_and_kept(trained_copy, fast_run):
    at = open_question("B6", active_run=fast_run.id)
    assert "0 of 13" in texts(at.markdown)
    at.text_area[0].set_value("My test accuracy was 12.34% on the test set.").run()  # saved as the box is left
    accuracy = RunStore().get(fast_run.id).metrics["test"]["accuracy"]
    assert f"12.34%: your run's test accuracy is {accuracy:.2%}." in texts(at.caption)
    assert "1 of 13" in texts(at.markdown) and "still to answer: A1, A2," in texts(at.markdown)
    checklist = next(md.value for md in at.markdown if md.value.startswith("**What a good answer covers**"))
    assert f"test accuracy {accuracy:.2%}: which is higher, by how much" in checklist

    again = open_question("B6", active_run=fast_run.id)  # a new session: a reload, or the next day
    assert again.text_area[0].value == "My test accuracy was 12.34% on the test set."
    assert workbook.Workbook(trained_copy, fast_run.id).answers()["b6"].text == again.text_area[0].value


def test_the_student_names_their_hand_in_once_before_downloading(trained_copy, fast_run):
    at = open_question("A1", active_run=fast_run.id)
    assert not handin_buttons(at) and "Give your name above" in texts(at.caption)
    at.text_input[0].set_value("Jo Student")
    at.button(key="FormSubmitter:handin_name-Save my name").click().run()
    assert "Handing in as **Jo Student**." in texts(at.caption)
    assert handin_buttons(at) == [
        "Hand-in (HTML, ready to print)", "Hand-in (PDF)", "Hand-in (Markdown, .zip)", "Hand-in (notebook)"]
    assert workbook.student_name(RunStore()) == "Jo Student"


def test_shown_explanations_open_on_request_and_the_reveal_is_recorded(trained_copy, fast_run):
    at = open_question("A2", active_run=fast_run.id)
    assert "is a CNN" not in texts(at.markdown)
    at.button(key=f"reveal_{fast_run.id}_a2").click().run()
    assert "is a CNN: the **Fast (batch-norm convnet)** network" in texts(at.markdown)
    assert "Opened before you saved your answer" in texts(at.caption)
    revealed = workbook.Workbook(trained_copy, fast_run.id).reveals()["a2"]
    assert not revealed.after_answer


def test_after_answer_the_explanation_waits_for_the_students_own_answer(trained_copy, fast_run):
    secrets = {"mnist_lab": {"mode": "shared", "explanations": "after_answer"}}
    student = "s" * 43  # a shared lab's browser: its run is this browser's own
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.secrets["mnist_lab"] = secrets["mnist_lab"]
    at.session_state["browser_secret"] = student
    at.run()
    own = RunStore(trained_copy.home, user=access.browser_user(student))
    run_id = own.create_run("browser run", fast_run.model_config, fast_run.train_config, {})
    at.session_state["active_run"] = run_id
    at.switch_page("app_pages/report.py")
    at.session_state["report_tab"] = "B2"
    at.run()
    assert not at.exception, at.exception
    assert "opens once you have saved your own answer" in texts(at.caption)
    assert not [button for button in at.button if button.label == "Show MNIST Lab's explanation"]
    at.text_area[0].set_value("Training and test images must differ.").run()
    at.button(key=f"reveal_{run_id}_b2").click().run()
    assert workbook.Workbook(own, run_id).reveals()["b2"].after_answer


def test_hidden_explanations_are_never_offered(trained_copy, fast_run):
    workbook.set_class_policy(trained_copy.as_user(TEACHER), workbook.HIDDEN)
    at = open_question("B6", active_run=fast_run.id)
    at.text_area[0].set_value("Because it saw them.").run()
    assert "Your teacher has hidden MNIST Lab's explanations" in texts(at.caption)
    assert not [button for button in at.button if button.label == "Show MNIST Lab's explanation"]


def test_the_teacher_reads_a_students_workbook_read_only(class_store, monkeypatch):
    alices = next(run for run in class_store.list_runs(everyone=True) if run.owner == ALICE.id)
    book = workbook.Workbook(RunStore(class_store.home, user=ALICE), alices.id)
    book.save("b6", "Alice's own words.")
    book.reveal("b6", policy=workbook.SHOWN)
    as_user(monkeypatch, TEACHER)
    at = open_question("B6", active_run=alices.id)
    assert at.text_area[0].value == "Alice's own words." and at.text_area[0].disabled
    assert "You are reading **Alice**'s workbook" in texts(at.info)
    assert not handin_buttons(at) and not [b for b in at.button if b.label == "Save answer"]
    assert any(re.match(r"MNIST Lab's explanation \(the student opened it after answering\)", e.label)
               for e in at.expander)


def test_the_class_page_lists_hand_ins_and_sets_the_explanations(class_store, monkeypatch):
    alices = next(run for run in class_store.list_runs(everyone=True) if run.owner == ALICE.id)
    alice = RunStore(class_store.home, user=ALICE)
    workbook.Workbook(alice, alices.id).save("a1", "Ten digits.")
    workbook.set_student_name(alice, "Alice Liddell")
    as_user(monkeypatch, TEACHER)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/class_view.py").run()
    assert not at.exception, at.exception
    handins = next(frame.value for frame in at.dataframe if "answered" in frame.value.columns)
    assert handins[["student", "run", "answered"]].values.tolist() == [["Alice Liddell", "small perceptron", "1 of 13"]]
    runs = at.dataframe[0].value
    assert "Alice Liddell" in runs["student"].tolist() and "training images" in runs.columns
    assert "Download the class (CSV)" in [button.proto.label for button in at.get("download_button")]
    assert at.radio(key="class_explanations").value == workbook.SHOWN  # no secrets here: the personal default
    at.radio(key="class_explanations").set_value(workbook.HIDDEN).run()
    at.button(key="save_explanations").click().run()
    assert workbook.class_policy(class_store, access.AccessSettings(access.LOGIN)) == workbook.HIDDEN
