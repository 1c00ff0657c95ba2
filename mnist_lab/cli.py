"""Command line: ``python -m mnist_lab train --preset NAME ...`` runs the app's engine headless."""

from __future__ import annotations

import argparse
import json
from typing import Sequence

from mnist_lab.models import config, presets
from mnist_lab.runs import store as run_store
from mnist_lab import training


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``python -m mnist_lab``."""
    parser = argparse.ArgumentParser(prog="python -m mnist_lab", description="MNIST Lab from the command line.")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train a preset and store the run where the app finds it")
    train.add_argument("--preset", required=True, help=f"one of: {', '.join(presets.PRESETS)}")
    train.add_argument("--name", help="name of the run (default: the preset's name)")
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--lr", type=float, help="peak learning rate")
    train.add_argument("--limit", type=int, help="number of training images (0 = all)")
    train.add_argument("--validation", type=float, help="validation fraction, 0 to 0.5")
    train.add_argument("--seed", type=int)
    train.add_argument("--eval-test", action="store_true", help="measure test accuracy after every epoch")
    train.add_argument("--jsonl", action="store_true", help="print one JSON object per epoch")
    train.add_argument("--home", help=f"run store directory (default: ${run_store.HOME_ENV} or ~/.mnist_lab)")
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
    reasons = training.reasons_for(chosen.model, train_config)
    name = args.name or args.preset
    run_id = store.create_run(name, config.to_dict(chosen.model), config.to_dict(train_config), reasons)
    job = training.TrainingJob(run_id, name, chosen.model, train_config, store, evaluate_test=args.eval_test)
    job.on_epoch(lambda row: _print_epoch(row, args.jsonl))
    status = job.run()
    message = job.progress().message
    print(json.dumps({"run_id": run_id, "status": status, "message": message}) if args.jsonl else f"{status}: {message}")
    return 0 if status in (run_store.FINISHED, run_store.STOPPED) else 1


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
        return run_train(args)
    except (config.ConfigError, run_store.StoreError, run_store.RunNameError) as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")

