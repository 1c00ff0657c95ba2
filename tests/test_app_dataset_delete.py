"""AppTest: deleting a dataset from the Data page (its owner) and from the Class page (a teacher)."""

import pytest

from mnist_lab.data import dataset_names, import_idx_upload, registry
from mnist_lab.runs.store import FINISHED, RunStore
from tests.apptest_helpers import ALICE, BOB, TEACHER, as_user, open_app_page
from tests.test_dataset_folders import idx_files, three_classes


@pytest.fixture
def shapes(home, mnist, monkeypatch):
    """A home holding Alice's dataset "Shapes"."""
    monkeypatch.delenv("MNIST_LAB_DATASETS", raising=False)
    registry.cache.clear()
    import_idx_upload(idx_files(three_classes(mnist)), "Shapes", home, user=ALICE)
    return home


def _bobs_run_on_shapes(home) -> None:
    store = RunStore(home, user=BOB)
    store.finish(store.create_run("bob's run", {}, {}, {}, dataset="Shapes"), FINISHED)


def _data_page_on_shapes(monkeypatch, user):
    as_user(monkeypatch, user)
    at = open_app_page("app_pages/data.py")
    at.session_state["chosen_dataset"] = "Shapes"
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "The data: Shapes"
    return at


def test_the_owner_deletes_their_dataset_on_the_data_page(shapes, monkeypatch):
    at = _data_page_on_shapes(monkeypatch, ALICE)
    at.button(key="dataset_delete").click().run()
    assert not at.exception, at.exception
    assert [success.value for success in at.success] == ["Deleted the dataset 'Shapes'."]
    assert at.title[0].value == "The data: MNIST"
    assert dataset_names(shapes) == ["MNIST"]


def test_another_student_sees_no_delete_control(shapes, monkeypatch):
    at = _data_page_on_shapes(monkeypatch, BOB)
    assert "dataset_delete" not in [button.key for button in at.button]
    assert "Shapes" in dataset_names(shapes)


def test_the_owner_is_told_why_when_others_runs_use_it(shapes, monkeypatch):
    _bobs_run_on_shapes(shapes)
    at = _data_page_on_shapes(monkeypatch, ALICE)
    at.button(key="dataset_delete").click().run()
    assert not at.exception, at.exception
    assert [error.value for error in at.error] == [
        "1 run of other students was trained on 'Shapes': only a teacher can delete it now"
    ]
    assert "Shapes" in dataset_names(shapes)


def test_a_teacher_deletes_a_students_dataset_on_the_class_page(shapes, monkeypatch):
    _bobs_run_on_shapes(shapes)
    as_user(monkeypatch, TEACHER)
    at = open_app_page("app_pages/class_view.py")
    table = at.dataframe[0].value
    assert table.to_dict("records") == [{"dataset": "Shapes", "added by": "Alice", "size on disk (MB)": 0.0}]
    at.selectbox(key="class_dataset").set_value("Shapes").run()
    at.button(key="class_dataset_delete").click().run()
    assert not at.exception, at.exception
    assert [success.value for success in at.success] == [
        "Deleted the dataset 'Shapes'. 1 run trained on it (\"bob's run\") is kept with its figures and "
        "evaluations; its model can no longer be evaluated again on its images."
    ]
    assert dataset_names(shapes) == ["MNIST"]
    assert [run.name for run in RunStore(shapes, user=BOB).list_runs()] == ["bob's run"]
    assert "Nobody has added a dataset yet" in at.info[0].value
