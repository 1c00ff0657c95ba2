"""The exported notebook reproduces a run: train the ``fast`` preset on its full settings with the app's engine,
export the run as a notebook, execute it with nbclient against the bundled MNIST files, and compare the test
accuracies (target: within 0.3 percentage points, same seed and Keras version).

Expected cost on the 2-core development machine: about 3-5 minutes (two trainings of about 15-40 s each, TensorFlow
loaded twice, the notebook's evaluations); under 10 minutes on a loaded machine.
"""

import json
import re
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

from mnist_lab import report, training
from mnist_lab.data import MNIST, shared_mnist
from mnist_lab.data.datasets import BUNDLED
from mnist_lab.models import presets
from mnist_lab.report.notebook import TOLERANCE_POINTS
from mnist_lab.runs.store import RunStore

KERNEL = "mnist-lab-bench"


def kernel_specs(folder: Path) -> KernelSpecManager:
    """A kernel spec running this interpreter with Matplotlib's inline backend, in ``folder``."""
    (folder / KERNEL).mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "MNIST Lab benchmark", "language": "python",
            "env": {"MPLBACKEND": "module://matplotlib_inline.backend_inline"}}
    (folder / KERNEL / "kernel.json").write_text(json.dumps(spec))
    return KernelSpecManager(kernel_dirs=[str(folder)])


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="mnist-lab-bench-notebook-"))
    store = RunStore(work / "home")
    chosen = presets.preset("fast")
    start = time.perf_counter()
    job = training.new_job(store, "bench fast", chosen.model, chosen.train)
    job.run()
    app_seconds = time.perf_counter() - start
    run = store.get(job.run_id)
    evidence, built = report.report_of_run(store, run, shared_mnist())
    notebook = report.set_parameters(report.build_notebook(evidence, shared_mnist(), report.reading_copy(built)),
                                     DATA_DIR=str(BUNDLED / MNIST.folder))
    start = time.perf_counter()
    manager = KernelManager(kernel_name=KERNEL, kernel_spec_manager=kernel_specs(work / "kernels"))
    NotebookClient(notebook, km=manager, timeout=900, resources={"metadata": {"path": str(work)}}).execute()
    notebook_seconds = time.perf_counter() - start
    (work / "executed.ipynb").write_text(report.to_ipynb(notebook))
    printed = "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                      for output in cell.outputs if output.output_type == "stream")
    ours = float(re.search(r"Test accuracy: (\d\.\d+)", printed).group(1))
    theirs = evidence.evaluation.summary["accuracy"]
    points = abs(ours - theirs) * 100
    print(f"fast preset ({chosen.train.epochs} epochs, all training images, seed {chosen.train.seed}):")
    print(f"  app run:  test accuracy {theirs:.4f}, {app_seconds:.0f} s (training {run.metrics['train_seconds']:.1f} s)")
    print(f"  notebook: test accuracy {ours:.4f}, {notebook_seconds:.0f} s to execute every cell")
    print(f"  difference {points:.2f} percentage points (target at most {TOLERANCE_POINTS}); executed notebook in "
          f"{work / 'executed.ipynb'}")
    return 0 if points <= TOLERANCE_POINTS else 1


if __name__ == "__main__":
    sys.exit(main())
