"""Why the default preset collapses on a small subset: batch normalisation's running averages, measured.

Trains the `fast` preset as it is but on ``--images`` training images (one epoch), then reads the first 2,000 test
images twice with the same weights: as Keras predicts (batch normalisation with its running averages) and with each
batch's own statistics (as in training). A large difference confirms the cause the Train page names for a collapse
on new images (`mnist_lab.training.diagnosis.generalisation`). Then trains it for a range of subsets and epochs and
prints the test accuracy against the number of steps: where the Train form's warning
(`diagnosis.MIN_NORMALISED_STEPS`) comes from.

Usage: python benchmarks/batchnorm_subset.py [--images 3000] [--skip-steps]
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
#: (training images, epochs) of the steps table, fewest steps first.
TRAININGS = ((3000, 1), (5000, 1), (3000, 2), (7000, 1), (3000, 3), (10000, 1), (3000, 5))


def steps_table(chosen: presets.Preset) -> None:
    """Test accuracy of the fast preset against its number of steps, one training per row."""
    print("images  epochs  steps  test accuracy")
    for images, epochs in TRAININGS:
        with tempfile.TemporaryDirectory() as home:
            store = run_store.RunStore(home)
            train = config.replace(chosen.train, train_limit=images, epochs=epochs)
            job = training.new_job(store, "steps", chosen.model, train, evaluate_test=True)
            job.run()
            last = store.get(job.run_id).history[-1]
        trained = images - round(images * train.validation_fraction)
        steps = -(-trained // train.batch_size) * epochs
        print(f"{images:6,}  {epochs:6}  {steps:5}  {last['test_accuracy']:.2%}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3000, help="training images (10%% of them held out)")
    parser.add_argument("--skip-steps", action="store_true", help="only the running averages against the batches")
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
    if not args.skip_steps:
        steps_table(chosen)


if __name__ == "__main__":
    main()
