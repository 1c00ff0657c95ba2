"""Training a run: the data split, the fit itself, the Dask engine with its fair queue, the jobs with their live
progress and Stop, sweeps, and the one-click comparisons of the Report page."""

from mnist_lab.errors import EngineUnavailableError, TrainingBusyError
from mnist_lab.training.jobs import Progress, Trainer, TrainingJob, new_job
from mnist_lab.training.split import SplitData, reasons_for, split_data, split_sizes

__all__ = [
    "EngineUnavailableError", "Progress", "SplitData", "Trainer", "TrainingBusyError", "TrainingJob", "new_job",
    "reasons_for", "split_data", "split_sizes",
]
