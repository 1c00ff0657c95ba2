"""The report: every question answered, with the evidence from the data, one run and the comparison runs."""

from __future__ import annotations

from mnist_lab.data import Dataset
from mnist_lab.models import architectures, presets
from mnist_lab.report import answers_a, answers_b
from mnist_lab.report.evidence import DataFacts, Report, RunEvidence, data_facts
from mnist_lab.report.questions import QUESTIONS
from mnist_lab.report.sources import Sources, label
from mnist_lab.text import markdown_text
from mnist_lab.training import experiments

#: Why there is no run evidence, when the caller gives no reason.
NO_RUN = (f"There is no trained run yet: train one on the Train page (the fast preset trains for "
          f"{presets.PRESETS['fast'].train.epochs} epoch{'s' * (presets.PRESETS['fast'].train.epochs != 1)}) and "
          "come back.")
_BUILDERS = {**answers_a.BUILDERS, **answers_b.BUILDERS}


def build_report(
    dataset: Dataset,
    run: RunEvidence | None = None,
    *,
    problem: str = "",
    outcomes: dict[str, experiments.Outcome | None] | None = None,
    facts: DataFacts | None = None,
) -> Report:
    """Answer every question with evidence from ``dataset``, the run and the comparison runs.

    Parameters
    ----------
    dataset : Dataset
    run : RunEvidence, optional
        The run to report on; without it only the data-only evidence is given.
    problem : str
        Markdown: why there is no run evidence and what to do, shown with the answers that need it
        when ``run`` is None; defaults to :data:`NO_RUN`.
    outcomes : dict, optional
        Experiment key to its latest :class:`mnist_lab.training.experiments.Outcome` (None if never run).
    facts : DataFacts, optional
        Precomputed :func:`data_facts` of ``dataset``.

    Returns
    -------
    Report
    """
    problem = problem or (NO_RUN if run is None else "")
    sources = Sources(dataset, facts or data_facts(dataset), run, problem, outcomes or {})
    answers = tuple(_BUILDERS[q.id](sources, q) for q in QUESTIONS)
    if run is None:
        intro = f"{problem} Until then, the answers use the data alone where they can."
        return Report("MNIST Lab report", intro, answers)
    ev, chosen = run.evaluation, run.run
    architecture = label(architectures.ARCHITECTURES, chosen.model_config.get("architecture"))
    intro = (f"Run **{markdown_text(chosen.name)}** ({architecture}, {chosen.status}): the model of epoch {ev.epoch}, "
             f"evaluated on all {ev.summary['n']:,} test images of {markdown_text(dataset.name)}.")
    return Report(f"MNIST Lab report: {chosen.name}", intro, answers)
