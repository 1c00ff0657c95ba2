"""The trainings a session of the Train page watches: the one it started, or its sweep, found again after a reload.

Only the trainings of the session's user are ever looked at (``Trainer.jobs_of``); stopping goes through
``Trainer.stop``, which checks the owner again.
"""

from __future__ import annotations

import streamlit as st

from mnist_lab import training
from mnist_lab.data import Dataset
from mnist_lab.errors import MnistLabError
from mnist_lab.models import config
from mnist_lab.text import markdown_text
from mnist_lab.training import sweeps
from ui import resources, sidebar

OWNED = "training_run"  # run id of the training this session started (survives page switches)
SWEEP = "training_sweep"  # tag of the sweep this session started
BEFORE = "training_replaced_run"  # the active run before this session's last start: a cancel goes back to it


def my_jobs() -> list[training.TrainingJob]:
    """The trainings of this session's user, oldest first: only these can be watched, stopped or cancelled here."""
    trainer = resources.trainer_unless_away()
    return trainer.jobs_of(resources.user()) if trainer is not None else []


def owned_run_id() -> str | None:
    """The training this session started; in a new session (a reload), the user's latest training of this server."""
    if st.session_state.get(OWNED) or st.session_state.get(SWEEP):
        return st.session_state.get(OWNED)
    # The Report page's comparisons are watched there, not here.
    job = next((job for job in reversed(my_jobs())
                if not job.experiment or job.experiment.startswith(sweeps.PREFIX)), None)
    if job is None:
        return None
    if job.experiment.startswith(sweeps.PREFIX):
        st.session_state[SWEEP] = job.experiment
        return None
    st.session_state[OWNED] = job.run_id
    return job.run_id


def my_job(run_id: str | None) -> training.TrainingJob | None:
    """The user's training of ``run_id``, if any."""
    return next((job for job in my_jobs() if job.run_id == run_id), None) if run_id else None


def running_job() -> training.TrainingJob | None:
    """The training this session watches while it waits or trains (None once it has ended)."""
    job = my_job(owned_run_id())
    return job if job is not None and not job.done else None


def sweep_jobs() -> list[training.TrainingJob]:
    """The jobs of the sweep this session started, in grid order."""
    tag = st.session_state.get(SWEEP)
    return [job for job in my_jobs() if job.experiment == tag] if tag else []


def forget_ended_run() -> None:
    """Stop showing a run that is gone (deleted by the teacher or by its student elsewhere)."""
    st.session_state.pop(OWNED, None)


def stop(jobs: list[training.TrainingJob]) -> None:
    """Stop ``jobs`` (the user's own: the trainer refuses any other)."""
    for job in jobs:
        resources.trainer().stop(job.run_id, resources.user())


def cancel(job: training.TrainingJob) -> None:
    """Take a waiting training out of the queue; the active run goes back to the one before it."""
    if job.cancel():  # its run is gone
        sidebar.set_active_run(st.session_state.pop(BEFORE, None))
        st.toast(f"Cancelled {markdown_text(job.name)}: it never trained.", icon=":material/cancel:")


def start(model_config: config.ModelConfig, train_config: config.TrainConfig, name: str, dataset: Dataset) -> None:
    """Queue one training and watch it (an error is shown where the button is)."""
    try:
        with st.spinner("Reaching the training engine..."):  # at once unless it is still starting
            job = resources.trainer().start(name, model_config, train_config, dataset=dataset, user=resources.user())
    except MnistLabError as error:
        st.error(markdown_text(str(error)))
        return
    st.session_state[OWNED] = job.run_id
    st.session_state.pop(SWEEP, None)
    st.session_state[BEFORE] = sidebar.active_run_id()
    sidebar.switch_to_new_training(job.run_id)
    st.rerun()


def start_sweep(axes: list[sweeps.Axis], model_config: config.ModelConfig, train_config: config.TrainConfig,
                name: str, dataset: Dataset) -> None:
    """Queue a sweep's trainings and watch them as one table."""
    try:
        with st.spinner("Reaching the training engine..."):
            jobs = sweeps.start(resources.trainer(), name, model_config, train_config, axes, dataset=dataset,
                                user=resources.user())
    except MnistLabError as error:
        st.error(markdown_text(str(error)))
        return
    st.session_state[SWEEP] = jobs[0].experiment
    st.session_state.pop(OWNED, None)
    st.rerun()
