"""A dataset of one's own, end to end: a Fashion-like three-class dataset trains, evaluates, shows on every page
with its class names and appears in the report; its runs and MNIST runs cannot be compared."""

import numpy as np
import pytest

from mnist_lab import data, evaluation, report, training
from mnist_lab.data.idx import write_idx
from mnist_lab.errors import DatasetError
from mnist_lab.models import config
from mnist_lab.predictions.inference import RunModel
from mnist_lab.runs.store import RunStore
from tests.apptest_helpers import open_app_page, open_tab

CLASSES = ("ring", "bar", "hook")
SOURCE_DIGITS = (0, 1, 7)  # each class: one MNIST digit, mirrored left to right, so the images are not MNIST's


def three_class_split(images: np.ndarray, labels: np.ndarray, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` mirrored images of each source digit, relabelled 0-2 and shuffled."""
    chosen = np.concatenate([np.flatnonzero(labels == digit)[:per_class] for digit in SOURCE_DIGITS])
    new_labels = np.repeat(np.arange(len(SOURCE_DIGITS), dtype=np.uint8), per_class)
    order = np.random.default_rng(0).permutation(len(chosen))
    return np.ascontiguousarray(images[chosen][:, :, ::-1][order]), new_labels[order]


def write_three_class_folder(folder, mnist, classes, *, train_per_class, test_per_class):
    """Write a three-class dataset in MNIST's format into ``folder``: four gzipped IDX files and a classes.txt."""
    folder.mkdir()
    x_train, y_train = three_class_split(mnist.x_train, mnist.y_train, train_per_class)
    x_test, y_test = three_class_split(mnist.x_test, mnist.y_test, test_per_class)
    for stem, array in (("train-images-idx3-ubyte", x_train), ("train-labels-idx1-ubyte", y_train),
                        ("t10k-images-idx3-ubyte", x_test), ("t10k-labels-idx1-ubyte", y_test)):
        write_idx(folder / f"{stem}.gz", array, compress=True)
    (folder / "classes.txt").write_text("\n".join(classes) + "\n")
    return folder


# Trains a real network on an imported three-class dataset for the module: 10-30 s.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shapes_folder(tmp_path_factory, mnist):
    """The folder ``Shapes3`` in MNIST's format: four gzipped IDX files and a classes.txt."""
    return write_three_class_folder(tmp_path_factory.mktemp("datasets") / "Shapes3", mnist, CLASSES,
                                    train_per_class=600, test_per_class=150)


@pytest.fixture(scope="module")
def shapes_home(shapes_folder, trained_home, tmp_path_factory):
    """A copy of the trained MNIST runs plus one fast run trained on Shapes3; yields (home, shapes run id)."""
    import shutil

    home = tmp_path_factory.mktemp("shapes-home") / "home"
    shutil.copytree(trained_home, home)
    store = RunStore(home)
    shapes = data.read_idx_folder(shapes_folder)
    job = training.new_job(store, "shapes fast", config.ModelConfig(architecture="fast"),
                           config.TrainConfig(epochs=2, batch_size=64), shapes)
    assert job.run() == "finished", job.progress().message
    return home, job.run_id


def app_environment(monkeypatch, home, folder, run_id):
    """Make ``home`` the app's home and register ``folder`` through MNIST_LAB_DATASETS; return (store, run id)."""
    monkeypatch.setenv("MNIST_LAB_HOME", str(home))
    monkeypatch.setenv("MNIST_LAB_DATASETS", str(folder))
    return RunStore(home), run_id


@pytest.fixture
def shapes_env(shapes_home, shapes_folder, monkeypatch):
    """The app's environment: the shapes home and Shapes3 registered through MNIST_LAB_DATASETS."""
    home, run_id = shapes_home
    return app_environment(monkeypatch, home, shapes_folder, run_id)


def test_a_run_records_its_dataset_and_gets_one_output_per_class(shapes_env, shapes_folder):
    store, run_id = shapes_env
    run = store.get(run_id)
    shapes = data.get_dataset("Shapes3")
    assert (run.dataset, run.dataset_sha256) == ("Shapes3", shapes.sha256)
    assert run.model_config["num_classes"] == 3
    assert RunModel.load(store, run).predict_images(shapes.x_test[:5]).shape == (5, 3)


def test_evaluation_uses_the_runs_dataset_with_its_class_names(shapes_env):
    store, run_id = shapes_env
    run = store.get(run_id)
    ev = evaluation.evaluate_run(store, run, lambda: RunModel.load(store, run))
    assert ev.summary["n"] == 450
    assert list(ev.per_class["class"]) == list(CLASSES)
    assert ev.summary["accuracy"] > 0.9  # three easy classes: far above chance (1/3)


def test_runs_of_different_datasets_cannot_be_compared(shapes_env):
    store, run_id = shapes_env
    mnist_run = next(run for run in store.list_runs() if run.dataset == "MNIST")
    runs = [store.get(run_id), store.get(mnist_run.id)]
    with pytest.raises(DatasetError, match="different datasets"):
        evaluation.check_comparable(runs)


def test_a_changed_dataset_is_refused_for_its_old_runs(shapes_env):
    _store, _run_id = shapes_env
    with pytest.raises(DatasetError, match="changed"):
        data.dataset_for_run("Shapes3", "0" * 64)


def test_the_report_describes_the_runs_dataset(shapes_env):
    store, run_id = shapes_env
    run = store.get(run_id)
    shapes = data.get_dataset("Shapes3")
    model = RunModel.load(store, run)
    ev = evaluation.evaluate_run(store, run, lambda: model, shapes)
    scores = model.predict_images(shapes.x_test)
    built = report.build_report(shapes, report.RunEvidence(run, model, ev, scores))
    text = report.to_markdown(report.reading_copy(built))
    assert "Shapes3" in text
    assert all(name in text for name in CLASSES)


@pytest.mark.parametrize("page", ["app_pages/data.py", "app_pages/train.py"])
def test_the_data_and_train_pages_show_the_chosen_dataset(shapes_env, page):
    at = open_app_page("app_pages/data.py")
    at.selectbox(key="sidebar_dataset_picker").set_value("Shapes3").run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    shown = " ".join(str(element.value) for element in [*at.markdown, *at.caption, *at.title])
    assert "Shapes3" in shown
    if page == "app_pages/data.py":
        assert all(f"**{name}**" in shown for name in CLASSES)
    else:
        assert "output: 3 class probabilities" in shown


@pytest.mark.parametrize("page", ["app_pages/predict.py", "app_pages/evaluate.py", "app_pages/report.py"])
def test_the_run_pages_use_the_active_runs_dataset(shapes_env, page):
    _store, run_id = shapes_env
    at = open_app_page(page, active_run=run_id)
    shown = " ".join(str(element.value) for element in [*at.markdown, *at.caption, *at.info, *at.warning])
    assert "Shapes3" in shown or page == "app_pages/predict.py"
    if page == "app_pages/predict.py":
        options = at.selectbox(key="predict_true").options
        assert options == ["any", *CLASSES]
        open_tab(at, "predict_tab", "Your own digit")
        assert [str(option) for option in at.segmented_control(key="predict_input").options] == ["Upload"]
    if page == "app_pages/evaluate.py":
        open_tab(at, "evaluate_tab", "Confusion matrix")
        assert at.selectbox(key="evaluate_true").options == list(CLASSES)
