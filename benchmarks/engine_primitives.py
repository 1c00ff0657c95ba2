"""The Dask primitives behind the engine, measured: what a worker pays to report and to look for Stop.

In one worker process of a LocalCluster: ``Queue.put`` per message (progress), ``Event.is_set`` per call (a Stop
check per batch), ``log_event`` per message (the cheaper alternative for progress), and the delay from
``Event.set()`` on the client to a watcher thread in the worker seeing it (the engine's Stop). The choices are
written down in ``mnist_lab/training/worker/task.py``.
Usage: python benchmarks/engine_primitives.py [--messages 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time


def in_worker(queue_name: str, event_name: str, count: int) -> dict:
    """Runs in the worker: time each primitive, then wait for the stop event with a watcher thread."""
    import threading

    from distributed import Event, Queue, get_worker

    queue, event, worker = Queue(queue_name), Event(event_name), get_worker()
    timings = {}
    for name, call in (("Queue.put", lambda index: queue.put({"batch": index, "loss": 0.5})),
                       ("Event.is_set", lambda index: event.is_set()),
                       ("log_event", lambda index: worker.log_event("mnist-lab-bench", {"batch": index}))):
        started = time.perf_counter()
        for index in range(count):
            call(index)
        timings[name] = (time.perf_counter() - started) / count * 1000
    seen = threading.Event()
    seen_at = []

    def watch():
        if event.wait(timeout=30):
            seen_at.append(time.time())
            seen.set()

    threading.Thread(target=watch, daemon=True).start()
    queue.put({"ready": True})
    seen.wait(30)
    timings["seen_at"] = seen_at[0] if seen_at else float("nan")
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    import dask
    from distributed import Client, Event, LocalCluster, Queue

    dask.config.set({"temporary-directory": tempfile.mkdtemp(prefix="mnist-lab-bench-dask-")})
    started = time.perf_counter()
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; LocalCluster of 1 worker process "
          f"started in {time.perf_counter() - started:.1f} s")
    results: dict[str, list[float]] = {}
    for trial in range(args.trials):
        queue, event = Queue(f"bench-{trial}", client=client), Event(f"bench-{trial}", client=client)
        future = client.submit(in_worker, f"bench-{trial}", f"bench-{trial}", args.messages, pure=False)
        arrived = 0
        while True:
            item = queue.get(timeout=120)
            if "ready" in item:
                break
            arrived += 1
        set_at = time.time()
        event.set()
        timings = future.result()
        results.setdefault("Queue.put", []).append(timings["Queue.put"])
        results.setdefault("Event.is_set", []).append(timings["Event.is_set"])
        results.setdefault("log_event", []).append(timings["log_event"])
        results.setdefault("stop seen by the watcher", []).append((timings["seen_at"] - set_at) * 1000)
        print(f"  trial {trial + 1}: {arrived} of {args.messages} queued messages arrived")
    for name, values in results.items():
        unit = "ms after Event.set()" if name.startswith("stop") else "ms per call in the worker"
        print(f"{name}: median {statistics.median(values):.2f} {unit} (trials: "
              f"{', '.join(f'{value:.2f}' for value in values)})")
    client.close()
    cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
