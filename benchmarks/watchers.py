"""Watching must not slow training: the same training's epoch time with nobody on the Train page and with 10
sessions watching its live view, in one run.

One long training (`fast`, 10,000 images an epoch, 200 epochs) is started from a Chromium tab that then leaves the
Train page. Its epochs are timed over a window of ``--window`` seconds, first with no watcher, then with
``--watchers`` sessions on the Train page (the window starts once every one of them shows the live view),
alternating ``--trials`` times. The server's CPU seconds per watcher and second are reported too, above what the
server spends on the training with nobody watching.

A watcher is a Streamlit session of the Train page that does what the browser does while a student watches: it
opens the page through Streamlit's websocket, and for every fragment the server asks to rerun on a timer (an
``auto_rerun`` message) it sends the rerun request at that interval, as the browser's ``setInterval`` does whatever
the tab is busy with. Drawing the page is left out: it happens on the student's computer, not on the server. To
show that nothing the server does is left out with it, one real Chromium tab and one such session first watch in
turn, and the server's CPU per second for each is printed side by side.

``--browsers`` makes every watcher a real Chromium tab instead. Ten tabs redrawing a live view need cores of their
own: on this 2-core machine, with the server on one CPU and ten tabs on the other, the tabs never finished loading.

The server and its training worker are pinned to the first CPU, the watchers (and Chromium) to the others.

Target (issue 15): 10 watchers slow a training by at most 10% (median epoch time, watched / unwatched <= 1.10).
Usage: python benchmarks/watchers.py [--watchers 10] [--window 30] [--trials 3] [--browsers]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from playwright.sync_api import sync_playwright
from server_cost import cpu_seconds
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import connect

from mnist_lab.runs import store as run_store

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' helpers: the server, Chromium's flags

from tests.browser_helpers import open_page, start_training, wait_idle
from tests.conftest import CHROMIUM, CHROMIUM_FLAGS
from tests.server import free_port, start_app, stop_process, wait_healthy

TARGET = 1.10
TIMEOUT_S = 600
PAGE = "train"


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


def timed_window(store, run_id: str, window: float, server_pid: int) -> tuple[list[float], float]:
    """Epoch seconds of the epochs that end within the next ``window`` seconds (at least two), and the server's CPU
    seconds per second meanwhile."""
    server = psutil.Process(server_pid)
    first, cpu, started = epochs_done(store, run_id), cpu_seconds(server), time.monotonic()
    while time.monotonic() - started < window or epochs_done(store, run_id) < first + 2:
        time.sleep(0.5)
    per_second = (cpu_seconds(server) - cpu) / (time.monotonic() - started)
    return epoch_seconds(store, run_id, first, epochs_done(store, run_id)), per_second


def rerun_request(page_hash: str = "", fragment_id: str = "") -> bytes:
    """The BackMsg the browser sends to run the Train page, or one of its fragments on its timer."""
    message = BackMsg()
    message.rerun_script.page_name = PAGE
    message.rerun_script.page_script_hash = page_hash
    if fragment_id:
        message.rerun_script.fragment_id = fragment_id
        message.rerun_script.is_auto_rerun = True
    return message.SerializeToString()


def shows_stop(message: ForwardMsg) -> bool:
    """Whether ``message`` draws the live view's Stop button."""
    element = message.delta.new_element
    return element.WhichOneof("type") == "button" and element.button.label == "Stop"


async def auto_rerun(socket, state: dict, fragment_id: str, interval: float) -> None:
    """Ask for a rerun of ``fragment_id`` every ``interval`` seconds, as the browser's timer does."""
    while True:
        await asyncio.sleep(interval)
        await socket.send(rerun_request(state["page_hash"], fragment_id))


def schedule(timers: dict, socket, state: dict, order) -> None:
    """Start the timer an ``auto_rerun`` message asks for, or restart it at a new interval, as the browser does."""
    current = timers.get(order.fragment_id)
    if current and current[0] == order.interval:
        return
    if current:
        current[1].cancel()
    timers[order.fragment_id] = (order.interval,
                                 asyncio.create_task(auto_rerun(socket, state, order.fragment_id, order.interval)))


async def watch(url: str, live: threading.Event) -> None:
    """One session on the Train page until cancelled; ``live`` is set once it shows the live view."""
    timers: dict[str, tuple[float, asyncio.Task]] = {}
    state = {"page_hash": ""}
    async with connect(url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"], origin=url,
                       max_size=None) as socket:
        await socket.send(rerun_request())
        try:
            async for raw in socket:
                message = ForwardMsg.FromString(raw)
                kind = message.WhichOneof("type")
                if kind == "new_session":
                    state["page_hash"] = message.new_session.page_script_hash
                elif kind == "auto_rerun":
                    schedule(timers, socket, state, message.auto_rerun)
                elif kind == "stop_auto_rerun":
                    for fragment in message.stop_auto_rerun.fragment_ids:
                        if fragment in timers:
                            timers.pop(fragment)[1].cancel()
                elif kind == "delta" and shows_stop(message):
                    live.set()
        finally:
            for _, timer in timers.values():
                timer.cancel()


class Sessions:
    """``count`` watching sessions, run by an event loop of their own in a thread of this process; returned once
    each shows the live view."""

    def __init__(self, url: str, count: int) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        lives = [threading.Event() for _ in range(count)]
        self._tasks = self._call(self._start(url, lives))
        deadline = time.monotonic() + TIMEOUT_S
        for live, task in zip(lives, self._tasks):
            while not live.wait(0.5):
                if task.done():
                    task.result()  # raises what ended it
                if time.monotonic() > deadline:
                    raise TimeoutError("a watching session never showed the live view")

    def _call(self, awaitable):
        return asyncio.run_coroutine_threadsafe(awaitable, self._loop).result(timeout=TIMEOUT_S)

    @staticmethod
    async def _start(url: str, lives: list[threading.Event]) -> list[asyncio.Task]:
        return [asyncio.create_task(watch(url, live)) for live in lives]

    async def _stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def close(self) -> None:
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


class Tabs:
    """``count`` Chromium tabs on the Train page, returned once each shows the live view."""

    def __init__(self, context, url: str, count: int) -> None:
        self._tabs = [context.new_page() for _ in range(count)]
        for tab in self._tabs:
            tab.goto(f"{url}/{PAGE}", wait_until="commit", timeout=TIMEOUT_S * 1000)
        for tab in self._tabs:
            tab.get_by_role("button", name="Stop").wait_for(timeout=TIMEOUT_S * 1000)

    def close(self) -> None:
        for tab in self._tabs:
            tab.close()


def start_long_training(context, url: str, store: run_store.RunStore) -> str:
    """Start the training from a tab that then goes to the Data page; return its run's id once past epoch 2."""
    starter = context.new_page()
    starter.goto(f"{url}/{PAGE}")
    wait_idle(starter, timeout=TIMEOUT_S * 1000)
    start_training(starter, "watched", epochs=200, images=10000)
    starter.get_by_role("button", name="Stop").wait_for(timeout=TIMEOUT_S * 1000)
    run_id = store.list_runs()[0].id
    open_page(starter, "Data", timeout=TIMEOUT_S * 1000)  # nobody watches now
    while epochs_done(store, run_id) < 2:  # past the first epoch's tracing
        time.sleep(0.5)
    starter.close()
    return run_id


def calibrate(context, url: str, store, run_id: str, window: float, server_pid: int) -> None:
    """Print the server's CPU per second for one real Chromium tab and for one watching session, in turn."""
    _, idle = timed_window(store, run_id, window, server_pid)
    figures = {}
    for name, watcher in (("Chromium tab", lambda: Tabs(context, url, 1)), ("session", lambda: Sessions(url, 1))):
        opened = watcher()
        figures[name] = timed_window(store, run_id, window, server_pid)[1] - idle
        opened.close()
    print(f"  one watcher's server CPU per second: {figures['Chromium tab']:.4f} s for a Chromium tab, "
          f"{figures['session']:.4f} s for a session (with nobody watching the server spends {idle:.4f} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watchers", type=int, default=10)
    parser.add_argument("--window", type=float, default=30.0, help="seconds of training timed per measurement")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--browsers", action="store_true", help="real Chromium tabs as the watchers")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed benchmark still stops its server and training
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        print("needs 2 CPUs: one for the server and its training, one for the watchers")
        return 2
    os.sched_setaffinity(0, cpus[:1])  # the server, and the worker it starts, inherit this
    home = Path(tempfile.mkdtemp(prefix="mnist-lab-bench-watchers-")) / "home"
    port = free_port()
    url, log = f"http://127.0.0.1:{port}", home / "server.log"
    home.mkdir(parents=True)
    process = start_app(home, port, log)
    ratios, costs = [], []
    try:
        wait_healthy(url, process, log)
        os.sched_setaffinity(0, cpus[1:])
        store = run_store.RunStore(home)
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; server and training "
              f"on CPU {cpus[0]}, watchers on {cpus[1:]}; watchers are {'Chromium tabs' if args.browsers else 'sessions'}")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            run_id = start_long_training(context, url, store)
            calibrate(context, url, store, run_id, args.window, process.pid)
            for trial in range(args.trials):
                alone, idle = timed_window(store, run_id, args.window, process.pid)
                watchers = Tabs(context, url, args.watchers) if args.browsers else Sessions(url, args.watchers)
                watched, busy = timed_window(store, run_id, args.window, process.pid)
                watchers.close()
                ratio = statistics.median(watched) / statistics.median(alone)
                ratios.append(ratio)
                costs.append((busy - idle) / args.watchers)
                print(f"  trial {trial + 1}: epoch {statistics.median(alone):.2f} s alone, "
                      f"{statistics.median(watched):.2f} s with {args.watchers} watchers (x {ratio:.3f}); "
                      f"server CPU {costs[-1]:.4f} s per watcher per second")
            browser.close()
    finally:
        stop_process(process)
    ratio = statistics.median(ratios)
    print(f"{args.watchers} watchers: epoch time x {ratio:.3f} (median of {args.trials}), server CPU "
          f"{statistics.median(costs):.4f} s per watcher per second; target <= x {TARGET}: "
          f"{'met' if ratio <= TARGET else 'MISSED'}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
