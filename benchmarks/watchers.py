"""Watching must not slow training: the same training's epoch time with nobody on the Train page and with 10
sessions watching its live charts, in real Chromium tabs, in one run.

One long training (`fast`, 10,000 images an epoch, 200 epochs) is started from a tab that then leaves the Train page. Its
epochs are timed over a window of ``--window`` seconds, first with no watcher, then with ``--watchers`` tabs open
on the Train page (the window starts once every one of them shows the live charts), alternating ``--trials``
times. The server's CPU seconds per watcher and second are reported too.

The watchers' browsers belong on the students' computers, not on the server. So the server and its training
worker are pinned to the first CPU and Chromium to the others (``--share-cores`` lets them share every CPU: then
ten headless tabs redrawing a page every second compete with the training for the same 2 cores).

Target (issue 15): 10 watchers slow a training by at most 10% (median epoch time, watched / unwatched <= 1.10).
Usage: python benchmarks/watchers.py [--watchers 10] [--window 30] [--trials 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil
from playwright.sync_api import sync_playwright

from mnist_lab.runs import store as run_store

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' helpers: the server, Chromium's flags

from tests.browser_helpers import open_page, start_training, wait_idle
from tests.conftest import CHROMIUM, CHROMIUM_FLAGS
from tests.server import free_port, start_app, stop_process, wait_healthy

TARGET = 1.10
TIMEOUT_MS = 600_000


def epochs_done(store: run_store.RunStore, run_id: str) -> int:
    """Epochs the run has stored; fails if the run ended before the measurement did."""
    run = store.get(run_id)
    if run.status != run_store.RUNNING:
        raise RuntimeError(f"the training ended during the measurement ({run.status}: {run.message})")
    return len(run.history)


def epoch_seconds(store: run_store.RunStore, run_id: str, first: int, last: int) -> list[float]:
    """Training seconds of each epoch after epoch ``first`` up to epoch ``last`` (the history's train_seconds)."""
    seconds = [row["train_seconds"] for row in store.get(run_id).history]
    return [later - earlier for earlier, later in zip(seconds[first - 1 : last - 1], seconds[first:last])]


def timed_window(store, run_id: str, window: float) -> list[float]:
    """Epoch seconds of the epochs that end within the next ``window`` seconds (at least two)."""
    first = epochs_done(store, run_id)
    started = time.monotonic()
    while time.monotonic() - started < window or epochs_done(store, run_id) < first + 2:
        time.sleep(0.5)
    return epoch_seconds(store, run_id, first, epochs_done(store, run_id))


def open_watchers(context, url: str, count: int) -> list:
    """``count`` new tabs on the Train page, returned once each shows the live training."""
    tabs = [context.new_page() for _ in range(count)]
    for tab in tabs:
        tab.goto(f"{url}/train", wait_until="commit", timeout=TIMEOUT_MS)
    for tab in tabs:
        tab.get_by_role("button", name="Stop").wait_for(timeout=TIMEOUT_MS)
    return tabs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watchers", type=int, default=10)
    parser.add_argument("--window", type=float, default=30.0, help="seconds of training timed per measurement")
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--share-cores", action="store_true",
                        help="run Chromium on the server's CPUs instead of CPUs of its own")
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    pinned = not args.share_cores and len(cpus) >= 2
    if pinned:  # the server, and the worker it starts, inherit this; Chromium is moved to the other CPUs below
        os.sched_setaffinity(0, cpus[:1])
    home = Path(tempfile.mkdtemp(prefix="mnist-lab-bench-watchers-")) / "home"
    port = free_port()
    url, log = f"http://127.0.0.1:{port}", home / "server.log"
    home.mkdir(parents=True)
    process = start_app(home, port, log)
    ratios, server_costs = [], []
    try:
        wait_healthy(url, process, log)
        server, store = psutil.Process(process.pid), run_store.RunStore(home)
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; "
              + (f"server and training on CPU {cpus[0]}, Chromium on {cpus[1:]}" if pinned else "all share every CPU"))
        if pinned:
            os.sched_setaffinity(0, cpus[1:])
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            starter = context.new_page()
            starter.goto(f"{url}/train")
            wait_idle(starter, timeout=TIMEOUT_MS)
            start_training(starter, "watched", epochs=200, images=10000)
            starter.get_by_role("button", name="Stop").wait_for(timeout=TIMEOUT_MS)
            run_id = store.list_runs()[0].id
            open_page(starter, "Data", timeout=TIMEOUT_MS)  # nobody watches now
            while epochs_done(store, run_id) < 2:  # past the first epoch's tracing
                time.sleep(0.5)
            for trial in range(args.trials):
                alone = statistics.median(timed_window(store, run_id, args.window))
                tabs = open_watchers(context, url, args.watchers)
                before, started = server.cpu_times(), time.monotonic()
                watched = statistics.median(timed_window(store, run_id, args.window))
                after, elapsed = server.cpu_times(), time.monotonic() - started
                for tab in tabs:
                    tab.close()
                cost = (after.user + after.system - before.user - before.system) / elapsed / args.watchers
                ratios.append(watched / alone)
                server_costs.append(cost)
                print(f"  trial {trial + 1}: epoch {alone:.2f} s alone, {watched:.2f} s with {args.watchers} watchers "
                      f"(x {watched / alone:.3f}); server CPU {cost:.3f} s per watcher per second")
            open_page(starter, "Train", timeout=TIMEOUT_MS)
            starter.get_by_role("button", name="Stop").click()
            browser.close()
    finally:
        stop_process(process)
    ratio = statistics.median(ratios)
    print(f"{args.watchers} watchers: epoch time x {ratio:.3f} (median of {args.trials}), server CPU "
          f"{statistics.median(server_costs):.3f} s per watcher per second; target <= x {TARGET}: "
          f"{'met' if ratio <= TARGET else 'MISSED'}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
