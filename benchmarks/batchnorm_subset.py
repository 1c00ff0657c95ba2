"""Why the default preset collapses on a small subset: batch normalisation's running averages, measured.

Trains the `fast` preset as it is but on ``--images`` training images (one epoch), then reads the first 2,000 test
images twice with the same weights: as Keras predicts (batch normalisation with its running averages) and with each
batch's own statistics (as in training). A large difference confirms the cause the Train page names for a collapse
on new images (`mnist_lab.training.diagnosis.generalisation`).

Usage: python benchmarks/batchnorm_subset.py [--images 3000]
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np

from mnist_lab import training
from mnist_lab.data import shared_mnist
from mnist_lab.models import config, presets
from mnist_lab.predictions.inference import load_model_file
from mnist_lab.runs import store as run_store

TEST_IMAGES = 2000
BATCH = 128


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3000, help="training images (10%% of them held out)")
    args = parser.parse_args()
    chosen = presets.preset("fast")
    with tempfile.TemporaryDirectory() as home:
        store = run_store.RunStore(home)
        job = training.new_job(store, "subset", chosen.model, config.replace(chosen.train, train_limit=args.images))
        job.run()
        run = store.get(job.run_id)
        first = run.history[0]
        model = load_model_file(store.model_path(run.id), run.name)
        data = shared_mnist()
        images, labels = data.x_test[:TEST_IMAGES, ..., np.newaxis], data.y_test[:TEST_IMAGES]
        averages = np.argmax(model.predict(images, verbose=0), axis=1)
        own = np.concatenate([np.argmax(model(images[i:i + BATCH], training=True).numpy(), axis=1)
                              for i in range(0, TEST_IMAGES, BATCH)])
    print(f"fast preset, {args.images:,} training images, 1 epoch: training accuracy {first['accuracy']:.1%}, "
          f"validation accuracy {first['val_accuracy']:.1%}")
    print(f"first {TEST_IMAGES:,} test images, the same weights: {np.mean(averages == labels):.1%} with the running "
          f"averages (as predicted), {np.mean(own == labels):.1%} with each batch's own statistics")


if __name__ == "__main__":
    main()
