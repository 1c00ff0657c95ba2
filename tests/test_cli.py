"""`python -m mnist_lab train` runs the app's engine headless and stores the run where the app finds it."""

import json
import subprocess
import sys

import pytest

from mnist_lab.runs import store as run_store
from tests.server import ROOT


def cli(*args, home):
    return subprocess.run(
        [sys.executable, "-m", "mnist_lab", *args, "--home", str(home)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )


@pytest.mark.cluster
def test_jsonl_output_one_object_per_epoch(tmp_path):
    result = cli("train", "--preset", "perceptron", "--epochs", "2", "--limit", "600", "--eval-test", "--jsonl", home=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    epochs, final = lines[:-1], lines[-1]
    assert [row["epoch"] for row in epochs] == [1, 2]
    for row in epochs:
        assert {"epoch", "train_seconds", "loss", "accuracy", "val_loss", "val_accuracy", "test_accuracy"} <= set(row)
        assert 0.0 <= row["test_accuracy"] <= 1.0
    assert epochs[1]["train_seconds"] > epochs[0]["train_seconds"] > 0
    assert final["status"] == "finished"
    run = run_store.RunStore(tmp_path).get(final["run_id"])
    assert run.status == "finished" and run.saved_epochs == 2 and run.name == "perceptron"


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, fragment",
    [
        (["train", "--preset", "nope"], "no preset called 'nope'"),
        (["train", "--preset", "fast", "--epochs", "0"], "epochs must be between"),
        (["train", "--preset", "fast", "--lr", "-1"], "learning_rate must be above 0"),
        (["train", "--preset", "fast", "--limit", "5"], "at least 10 images"),
        (["train", "--preset", "fast", "--validation", "0.99"], "validation_fraction"),
        (["train", "--preset", "fast", "--batch-size", "x"], "invalid int value"),
        (["train"], "--preset"),
    ],
)
def test_bad_arguments_exit_with_a_message(tmp_path, args, fragment):
    result = cli(*args, home=tmp_path)
    assert result.returncode == 2
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.cluster
def test_a_png_folder_is_imported_listed_and_trained_on(tmp_path, mnist):
    from PIL import Image

    source = tmp_path / "pngs"
    for split, images, labels in (("train", mnist.x_train[:900], mnist.y_train[:900]),
                                  ("test", mnist.x_test[:300], mnist.y_test[:300])):
        for index, (image, label) in enumerate(zip(images, labels)):
            if label in (0, 1, 7):
                folder = source / split / {0: "zero", 1: "one", 7: "seven"}[int(label)]
                folder.mkdir(parents=True, exist_ok=True)
                Image.fromarray(image).save(folder / f"{index}.png")
    imported = cli("import-dataset", str(source), "--name", "Three digits", home=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "classes one, seven, zero" in imported.stdout
    listed = cli("datasets", home=tmp_path)
    assert listed.stdout.splitlines()[0].startswith("MNIST: 60,000 training and 10,000 test images")
    assert "Three digits:" in listed.stdout
    trained = cli("train", "--preset", "perceptron", "--dataset", "Three digits", "--epochs", "1", "--jsonl",
                  home=tmp_path)
    assert trained.returncode == 0, trained.stderr
    run = run_store.RunStore(tmp_path).get(json.loads(trained.stdout.splitlines()[-1])["run_id"])
    assert run.dataset == "Three digits" and run.model_config["num_classes"] == 3


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["train", "--preset", "fast", "--dataset", "Nope"], "Nope"),
        (["import-dataset", "/no/such/folder", "--name", "x"], "does not exist"),
        (["import-dataset", "/tmp", "--name", "MNIST"], "MNIST"),
    ],
)
@pytest.mark.slow  # the command line in a subprocess: 3 s a case
def test_bad_dataset_arguments_exit_with_a_message(tmp_path, args, fragment):
    result = cli(*args, home=tmp_path)
    assert result.returncode == 2, result.stdout
    assert fragment in result.stderr and "Traceback" not in result.stderr
