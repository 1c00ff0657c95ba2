"""Memory with the engine: the server while a worker trains with 20 sessions on pages, a worker across five
trainings, and the whole app with worker processes against one worker thread in the server.

1. Server and worker: this process is the server (Streamlit's AppTest, 20 sessions spread over the Data, Train,
   Evaluate and Predictions pages, the last two with a trained run's model loaded) while the embedded cluster's
   worker trains ``fast`` on full MNIST; RSS sampled every 50 ms. Then five trainings in a row: the worker's RSS
   after each. Target: worker growth from the 1st to the 5th at most 150 MB.
2. Processes against threads (``MNIST_LAB_WORKERS=threads``, the choice for hosts under
   ``cluster_plan.PROCESSES_FROM_BYTES``): the peak of the server, and of server + cluster process + worker, during one
   training on full MNIST, each case in a fresh process.
Usage: python benchmarks/engine_memory.py [--sessions 20] [--runs 5] [--limit 0] [--skip-modes]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from engine_common import machine, rss_mb, wait_for_warm_workers

ROOT = Path(__file__).resolve().parent.parent
GROWTH_TARGET_MB = 150
PAGES = ("app_pages/data.py", "app_pages/train.py", "app_pages/evaluate.py", "app_pages/predict.py")


class Sampler(threading.Thread):
    """Sample the RSS of some processes every 50 ms and keep each one's peak and the peak of their sum."""

    def __init__(self, pids: dict[str, int]):
        super().__init__(daemon=True)
        self.pids, self.peaks, self.total = pids, dict.fromkeys(pids, 0.0), 0.0
        self.running = True

    def run(self) -> None:
        while self.running:
            now = {name: rss_mb(pid) for name, pid in self.pids.items()}
            self.peaks = {name: max(self.peaks[name], value) for name, value in now.items()}
            self.total = max(self.total, sum(now.values()))
            time.sleep(0.05)


def engine_pids(trainer) -> dict[str, int]:
    """The embedded cluster's process and its worker, by their process ids."""
    client = trainer.engine.client()
    worker = next(iter(client.run(os.getpid).values()))
    return {"cluster": int(Path(f"/proc/{worker}/stat").read_text().split()[3]), "worker": worker}


def server_and_worker(sessions: int, runs: int, limit: int) -> tuple[bool, dict]:
    from streamlit.testing.v1 import AppTest

    from mnist_lab.models import config
    from ui import resources

    trainer = resources.trainer()
    wait_for_warm_workers(trainer.engine, 1)
    first = trainer.start("for the pages", config.ModelConfig(architecture="fast"),
                          config.TrainConfig(epochs=1, train_limit=5000))
    first.join()
    pids = {"server": os.getpid(), **engine_pids(trainer)}
    print(f"server before any session: {rss_mb():.0f} MB; worker {rss_mb(pids['worker']):.0f} MB", flush=True)
    opened = []
    for index in range(sessions):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
        at.run()
        at.switch_page(PAGES[index % len(PAGES)]).run()
        opened.append(at)
    print(f"server with {sessions} sessions on pages: {rss_mb():.0f} MB", flush=True)
    sampler = Sampler(pids)
    sampler.start()
    job = trainer.start("while 20 sessions", config.ModelConfig(architecture="fast"),
                        config.TrainConfig(epochs=1, train_limit=limit))
    while not job.join(1.0):
        for at in opened[:4]:  # some sessions keep clicking while it trains
            at.run()
    sampler.running = False
    print(f"while the worker trains (full MNIST): peak server {sampler.peaks['server']:.0f} MB, worker "
          f"{sampler.peaks['worker']:.0f} MB, cluster process {sampler.peaks['cluster']:.0f} MB", flush=True)
    after = []
    for index in range(runs):
        job = trainer.start(f"memory {index + 1}", config.ModelConfig(architecture="fast"),
                            config.TrainConfig(epochs=1, train_limit=limit))
        job.join()
        after.append(rss_mb(job.worker["pid"]))
        print(f"worker after training {index + 1}: {after[-1]:.0f} MB (server {rss_mb():.0f} MB)", flush=True)
    growth = after[-1] - after[0]
    print(f"worker growth from training 1 to {runs}: {growth:+.0f} MB (target at most {GROWTH_TARGET_MB} MB)")
    return growth <= GROWTH_TARGET_MB, {"server_peak": sampler.peaks["server"], "worker_peak": sampler.peaks["worker"]}


def one_mode(mode: str, limit: int) -> dict:
    """Peaks of one training on full MNIST with the engine in ``mode`` (``1`` process or ``threads``)."""
    from mnist_lab import training
    from mnist_lab.models import config
    from mnist_lab.runs import store as run_store

    trainer = training.Trainer(run_store.RunStore(tempfile.mkdtemp(prefix="mnist-lab-bench-mode-")))
    wait_for_warm_workers(trainer.engine, 1)
    pids = {"server": os.getpid()} if mode == "threads" else {"server": os.getpid(), **engine_pids(trainer)}
    sampler = Sampler(pids)
    sampler.start()
    job = trainer.start("mode", config.ModelConfig(architecture="fast"), config.TrainConfig(epochs=1, train_limit=limit))
    job.join()
    sampler.running = False
    return {"peaks": sampler.peaks, "total": sampler.total}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--limit", type=int, default=0, help="training images, 0 = all")
    parser.add_argument("--skip-modes", action="store_true")
    parser.add_argument("--mode", help=argparse.SUPPRESS)  # one mode, in a child process
    args = parser.parse_args()
    os.environ["MNIST_LAB_HOME"] = os.environ.get("MNIST_LAB_HOME") or tempfile.mkdtemp(prefix="mnist-lab-memory-")
    os.environ.pop("MNIST_LAB_SCHEDULER", None)
    if args.mode:
        os.environ["MNIST_LAB_WORKERS"] = args.mode
        print(json.dumps(one_mode(args.mode, args.limit)))
        return 0
    os.environ["MNIST_LAB_WORKERS"] = "1"
    sys.path.insert(0, str(ROOT))  # the app's ui package, as streamlit run finds it
    print(f"machine: {machine()}")
    ok, _ = server_and_worker(args.sessions, args.runs, args.limit)
    if not args.skip_modes:
        for mode in ("1", "threads"):
            done = subprocess.run([sys.executable, __file__, "--mode", mode, "--limit", str(args.limit)],
                                  capture_output=True, text=True, check=False)
            if done.returncode:
                print(done.stderr[-3000:])
                return 1
            result = json.loads(done.stdout.strip().splitlines()[-1])
            parts = ", ".join(f"{name} {value:.0f} MB" for name, value in result["peaks"].items())
            print(f"one full-MNIST training, {'worker processes' if mode == '1' else 'worker thread in the server'}: "
                  f"peaks {parts}; all processes together {result['total']:.0f} MB", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
