"""The one-click comparisons of the Report page: a button that trains a few small runs one after the other, and
their progress while they train."""

from __future__ import annotations

import streamlit as st

from mnist_lab import access
from mnist_lab.data import Dataset
from mnist_lab.errors import MnistLabError
from mnist_lab.models import config
from mnist_lab.text import markdown_text, plural
from mnist_lab.training import experiments
from ui import resources

STARTED_EXPERIMENT = "report_experiment"  # the secret of the comparison this session started: it may stop it


def experiment_runner(home: str) -> experiments.ExperimentRunner:
    """This user's runner of one-click comparisons (every student has their own)."""
    user = resources.user()
    return _runner_of(home, user.id, user)


@st.cache_resource
def _runner_of(home: str, user_id: str, _user: access.User) -> experiments.ExperimentRunner:
    return experiments.ExperimentRunner(resources.trainer(), user=_user)


@st.fragment(run_every=2)
def live_experiment(home: str) -> None:
    """The progress of the comparison running in ``home``, and a Stop button for the session that started it."""
    runner = experiment_runner(home)
    state = runner.progress()
    if state is None:
        st.rerun(scope="app")
    number, total, progress = state
    st.progress(progress.fraction, text=f"Running… run {number} of {total}: {progress.name}, "
                                        f"epoch {max(progress.epoch, 1)} of {progress.epochs}")
    token = st.session_state.get(STARTED_EXPERIMENT, "")
    if runner.owned_by(token):
        st.button("Stop the comparison", on_click=runner.stop, args=(token,), key="report_stop", icon=":material/stop:",
                  help="Stops the run in progress after its batch and starts no further run.")


def experiment_panel(key: str, outcome: experiments.Outcome | None, base: config.ModelConfig | None, data: Dataset,
                     home: str) -> None:
    """The comparison ``key``: its progress while it runs, else a button that (re)starts it on ``data``.

    ``outcome`` is its last outcome (None before its first), ``base`` the network of the chosen run it varies.
    """
    runner = experiment_runner(home)
    if runner.running() == key:
        live_experiment(home)
        return
    arms, train = experiments.EXPERIMENTS[key].arms(base), experiments.SMALL_TRAIN
    if outcome is not None and not outcome.complete:
        st.warning("The last comparison ended before all its runs finished (it was stopped, the server restarted "
                   "or a run was deleted): run it again.")
    label = "Run the comparison again" if outcome is not None else "Run the comparison"
    if st.button(f"{label}: {experiments.describe(arms)}", key=f"report_{key}", icon=":material/science:",
                 help=f"Trains {len(arms)} small runs one after the other: {train.train_limit:,} images "
                      f"({train.validation_fraction:.0%} held out for validation), {plural(train.epochs, 'epoch')} each."):
        try:
            token = runner.start(key, base, data)
        except MnistLabError as error:
            st.error(markdown_text(str(error)))
        else:
            st.session_state[STARTED_EXPERIMENT] = token
            st.rerun()
