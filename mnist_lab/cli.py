"""Command line: ``mnist-lab train --preset NAME ...`` runs the app's engine headless; ``mnist-lab datasets`` and
``mnist-lab import-dataset`` list and add datasets; ``mnist-lab notebook RUN_ID -o FILE`` exports a run as a Jupyter
notebook; ``mnist-lab verify FILE`` checks a student's hand-in against the receipts this server issued;
``mnist-lab archive export|import FILE.zip`` saves or restores the whole class; ``mnist-lab sweep --preset NAME --vary SETTING=VALUES`` queues a sweep on the Dask engine.
``python -m mnist_lab`` is the same command.

``train`` trains in this process unless a Dask scheduler is given (``--scheduler`` or ``MNIST_LAB_SCHEDULER``): one
training gains nothing from a worker process here, and saves the 6-11 s a fresh worker takes to import TensorFlow.
``sweep`` always goes through the engine (the embedded cluster when no scheduler is given), so its runs train in
parallel where workers allow. Either way this process is the run store's writer."""

from __future__ import annotations

import argparse
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path

from mnist_lab import __version__, access, archive, data, logs, report, training, workbook
from mnist_lab.data import limits
from mnist_lab.errors import ArchiveError, DatasetError, MnistLabError, WorkbookError
from mnist_lab.models import config, presets
from mnist_lab.paths import HOME_ENV, default_home
from mnist_lab.runs import store as run_store
from mnist_lab.runs.files import write_atomically
from mnist_lab.training import sweeps
from mnist_lab.training.server import cluster_plan, engine
from mnist_lab.training.server.trainer import SHUTDOWN_WAIT_SECONDS

HOME_HELP = f"home directory of runs and datasets (default: ${HOME_ENV} or ~/.mnist_lab)"
DATABASE_HELP = (f"SQLAlchemy URL of the run store's database, e.g. postgresql+psycopg://USER:PASSWORD@HOST/DB "
                 f"(default: ${run_store.DATABASE_ENV}, else runs.sqlite in the home)")
SCHEDULER_HELP = (f"address of a Dask scheduler whose workers train (default: ${cluster_plan.SCHEDULER_ENV}; for train, "
                  "none trains in this process; for sweep, none starts workers on this machine)")


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
    train.add_argument("--scheduler", help=SCHEDULER_HELP)
    train.add_argument("--home", help=HOME_HELP)
    train.add_argument("--database", help=DATABASE_HELP)
    train.set_defaults(handler=run_train)
    sweep = commands.add_parser("sweep", help="train a preset once per value of one or two settings, in parallel "
                                              "where workers allow, tagged as one sweep")
    sweep.add_argument("--preset", required=True, help=f"one of: {', '.join(presets.PRESETS)}")
    sweep.add_argument("--vary", action="append", required=True, metavar="SETTING=VALUES",
                       help=f"a setting ({', '.join(sweeps.SETTINGS)}) and its values: learning_rate=1e-4:1e-2:4 "
                            "(4 values on a log grid) or optimizer=adam,sgd; once or twice")
    sweep.add_argument("--name", help="name of the sweep (default: the preset's name)")
    sweep.add_argument("--dataset", default=data.MNIST_NAME, help="dataset to train on (default: MNIST)")
    for option, kind in (("--epochs", int), ("--batch-size", int), ("--lr", float), ("--limit", int),
                         ("--validation", float), ("--seed", int)):
        sweep.add_argument(option, type=kind, help="as for train; a varied setting overrides it")
    sweep.add_argument("--jsonl", action="store_true", help="print one JSON object per finished run")
    sweep.add_argument("--scheduler", help=SCHEDULER_HELP)
    sweep.add_argument("--home", help=HOME_HELP)
    sweep.add_argument("--database", help=DATABASE_HELP)
    sweep.set_defaults(handler=run_sweep)
    listing = commands.add_parser("datasets", help="list the datasets runs can train on")
    listing.add_argument("--home", help=HOME_HELP)
    listing.add_argument("--database", help=DATABASE_HELP)
    listing.set_defaults(handler=run_datasets)
    adding = commands.add_parser(
        "import-dataset",
        help="import a dataset into the home directory: a folder or .zip of the four MNIST-format files "
             "(with an optional classes.txt), or a folder of images in train/<class>/ and test/<class>/",
    )
    adding.add_argument("source", help="the folder or .zip to import")
    adding.add_argument("--name", required=True, help="the dataset's name (letters, digits, spaces, -_.)")
    adding.add_argument("--home", help=HOME_HELP)
    adding.add_argument("--database", help=DATABASE_HELP)
    adding.set_defaults(handler=run_import)
    notebook = commands.add_parser(
        "notebook", help="export a run as a Jupyter notebook that trains it again in plain Keras and answers the "
                         "assignment next to its code")
    notebook.add_argument("run_id", help="the run's id (printed by train --jsonl, shown in the app's run details)")
    notebook.add_argument("-o", "--output", required=True, help="the .ipynb file to write")
    notebook.add_argument("--student", help="the name to hand in under (kept for your next hand-ins); your login's or "
                                            "the one you gave before when absent")
    notebook.add_argument("--with-outputs", action="store_true",
                          help="put the app's figures and tables in the notebook as cell outputs")
    notebook.add_argument("--home", help=HOME_HELP)
    notebook.add_argument("--database", help=DATABASE_HELP)
    notebook.set_defaults(handler=run_notebook)
    verify = commands.add_parser(
        "verify", help="check a student's hand-in (HTML, PDF, Markdown .zip or notebook) against the receipts this "
                       "server issued: genuine, altered (naming each field that differs) or made by another server")
    verify.add_argument("file", help="the hand-in file")
    verify.add_argument("--home", help=HOME_HELP)
    verify.add_argument("--database", help=DATABASE_HELP)
    verify.set_defaults(handler=run_verify)
    archived = commands.add_parser(
        "archive", help="save the whole class (runs with their models, epochs, answers, names, settings, receipts, "
                        "the signing key and the imported datasets) to a .zip, or restore one; importing twice "
                        "adds nothing twice")
    archived.add_argument("action", choices=("export", "import"),
                          help="export: write the archive; import: check it whole, then restore what is not here yet")
    archived.add_argument("file", help="the archive (.zip); it holds the key that signs hand-ins: keep it private")
    archived.add_argument("--home", help=HOME_HELP)
    archived.add_argument("--database", help=DATABASE_HELP)
    archived.set_defaults(handler=run_archive)
    database = commands.add_parser("db", help="the run store's database: bring its schema up to date, or show it")
    database.add_argument("action", choices=("upgrade", "status"),
                          help="upgrade: apply the schema migrations the database lacks (the app also does on start); "
                               "status: show where the runs live and the schema revision")
    database.add_argument("--home", help=HOME_HELP)
    database.add_argument("--database", help=DATABASE_HELP)
    database.set_defaults(handler=run_db)
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
    store = _store(args)
    dataset = data.get_dataset(args.dataset, _home(args))
    name = args.name or args.preset
    if _use_scheduler(args):
        engine.shared().client()  # an unreachable scheduler is a clear error before any run is created
    job = training.new_job(store, name, chosen.model, train_config, dataset, evaluate_test=args.eval_test)
    run_id = job.run_id
    job.on_epoch(lambda row: _print_epoch(row, args.jsonl))
    if _use_scheduler(args):
        training.Trainer(store).queue(job)
        _wait_or_stop([job])
        status = job.progress().status
    else:
        status = job.run()
    message = job.progress().message
    print(json.dumps({"run_id": run_id, "status": status, "message": message}) if args.jsonl else f"{status}: {message}")
    return 0 if status in (run_store.FINISHED, run_store.STOPPED) else 1


def run_sweep(args: argparse.Namespace) -> int:
    """Queue a sweep as ``args`` say on the engine, print each run as it ends; return the exit status."""
    chosen = presets.preset(args.preset)
    train_config = train_config_from(args, chosen.train)
    axes = [sweeps.parse_axis(text) for text in args.vary]
    sweeps.points(chosen.model, train_config, axes)  # refuse a bad grid before starting anything
    store = _store(args)
    dataset = data.get_dataset(args.dataset, _home(args))
    _use_scheduler(args)
    jobs = sweeps.start(training.Trainer(store), args.name or args.preset, chosen.model, train_config, axes,
                        dataset=dataset)
    print(json.dumps({"sweep": jobs[0].experiment, "runs": len(jobs), "engine": engine.shared().description})
          if args.jsonl else f"sweep {jobs[0].experiment}: {len(jobs)} runs on {engine.shared().description}",
          flush=True)
    _wait_or_stop(jobs, lambda job: _print_sweep_run(store.get(job.run_id), args.jsonl))
    ended = sweeps.Sweep(jobs[0].experiment, args.name or args.preset, tuple(store.get(job.run_id) for job in jobs), ())
    best = ended.best()
    if best is not None:
        summary = {"best_run_id": best.id, "best": best.name, "test_accuracy": best.metrics["test_accuracy"]}
        print(json.dumps(summary) if args.jsonl else f"best: {best.name}, test accuracy {summary['test_accuracy']:.2%}")
    return 0 if all(run.status in (run_store.FINISHED, run_store.STOPPED) for run in ended.runs) else 1


def _use_scheduler(args: argparse.Namespace) -> bool:
    """Whether a scheduler is given; ``--scheduler`` is passed on to the engine through its variable."""
    if args.scheduler:
        os.environ[cluster_plan.SCHEDULER_ENV] = args.scheduler
    return bool(os.environ.get(cluster_plan.SCHEDULER_ENV, "").strip())


def _wait_or_stop(jobs: list, ended=None) -> None:
    """Wait for ``jobs`` to end, calling ``ended(job)`` as each does; Ctrl-C stops them (their models are kept)."""
    waiting = list(jobs)
    try:
        while waiting:
            for job in [job for job in waiting if job.join(0.2)]:
                waiting.remove(job)
                if ended is not None:
                    ended(job)
    except KeyboardInterrupt:
        for job in waiting:
            job.stop()
        for job in waiting:
            job.join(SHUTDOWN_WAIT_SECONDS)


def _print_sweep_run(run: run_store.Run, as_json: bool) -> None:
    """Print one run of a sweep as it ends."""
    accuracy = run.metrics.get("test_accuracy")
    if as_json:
        print(json.dumps({"run_id": run.id, "name": run.name, "status": run.status, "test_accuracy": accuracy,
                          "worker": run.metrics.get("worker", {}).get("worker")}), flush=True)
    else:
        figure = "" if accuracy is None else f", test accuracy {accuracy:.2%}"
        print(f"{run.status}: {run.name}{figure}", flush=True)


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
        imported = data.import_image_folder(source, args.name, home, database=args.database)
    else:
        files = sorted(source.iterdir()) if source.is_dir() else [source]
        if not source.exists():
            raise DatasetError(f"{source} does not exist")
        total = sum(path.stat().st_size for path in files if path.is_file())
        if total > limits.MAX_UPLOAD_BYTES:
            raise DatasetError(f"{source} holds {limits.format_bytes(total)}; the limit is "
                               f"{limits.format_bytes(limits.MAX_UPLOAD_BYTES)}")
        imported = data.import_idx_upload({path.name: path.read_bytes() for path in files if path.is_file()},
                                          args.name, home, database=args.database)
    print(f"imported {imported.name}: {len(imported.y_train):,} training and {len(imported.y_test):,} test images, "
          f"classes {', '.join(imported.class_names)}")
    return 0


def run_notebook(args: argparse.Namespace) -> int:
    """Write the notebook of run ``args.run_id`` to ``args.output``; return the exit status."""
    store = _store(args)
    run = store.get(args.run_id)
    dataset = data.dataset_for_run(run.dataset, run.dataset_sha256, _home(args))
    if args.student:
        workbook.set_student_name(store, args.student)
    evidence, built = report.report_of_run(store, run, dataset)
    handin = workbook.build_handin(store, evidence, built, kind="notebook")
    text = report.to_ipynb(report.build_notebook(evidence, dataset, handin, with_outputs=args.with_outputs))
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as error:
        raise run_store.StoreError(f"cannot write {args.output}: {error.strerror or error}") from error
    print(f"wrote {args.output}: run {run.name!r}, test accuracy {evidence.evaluation.summary['accuracy']:.2%}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """Check the hand-in ``args.file``; exit status 0 when genuine, 1 when altered, foreign or unsigned."""
    try:
        content = Path(args.file).read_bytes()
    except OSError as error:
        raise WorkbookError(f"cannot read {args.file}: {error.strerror or error}") from error
    store = _store(args, user=access.SERVER)
    verdict = workbook.verify_handin(store, content, Path(args.file).name)
    print(f"{verdict.status}: {verdict.message}")
    return 0 if verdict.status == workbook.GENUINE else 1


def run_archive(args: argparse.Namespace) -> int:
    """Export the class to ``args.file``, or import it from there; return the exit status."""
    store = _store(args, user=access.SERVER)
    path = Path(args.file)
    try:
        if args.action == "export":
            buffer = io.BytesIO()
            counts = archive.export_archive(store, buffer)["counts"]
            write_atomically(path, buffer.getvalue())
            print(f"wrote {path}: {counts['runs']} runs, {counts['models']} models, {counts['datasets']} datasets "
                  f"from {store.where}")
        else:
            with open(path, "rb") as source:
                print(archive.import_archive(store, source).message)
    except OSError as error:
        raise ArchiveError(f"cannot {'write' if args.action == 'export' else 'read'} {path}: "
                           f"{error.strerror or error}") from error
    return 0


def run_db(args: argparse.Namespace) -> int:
    """Upgrade the database's schema (opening the store applies what is missing), or show it."""
    store = _store(args, user=access.SERVER)
    if args.action == "upgrade":
        applied = store.upgraded
        print(f"{store.where}: " + (f"applied {', '.join(applied)}; " if applied else "already up to date; ")
              + store.schema_revision())
    else:
        print(f"runs live in {store.where}; {store.schema_revision()}")
    return 0


def _store(args: argparse.Namespace, *, user: access.User = access.PERSONAL) -> run_store.RunStore:
    """The run store of the command's home and database (``--database``, else the environment's)."""
    return run_store.RunStore(args.home, user=user, database=args.database,
                              database_setting="--database" if args.database else None)


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
    logs.configure(default="WARNING")
    if getattr(args, "database", None):
        # The library's own stores (a dataset's owners, the trainer's) read the database from the environment.
        os.environ[run_store.DATABASE_ENV] = args.database
    try:
        return args.handler(args)
    except MnistLabError as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")

