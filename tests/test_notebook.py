"""The exported notebook: valid, complete, the app's own network and training in plain Keras, and when executed with
nbclient against the bundled MNIST files it reaches the run's test accuracy. Also the reproducibility card."""

import gzip
import hashlib
import importlib.metadata
import json
import math
import platform
import re
import shutil
import subprocess
import sys
from types import SimpleNamespace

import keras
import nbformat
import numpy as np
import pytest
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager
from keras import layers
from nbclient import NotebookClient
from streamlit.testing.v1 import AppTest

import mnist_lab
from mnist_lab import access, cli, report, workbook
from mnist_lab.data import MNIST, MNIST_SHA256, read_idx_folder, shared_mnist, write_idx
from mnist_lab.data.checksums import combined_sha256
from mnist_lab.data.datasets import BUNDLED
from mnist_lab.models import architectures, config, optim, used_settings
from mnist_lab.report import card, notebook_code, notebook_model
from mnist_lab.report.notebook import TOLERANCE_POINTS
from mnist_lab.runs.store import Run, RunStore
from tests.server import ROOT

KERNEL = "mnist-lab-tests"
MNIST_FOLDER = BUNDLED / MNIST.folder


@pytest.fixture(scope="module")
def exported(trained_home, tmp_path_factory):
    """The run "small fast" (fast, 2,000 images, 2 epochs, trained by the app's engine), its evidence and report."""
    home = tmp_path_factory.mktemp("notebook") / "home"
    shutil.copytree(trained_home, home)
    store = RunStore(home)
    run = store.get(next(run.id for run in store.list_runs() if run.name == "small fast"))
    evidence, built = report.report_of_run(store, run, shared_mnist())
    return SimpleNamespace(home=home, run=run, evidence=evidence, report=built,
                           notebook=report.build_notebook(evidence, shared_mnist(), report.reading_copy(built)))


@pytest.fixture(scope="module")
def kernel_specs(tmp_path_factory):
    """A kernel spec that runs this interpreter, in a folder of its own: the kernel sees this project's packages."""
    folder = tmp_path_factory.mktemp("jupyter") / "kernels"
    (folder / KERNEL).mkdir(parents=True)
    # Importing Streamlit sets MPLBACKEND=Agg in this process, which the kernel would inherit: no figures as outputs.
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "MNIST Lab tests", "language": "python",
            "env": {"MPLBACKEND": "module://matplotlib_inline.backend_inline"}}
    (folder / KERNEL / "kernel.json").write_text(json.dumps(spec))
    return KernelSpecManager(kernel_dirs=[str(folder)])


def execute(notebook, kernel_specs, cwd):
    """Run every cell in a fresh kernel; nbclient raises CellExecutionError at the first cell that fails."""
    manager = KernelManager(kernel_name=KERNEL, kernel_spec_manager=kernel_specs)
    NotebookClient(notebook, km=manager, timeout=600, resources={"metadata": {"path": str(cwd)}}).execute()
    return notebook


def printed(notebook) -> str:
    return "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                   for output in cell.outputs if output.output_type == "stream")


def sources(notebook) -> list[str]:
    return [cell.source for cell in notebook.cells]


def code_cell(notebook, tag):
    return next(cell for cell in notebook.cells if tag in cell.metadata.get("tags", []))


# The notebook as a document


def test_notebook_is_valid_and_answers_every_question_in_order(exported):
    notebook = exported.notebook
    nbformat.validate(notebook)
    assert nbformat.reads(report.to_ipynb(notebook), as_version=4) == notebook
    markdown = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    headings = [next(text for text in markdown if text.startswith(f"### {q.number}. ")) for q in report.QUESTIONS]
    assert [markdown.index(text) for text in headings] == sorted(markdown.index(text) for text in headings)
    for q, text in zip(report.QUESTIONS, headings):  # a reading copy: MNIST Lab's explanation under each heading
        assert exported.report.answer(q.id).text in markdown[markdown.index(text) + 1]
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert "mnist_lab" not in code
    assert all(not cell.outputs and cell.execution_count is None for cell in notebook.cells if cell.cell_type == "code")


def test_first_code_cell_holds_the_runs_parameters(exported):
    first = next(cell for cell in exported.notebook.cells if cell.cell_type == "code")
    assert first.metadata["tags"] == [notebook_code.PARAMETERS]
    values = {}
    exec(first.source, values)
    train = exported.run.train_config
    assert (values["EPOCHS"], values["TRAIN_LIMIT"], values["SEED"], values["DATA_DIR"]) == (
        train["epochs"], train["train_limit"], train["seed"], None)
    assert (values["BATCH_SIZE"], values["VALIDATION_FRACTION"]) == (train["batch_size"], train["validation_fraction"])


def test_first_cell_tells_what_to_expect_and_the_card_follows(exported):
    intro, card_cell = exported.notebook.cells[0].source, exported.notebook.cells[1].source
    assert f"**{exported.evidence.evaluation.summary['accuracy']:.2%}**" in intro
    assert f"within {TOLERANCE_POINTS} percentage points" in intro and "come from MNIST Lab" not in intro
    assert f"Keras {keras.__version__}" in intro
    assert card_cell == card.to_markdown(card.reproducibility_card(exported.run))


def test_with_outputs_carries_the_apps_evidence_and_says_so(exported):
    notebook = report.build_notebook(exported.evidence, shared_mnist(), report.reading_copy(exported.report), with_outputs=True)
    nbformat.validate(notebook)
    assert "**The outputs in this notebook come from MNIST Lab, not from running it.**" in notebook.cells[0].source
    outputs = [cell.outputs for cell in notebook.cells if cell.cell_type == "code" and cell.outputs]
    assert len(outputs) == sum(1 for answer in exported.report.answers if answer.evidence)
    kinds = [kind for cell in outputs for output in cell for kind in output.data]
    assert {"image/png", "text/html", "text/markdown"} <= set(kinds)
    assert not any(code.execution_count for code in notebook.cells if code.cell_type == "code")
    pictures = [output.data["image/png"] for cell in outputs for output in cell if "image/png" in output.data]
    assert all(base64_png(picture) for picture in pictures)
    charts = sum(isinstance(item, report.Chart) for answer in exported.report.answers for item in answer.evidence)
    images = sum(isinstance(item, report.Images) for answer in exported.report.answers for item in answer.evidence)
    assert len(pictures) == charts + images


def base64_png(text: str) -> bool:
    import base64

    return base64.b64decode(text).startswith(b"\x89PNG\r\n\x1a\n")


def test_set_parameters_adds_papermills_cell_and_refuses_unknown_names(exported):
    changed = report.set_parameters(exported.notebook, EPOCHS=1, DATA_DIR="/data")
    index = changed.cells.index(code_cell(changed, notebook_code.PARAMETERS))
    assert changed.cells[index + 1].metadata["tags"] == ["injected-parameters"]
    assert "EPOCHS = 1\nDATA_DIR = '/data'" in changed.cells[index + 1].source
    assert len(changed.cells) == len(exported.notebook.cells) + 1
    with pytest.raises(KeyError, match="LEARNING_RATE"):
        report.set_parameters(exported.notebook, LEARNING_RATE=0.1)


# The code of the notebook is the app's network and training


MODEL_CASES = [
    *(config.ModelConfig(architecture=key) for key in architectures.ARCHITECTURES),
    config.ModelConfig(architecture="deep", augment=True),
    config.ModelConfig(architecture="fast", scale_inputs=False),
    config.ModelConfig(architecture="custom", batch_norm=False, pooling="avg", dropout=0.0, dense_units=0,
                       conv_blocks=3, kernel_size=5, activation="gelu"),
    config.ModelConfig(architecture="custom", pooling="none", conv_blocks=1, filters=8, num_classes=26),
    config.ModelConfig(architecture="mlp", hidden_layers=(64, 32), dropout=0.3, activation="tanh"),
]


@pytest.mark.parametrize("model_config", MODEL_CASES, ids=[f"{c.architecture}-{i}" for i, c in enumerate(MODEL_CASES)])
def test_model_cell_builds_the_apps_network_with_the_same_initial_weights(model_config):
    keras.utils.set_random_seed(7)
    app = architectures.build_model(model_config)
    values = {"keras": keras, "layers": layers, "SEED": 7, "NUM_CLASSES": model_config.num_classes}
    exec(notebook_model.build_model(model_config).replace("model.summary()", ""), values)
    ours = values["model"]
    assert [type(layer).__name__ for layer in ours.layers] == [type(layer).__name__ for layer in app.layers]
    assert [layer.get_config() | {"name": ""} for layer in ours.layers[1:]] == [
        layer.get_config() | {"name": ""} for layer in app.layers[1:]]
    assert all(np.array_equal(a, b) for a, b in zip(ours.get_weights(), app.get_weights(), strict=True))
    images = np.random.default_rng(0).integers(0, 256, (4, 28, 28, 1)).astype(np.uint8)
    outputs = []
    for model in (app, ours):  # dropout and augmentation draw the same random numbers too
        keras.utils.set_random_seed(1)
        outputs.append(np.asarray(model(images, training=True)))
    assert np.array_equal(*outputs)


TRAIN_CASES = [
    config.TrainConfig(loss="sparse_categorical_crossentropy", optimizer="adam", schedule="constant"),
    config.TrainConfig(loss="label_smoothing_crossentropy", label_smoothing=0.2, optimizer="sgd", schedule="cosine",
                       learning_rate=0.05),
    config.TrainConfig(loss="mse", optimizer="sgd_momentum", schedule="one_cycle", learning_rate=0.05),
    config.TrainConfig(loss="categorical_hinge", optimizer="adamw", schedule="constant"),
    config.TrainConfig(optimizer="rmsprop", schedule="one_cycle", learning_rate=5e-3),
    config.TrainConfig(optimizer="adagrad", schedule="cosine", learning_rate=0.05),
    config.TrainConfig(optimizer="nadam"),
]


@pytest.mark.parametrize("train_config", TRAIN_CASES, ids=lambda c: f"{c.loss}-{c.optimizer}-{c.schedule}")
def test_compile_cell_trains_exactly_as_the_app(train_config):
    train_config = config.replace(train_config, epochs=2, batch_size=32)
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (200, 28, 28, 1)).astype(np.uint8), rng.integers(0, 10, 200)
    steps = math.ceil(len(labels) / train_config.batch_size)
    weights = []
    for compile_model in (lambda model: optim.compile_model(model, train_config, steps),
                          lambda model: exec(notebook_model.compile_model(train_config), {
                              "keras": keras, "math": math, "model": model, "y_train": labels,
                              "BATCH_SIZE": train_config.batch_size, "EPOCHS": train_config.epochs})):
        keras.utils.set_random_seed(3)
        model = architectures.build_model(config.ModelConfig(architecture="perceptron"))
        compile_model(model)
        model.fit(images, labels, batch_size=train_config.batch_size, epochs=train_config.epochs, verbose=0)
        weights.append(model.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(*weights, strict=True))


# The data cell


def run_data_cell(dataset, sha256, class_names, data_dir):
    values = {"np": np, "DATA_DIR": data_dir}
    exec("import gzip, hashlib, os, struct\nimport keras", values)
    exec(notebook_code.load_data(dataset, sha256, class_names), values)
    return values


def test_data_cell_reads_the_mnist_files_from_data_dir_or_the_environment(monkeypatch, mnist):
    values = run_data_cell("MNIST", MNIST_SHA256, mnist.class_names, str(MNIST_FOLDER))
    for name, expected in (("x_train_all", mnist.x_train), ("y_train_all", mnist.y_train), ("x_test", mnist.x_test),
                           ("y_test", mnist.y_test)):
        assert np.array_equal(values[name], expected), name
    monkeypatch.setenv("MNIST_DATA_DIR", str(MNIST_FOLDER))
    assert np.array_equal(run_data_cell("MNIST", MNIST_SHA256, mnist.class_names, None)["y_test"], mnist.y_test)


def test_data_cell_refuses_files_that_are_not_the_runs(tmp_path, mnist):
    shutil.copytree(MNIST_FOLDER, tmp_path / "mnist")
    labels = tmp_path / "mnist" / MNIST.test_labels.filename
    content = bytearray(gzip.decompress(labels.read_bytes()))
    content[-1] = (content[-1] + 1) % 10
    labels.write_bytes(gzip.compress(bytes(content)))
    with pytest.raises(ValueError, match="not the run's data"):
        run_data_cell("MNIST", MNIST_SHA256, mnist.class_names, str(tmp_path / "mnist"))


def test_data_cell_of_another_dataset_needs_data_dir_and_reads_it_as_the_app_does(tmp_path):
    folder = tmp_path / "emnist-demo"  # 'emnist' in the name: stored transposed, as the app reads it
    folder.mkdir()
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (30, 28, 28), dtype=np.uint8), rng.integers(0, 3, 30, dtype=np.uint8),
              rng.integers(0, 256, (12, 28, 28), dtype=np.uint8), rng.integers(0, 3, 12, dtype=np.uint8)]
    for role, array in zip(("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                            "t10k-labels-idx1-ubyte"), arrays):
        write_idx(folder / f"emnist-demo-{role}.gz", array, compress=True)
    app = read_idx_folder(folder)
    values = run_data_cell(app.name, app.sha256, app.class_names, str(folder))
    assert np.array_equal(values["x_train_all"], app.x_train) and np.array_equal(values["y_test"], app.y_test)
    assert not np.array_equal(values["x_train_all"], arrays[0])
    assert values["CLASS_NAMES"] == list(app.class_names)
    with pytest.raises(ValueError, match="downloads MNIST only"):
        run_data_cell(app.name, app.sha256, app.class_names, None)


# Executed: the notebook trains the run again


@pytest.mark.notebook
def test_executed_notebook_reaches_the_runs_test_accuracy(exported, kernel_specs, tmp_path):
    notebook = execute(report.set_parameters(exported.notebook, DATA_DIR=str(MNIST_FOLDER)), kernel_specs, tmp_path)
    text = printed(notebook)
    accuracy = float(re.search(r"Test accuracy: (\d\.\d+)", text).group(1))
    expected = exported.evidence.evaluation.summary["accuracy"]
    assert abs(accuracy - expected) * 100 <= TOLERANCE_POINTS, (accuracy, expected)
    assert expected > 0.5  # a run that learned something, so that matching it means something
    assert "ValueError: " in text and "expected axis -1 of input shape to have value 1" in text  # B9
    pictures = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
                if "image/png" in output.get("data", {})]
    assert len(pictures) >= 5  # digits, predictions, ROC and recall, curves, confusion matrix


# The command line and the Report page


@pytest.mark.slow  # the command line in a subprocess: 4-5 s
def test_command_line_writes_the_notebook(exported, tmp_path, capsys):
    target = tmp_path / "run.ipynb"
    home = str(exported.home)
    assert cli.main(["notebook", exported.run.id, "-o", str(target), "--student", "Jo Student", "--home", home]) == 0
    written = nbformat.reads(target.read_text(), as_version=4)
    code = [cell.source for cell in written.cells if cell.cell_type == "code"]
    assert code == [cell.source for cell in exported.notebook.cells if cell.cell_type == "code"]
    assert written.cells[0].source.startswith("# MNIST assignment by Jo Student: run small fast")
    assert workbook.student_name(RunStore(exported.home)) == "Jo Student"  # kept for the next hand-in
    verdict = workbook.verify_handin(RunStore(exported.home, user=access.SERVER), target.read_bytes(), "run.ipynb")
    assert verdict.status == workbook.GENUINE and verdict.fields["kind"] == "notebook"
    assert f"test accuracy {exported.evidence.evaluation.summary['accuracy']:.2%}" in capsys.readouterr().out
    assert cli.main(["notebook", exported.run.id, "-o", str(target), "--with-outputs", "--home", home]) == 0
    assert any(cell.get("outputs") for cell in nbformat.reads(target.read_text(), as_version=4).cells)
    with pytest.raises(SystemExit) as stopped:
        cli.main(["notebook", "20990101-000000-abcdef", "-o", str(target), "--home", home])
    assert stopped.value.code == 2


def test_report_page_offers_the_notebook_and_shows_the_card(exported, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_HOME", str(exported.home))
    workbook.set_student_name(RunStore(exported.home), "Jo Student")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["active_run"] = exported.run.id
    at.run()
    at.switch_page("app_pages/report.py").run()
    assert not at.exception, at.exception
    labels = [button.proto.label for button in at.get("download_button")]
    assert "Hand-in (notebook)" in labels
    # The app does not ship a notebook with outputs that running it did not make (the command line still can).
    assert not [label for label in labels if "outputs" in label]
    shown = next(e for e in at.expander if e.label.startswith("Reproducibility card")).markdown[0].value
    assert f"| Dataset SHA-256 | `{MNIST_SHA256}` |" in shown and f"`{exported.run.id}`" in shown


# The reproducibility card


def a_run() -> Run:
    return Run(id="20260101-120000-abcdef", name="my *run*", created=1_767_268_800.0, status="finished", message="",
               model_config=config.to_dict(config.ModelConfig()), train_config=config.to_dict(config.TrainConfig(seed=42)),
               reasons={}, metrics={"train_seconds": 331.4}, saved_epochs=2, dataset="MNIST", dataset_sha256=MNIST_SHA256)


def test_card_versions_are_those_of_this_interpreter():
    import sklearn
    import tensorflow

    versions = card.reproducibility_card(a_run()).versions
    assert versions == {"Python": platform.python_version(), "TensorFlow": tensorflow.__version__,
                        "Keras": keras.__version__, "NumPy": np.__version__, "scikit-learn": sklearn.__version__,
                        "MNIST Lab": mnist_lab.__version__}
    assert versions["Keras"] == importlib.metadata.version("keras")


def test_card_checksum_is_that_of_the_bundled_files(exported):
    made = card.reproducibility_card(exported.run)
    files = (MNIST.train_images, MNIST.train_labels, MNIST.test_images, MNIST.test_labels)
    bundled = [hashlib.sha256(gzip.decompress((MNIST_FOLDER / file.filename).read_bytes())).hexdigest()
               for file in files]
    assert made.dataset_sha256 == MNIST_SHA256 == combined_sha256(bundled) == shared_mnist().sha256


def test_card_holds_the_run_its_settings_and_the_machine():
    made = card.reproducibility_card(a_run())
    assert (made.seed, made.train_seconds, made.created) == (42, 331.4, "2026-01-01 12:00:00 UTC")
    assert made.cpu and made.cores >= 1
    text = card.to_markdown(made)
    assert "my \\*run\\* (`20260101-120000-abcdef`), finished" in text and "| Training time | 5 min 31 s |" in text
    assert f"| Machine | {made.cpu}, {made.cores} cores |" in text
    configs = json.loads(text.split("```json\n")[1].split("\n```")[0])
    assert configs == {"model": used_settings.network_settings(a_run().model_config),
                       "training": used_settings.training_settings(a_run().train_config)}
    # The default network is the fixed 'fast' one: none of the custom network's fields is listed as its setting.
    assert set(configs["model"]) == {"architecture", "scale_inputs", "augment", "num_classes"}
    assert "label_smoothing" not in configs["training"]  # plain cross-entropy smooths nothing


@pytest.mark.slow  # a fresh interpreter: 2-3 s
def test_making_a_card_imports_no_tensorflow(tmp_path):
    probe = ("import sys\nfrom mnist_lab.report import card\nfrom mnist_lab.runs.store import Run\n"
             "card.to_markdown(card.reproducibility_card(Run('20260101-120000-abcdef', 'r', 0.0, 'finished', '', {}, "
             "{}, {}, {}, 1)))\nprint(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={"MNIST_LAB_HOME": str(tmp_path), "PATH": ""})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
