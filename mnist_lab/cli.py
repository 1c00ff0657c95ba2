"""Command line: ``mnist-lab train --preset NAME ...`` runs the app's engine headless; ``mnist-lab datasets`` and
``mnist-lab import-dataset`` list and add datasets. ``python -m mnist_lab`` is the same command."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from mnist_lab import __version__, data, training
from mnist_lab.data import limits
from mnist_lab.errors import DatasetError, MnistLabError
from mnist_lab.models import config, presets
from mnist_lab.paths import HOME_ENV, default_home
from mnist_lab.runs import store as run_store

HOME_HELP = f"home directory of runs and datasets (default: ${HOME_ENV} or ~/.mnist_lab)"


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``mnist-lab`` (also ``python -m mnist_lab``)."""
    parser = argparse.ArgumentParser(prog="mnist-lab", description="MNIST Lab from the command line.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train a preset and store the run where the app finds it")
    train.add_argument("--preset", required=True, help=f"one of: {', '.join(presets.PRESETS)}")
    train.add_argument("--name", help="name of the run (default: the preset's name)")
    train.add_argument("--dataset", default=data.MNIST_NAME,
                       help="dataset to train on: MNIST (default), a folder named in $MNIST_LAB_DATASETS, or one "
                            "imported on the Data page")
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--lr", type=float, help="peak learning rate")
    train.add_argument("--limit", type=int, help="number of training images (0 = all)")
    train.add_argument("--validation", type=float, help="validation fraction, 0 to 0.5")
    train.add_argument("--seed", type=int)
    train.add_argument("--eval-test", action="store_true", help="measure test accuracy after every epoch")
    train.add_argument("--jsonl", action="store_true", help="print one JSON object per epoch")
    train.add_argument("--home", help=HOME_HELP)
    train.set_defaults(handler=run_train)
    listing = commands.add_parser("datasets", help="list the datasets runs can train on")
    listing.add_argument("--home", help=HOME_HELP)
    listing.set_defaults(handler=run_datasets)
    adding = commands.add_parser(
        "import-dataset",
        help="import a dataset into the home directory: a folder or .zip of the four MNIST-format files "
             "(with an optional classes.txt), or a folder of images in train/<class>/ and test/<class>/",
    )
    adding.add_argument("source", help="the folder or .zip to import")
    adding.add_argument("--name", required=True, help="the dataset's name (letters, digits, spaces, -_.)")
    adding.add_argument("--home", help=HOME_HELP)
    adding.set_defaults(handler=run_import)
    return parser


def train_config_from(args: argparse.Namespace, base: config.TrainConfig) -> config.TrainConfig:
    """Apply the command-line overrides to a preset's training config."""
    overrides = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "train_limit": args.limit,
        "validation_fraction": args.validation,
        "seed": args.seed,
    }
    return config.replace(base, **{key: value for key, value in overrides.items() if value is not None})


def run_train(args: argparse.Namespace) -> int:
    """Train as ``args`` say, printing progress; return the exit status."""
    chosen = presets.preset(args.preset)
    train_config = train_config_from(args, chosen.train)
    store = run_store.RunStore(args.home)
    dataset = data.get_dataset(args.dataset, _home(args))
    name = args.name or args.preset
    job = training.new_job(store, name, chosen.model, train_config, dataset, evaluate_test=args.eval_test)
    run_id = job.run_id
    job.on_epoch(lambda row: _print_epoch(row, args.jsonl))
    status = job.run()
    message = job.progress().message
    print(json.dumps({"run_id": run_id, "status": status, "message": message}) if args.jsonl else f"{status}: {message}")
    return 0 if status in (run_store.FINISHED, run_store.STOPPED) else 1


def run_datasets(args: argparse.Namespace) -> int:
    """Print each dataset's name, sizes and classes; return the exit status."""
    for name in data.dataset_names(_home(args)):
        try:
            chosen = data.get_dataset(name, _home(args))
        except MnistLabError as error:
            print(f"{name}: cannot be read: {error}")
            continue
        print(f"{name}: {len(chosen.y_train):,} training and {len(chosen.y_test):,} test images, "
              f"classes {', '.join(chosen.class_names)}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    """Import the dataset at ``args.source`` under ``args.name``; return the exit status."""
    source, home = Path(args.source), _home(args)
    if (source / "train").is_dir() and (source / "test").is_dir():
        imported = data.import_image_folder(source, args.name, home)
    else:
        files = sorted(source.iterdir()) if source.is_dir() else [source]
        if not source.exists():
            raise DatasetError(f"{source} does not exist")
        total = sum(path.stat().st_size for path in files if path.is_file())
        if total > limits.MAX_UPLOAD_BYTES:
            raise DatasetError(f"{source} holds {limits.format_bytes(total)}; the limit is "
                               f"{limits.format_bytes(limits.MAX_UPLOAD_BYTES)}")
        imported = data.import_idx_upload({path.name: path.read_bytes() for path in files if path.is_file()},
                                          args.name, home)
    print(f"imported {imported.name}: {len(imported.y_train):,} training and {len(imported.y_test):,} test images, "
          f"classes {', '.join(imported.class_names)}")
    return 0


def _home(args: argparse.Namespace) -> Path:
    """The home directory the command works in."""
    return Path(args.home) if args.home else default_home()


def _print_epoch(row: dict, as_json: bool) -> None:
    """Print one epoch's figures."""
    if as_json:
        print(json.dumps(row), flush=True)
        return
    figures = "  ".join(f"{key}={value:.4f}" for key, value in row.items() if isinstance(value, float))
    print(f"epoch {row['epoch']}: {figures}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; bad arguments exit with status 2 and a message."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except MnistLabError as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")

