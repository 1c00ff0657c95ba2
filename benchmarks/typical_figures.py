"""The typical accuracies the registry texts quote: every preset trained as it is, and one epoch of `fast` per choice.

Each preset is trained on the full training split with its own settings (seed 0), measuring test accuracy after
every epoch; then the `fast` network is trained for one epoch at a constant learning rate with each optimizer and
loss the texts compare. The results, with the machine and the versions, are written to
`mnist_lab/models/measured_table.py`, which the texts of `mnist_lab.models` read (`mnist_lab.models.measured`).
Usage: python benchmarks/typical_figures.py [--only presets|choices] [--preset NAME ...]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import pprint
import sys
import tempfile
from pathlib import Path

from mnist_lab import training
from mnist_lab.models import config, measured, presets
from mnist_lab.runs import store as run_store

TABLE = Path(measured.__file__).with_name("measured_table.py")


def machine() -> str:
    """The CPU, its core count and the versions, in a few words."""
    import keras
    import tensorflow as tf

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown CPU")
    gpus = len(tf.config.list_physical_devices("GPU"))
    accelerators = f"{gpus} GPU{'s' * (gpus != 1)}" if gpus else "no GPU"
    return (f"{os.cpu_count()} cores of {model}, {accelerators}, Python "
            f"{platform.python_version()}, TensorFlow {tf.__version__}, Keras {keras.__version__}")


def train(store: run_store.RunStore, name: str, model: config.ModelConfig, train_config: config.TrainConfig) -> dict:
    """Train one run with test accuracy after every epoch; its per-epoch test accuracy.

    The seconds are printed but not kept: on a shared machine they measure its load as much as the network.
    """
    job = training.new_job(store, name, model, train_config, evaluate_test=True)
    rows: list[dict] = []
    job.on_epoch(rows.append)
    job.on_epoch(lambda row: print(f"  {name} epoch {row['epoch']}: {row['train_seconds']:.1f} s, "
                                   f"test {row.get('test_accuracy', float('nan')):.2%}", flush=True))
    if job.run() != run_store.FINISHED:
        raise RuntimeError(f"{name} did not finish: {job.progress().message}")
    return {"test_accuracy": [round(row["test_accuracy"], 4) for row in rows]}


def measure_presets(store: run_store.RunStore, table: dict, names: list[str] | None = None) -> None:
    """Every preset named in ``names`` (all by default) as it is, seed 0, the quickest first; the table is written
    after each."""
    chosen_presets = {name: chosen for name, chosen in presets.PRESETS.items() if names is None or name in names}
    for name, chosen in sorted(chosen_presets.items(), key=lambda item: item[1].train.epochs * _COST[item[0]]):
        table["PRESETS"][name] = train(store, name, chosen.model, chosen.train)
        write(table)


# Rough cost of an epoch relative to the perceptron's, only to train the quick presets first.
_COST = {"perceptron": 1, "mlp": 2, "fast": 4, "custom": 10, "lenet5": 8, "keras-classic": 8, "deep": 25}


def measure_choices(store: run_store.RunStore, table: dict) -> None:
    """One epoch of `fast` at a constant rate for each (optimizer, learning rate, loss) the texts compare."""
    model = config.ModelConfig(architecture="fast")
    for optimizer, rate, loss in measured.CHOICES:
        train_config = config.TrainConfig(optimizer=optimizer, learning_rate=rate, loss=loss, schedule="constant",
                                          batch_size=128, epochs=1, validation_fraction=0.1, seed=0)
        key = measured.choice_key(optimizer, rate, loss)
        table["CHOICES"][key] = train(store, key, model, train_config)
        write(table)


def write(table: dict) -> None:
    """Write the table as a Python module (no package data to declare, and readable in a diff)."""
    lines = ['"""Measured by benchmarks/typical_figures.py: do not edit by hand, run the benchmark again."""', ""]
    lines += [f"{name} = {pprint.pformat(value, width=116, sort_dicts=False)}" for name, value in table.items()]
    TABLE.write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=["presets", "choices"])
    parser.add_argument("--preset", action="append", choices=list(presets.PRESETS),
                        help="measure only this preset (repeatable); the others keep their figures")
    args = parser.parse_args()
    store = run_store.RunStore(tempfile.mkdtemp(prefix="mnist-lab-typical-"))
    table = {"MACHINE": machine(), "MEASURED_ON": datetime.date.today().isoformat(),
             "PRESETS": dict(measured.PRESETS), "CHOICES": dict(measured.CHOICE_RESULTS)}
    if args.only != "presets":
        measure_choices(store, table)
    if args.only != "choices":
        measure_presets(store, table, args.preset)
    print(f"written to {TABLE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
