"""Stop on a busy machine: two CPU-burning processes beside the engine, then the seconds from Stop to the run's
final status (stored), for the ``fast`` preset on 20,000 images stopped after its 30th batch.

Target (issue 15): at most 5 s, the median of ``--trials`` stops. The partial epoch's validation and test passes
are skipped by the stop (``mnist_lab.training.worker.fit``); its model is saved.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile

from engine_common import machine
from engine_speed import latencies

from mnist_lab.runs import store as run_store
from mnist_lab.training.server import cluster_plan, engine

TARGET_SECONDS = 5.0


@contextlib.contextmanager
def burners(count: int):
    """``count`` processes that burn one CPU each until the block ends."""
    processes = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for process in processes:
            process.kill()
            process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--burners", type=int, default=2)
    args = parser.parse_args()
    os.environ.pop(cluster_plan.SCHEDULER_ENV, None)
    os.environ[cluster_plan.WORKERS_ENV] = "1"
    store = run_store.RunStore(tempfile.mkdtemp(prefix="mnist-lab-bench-"))
    print(f"machine: {machine()}; {args.burners} CPU-burning processes beside the engine")
    with burners(args.burners):
        _, to_final = latencies(store, args.trials)
    engine.shared().close()
    print(f"Stop to final status under load: median {to_final:.2f} s (target at most {TARGET_SECONDS:.0f} s)")
    return 0 if to_final <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
