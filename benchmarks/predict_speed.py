"""Speed of the Predictions page: one drawn digit, the 10k test predictions, and the look inside the network.

Target (issue 4): decoding the canvas's image, preprocessing and predicting one drawn digit takes at most
30 ms (median) with every architecture's preset model. Also checked: the test-set predictions are computed
once per model and then read from the run store (the cached read must take under a tenth of the first).
Reported without a target: the look inside the network (feature maps and saliency) and the wrong-shape demo.

The drawings are what the page's canvas sends: a 280x280 RGBA PNG (as a base64 data URL) of white strokes
20 px wide on black; the decoding mirrors ``CanvasResult.image_data``. Models are the presets of
``mnist_lab.models.presets``, untrained (speed does not depend on the weights), saved and loaded through a run store
in a temporary folder as the app does.

Run: ``.venv/bin/python benchmarks/predict_speed.py``
"""

from __future__ import annotations

import base64
import io
import statistics
import sys
import tempfile
import time

import numpy as np
from PIL import Image, ImageDraw

from mnist_lab import predictions
from mnist_lab.data import shared_mnist
from mnist_lab.models import architectures, config, presets
from mnist_lab.predictions import inference, inside
from mnist_lab.runs.store import RunStore

DRAWN_TARGET_MS = 30.0
CACHED_SHARE = 0.1
DRAWINGS = 60
REPEATS = 3
WARM_UP = 5
SEED = 0


def canvas_data_urls(count: int, seed: int) -> list[str]:
    """Random digit-like strokes, as the canvas sends them: base64 PNG data URLs of 280x280 RGBA."""
    rng = np.random.default_rng(seed)
    urls = []
    for _ in range(count):
        image = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
        draw = ImageDraw.Draw(image)
        left, top = rng.integers(10, 120, size=2)
        size = rng.integers(80, 150)
        points = [(int(left + rng.uniform(0, size)), int(top + rng.uniform(0, size))) for _ in range(rng.integers(3, 7))]
        draw.line(points, fill=(255, 255, 255, 255), width=20, joint="curve")
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        urls.append("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"))
    return urls


def decode(url: str) -> np.ndarray:
    """What ``CanvasResult.image_data`` does with the data URL."""
    _, encoded = url.split(";base64,", 1)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(encoded))))


def median_ms(function, inputs) -> float:
    """Median milliseconds of ``function(x)`` over ``inputs``, repeated, after a warm-up."""
    for x in inputs[:WARM_UP]:
        function(x)
    times = []
    for _ in range(REPEATS):
        for x in inputs:
            start = time.perf_counter()
            function(x)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def saved_run(store: RunStore, name: str, model_config: config.ModelConfig):
    """Save an untrained model of ``model_config`` as a run with one epoch and return the run."""
    run_id = store.create_run(name, config.to_dict(model_config), {}, {})
    architectures.build_model(model_config).save(store.model_path(run_id))
    store.record_epoch(run_id, 1, {"epoch": 1}, model_saved=True)
    store.finish(run_id, "finished")
    return store.get(run_id)


def main() -> int:
    data = shared_mnist()
    urls = canvas_data_urls(DRAWINGS, SEED)
    canvases = [decode(url) for url in urls]
    test_digits = list(data.x_test[:DRAWINGS])
    failures = []
    print(f"{'architecture':<14} {'drawn digit ms':>14} {'of which model':>14} {'inside ms':>10} {'wrong shape ms':>14} "
          f"{'10k first s':>11} {'10k cached ms':>13}")
    with tempfile.TemporaryDirectory() as home:
        store = RunStore(home)
        for name, preset in presets.PRESETS.items():
            run = saved_run(store, name, preset.model)
            model = inference.RunModel.load(store, run)
            drawn = median_ms(lambda url, model=model: predictions.read_own_digit(model, decode(url)), urls)
            seen = [predictions.read_own_digit(model, canvas).seen for canvas in canvases]
            model_only = median_ms(model.predict_digit, seen)
            look = median_ms(lambda pixels, model=model: inside.look_inside(model, pixels), test_digits)
            shape = median_ms(lambda pixels, model=model: predictions.wrong_shape_demo(model, pixels), test_digits[:10])
            start = time.perf_counter()
            inference.test_scores(store, run, model, data.x_test)
            first = time.perf_counter() - start
            start = time.perf_counter()
            inference.test_scores(store, run, model, data.x_test)
            cached = time.perf_counter() - start
            print(f"{name:<14} {drawn:>14.1f} {model_only:>14.1f} {look:>10.1f} {shape:>14.1f} {first:>11.2f} {cached * 1000:>13.1f}")
            if drawn > DRAWN_TARGET_MS:
                failures.append(f"{name}: one drawn digit takes {drawn:.1f} ms (target {DRAWN_TARGET_MS:.0f} ms)")
            if cached > CACHED_SHARE * first:
                failures.append(f"{name}: cached test predictions take {cached:.3f} s against {first:.3f} s computed")
    for failure in failures:
        print("MISSED:", failure)
    print("all targets met" if not failures else f"{len(failures)} target(s) missed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
