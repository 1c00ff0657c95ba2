"""The model a student downloads loads and predicts in plain Keras, in a Python where MNIST Lab cannot be imported."""

import subprocess
import sys

import numpy as np
import pytest

from mnist_lab import training
from mnist_lab.data import shared_mnist
from mnist_lab.models import config, presets
from mnist_lab.predictions.inference import portable_model_file

# A Python in which `import mnist_lab` fails: the model file may not need anything of ours.
PLAIN = """
import sys
sys.modules["mnist_lab"] = None
try:
    import mnist_lab
except ImportError:
    pass
else:
    raise SystemExit("mnist_lab is importable")
import numpy as np
import keras
model = keras.saving.load_model(sys.argv[1])
images = np.load(sys.argv[2])
print(" ".join(str(int(i)) for i in np.argmax(model.predict(images, verbose=0), axis=1)))
"""


@pytest.mark.slow  # a real fit of the default preset: 10 s
def test_the_downloaded_model_of_the_default_preset_loads_in_plain_keras(home, tmp_path):
    from mnist_lab.runs.store import RunStore

    store = RunStore(home)
    chosen = presets.preset("fast")
    assert chosen.train.schedule == "one_cycle" and chosen.train.loss != "sparse_categorical_crossentropy"
    job = training.new_job(store, "plain", chosen.model, config.replace(chosen.train, train_limit=600, epochs=1))
    job.run()
    run = store.get(job.run_id)
    path = tmp_path / "model.keras"
    path.write_bytes(portable_model_file(store, run))
    images = shared_mnist().x_test[:20]
    np.save(tmp_path / "images.npy", images)
    result = subprocess.run([sys.executable, "-c", PLAIN, str(path), str(tmp_path / "images.npy")],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    from mnist_lab.predictions.inference import RunModel

    ours = np.argmax(RunModel.load(store, run).predict_images(images), axis=1)
    assert result.stdout.split() == [str(int(i)) for i in ours]
