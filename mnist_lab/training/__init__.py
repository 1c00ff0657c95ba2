"""Training a run: the data split, the server's side (trainer, jobs, queue, engine), the worker's side (the fit and
the Dask task), the message format between them, sweeps, and the one-click comparisons of the Report page.

The layers, each importing only those below it: :mod:`.protocol` (the message format) and :mod:`.split`; the
worker's side (:mod:`.worker`); the server's side (:mod:`.server`), which submits the worker's task by reference;
then :mod:`.sweeps` and :mod:`.experiments`, built on the trainer.
"""

from mnist_lab.errors import EngineUnavailableError, TrainingBusyError
from mnist_lab.training.server.admission import new_job
from mnist_lab.training.server.job import TrainingJob
from mnist_lab.training.server.progress import Progress
from mnist_lab.training.server.trainer import Trainer
from mnist_lab.training.split import SplitData, reasons_for, split_data, split_sizes

__all__ = [
    "EngineUnavailableError", "Progress", "SplitData", "Trainer", "TrainingBusyError", "TrainingJob", "new_job",
    "reasons_for", "split_data", "split_sizes",
]
