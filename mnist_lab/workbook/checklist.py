"""What a good answer to each question covers, built from the student's own run: a checklist, never an answer.

Each item names the run's figures the answer should use and asks what they say; it states no conclusion, so it
stays true whichever way the figures point (training above test accuracy or below it).
"""

from __future__ import annotations

from collections.abc import Callable

from mnist_lab.data import Dataset
from mnist_lab.models import architectures, optim
from mnist_lab.report.evidence import RunEvidence
from mnist_lab.report.sources import label
from mnist_lab.runs.store import FINISHED, Run
from mnist_lab.text import markdown_text, plural
from mnist_lab.workbook.figures import Figure, data_figures, run_figures

Items = list[str]


def checklist(question_id: str, evidence: RunEvidence | None, dataset: Dataset) -> Items:
    """What a good answer to the question covers, with the figures of ``evidence`` where it has a run.

    Parameters
    ----------
    question_id : str
        ``"a1"`` ... ``"b9"``.
    evidence : RunEvidence or None
        The student's run; without one, the items name the data's figures only.
    dataset : Dataset

    Returns
    -------
    list of str
        Markdown items, two to four.
    """
    figures = {figure.label: figure for figure in (run_figures(evidence, dataset) if evidence
                                                   else data_figures(dataset))}
    common = _DATA_ITEMS[question_id](dataset, figures)
    if evidence is None:
        return [*common, "Train a run first: the other points of a good answer quote your own run's figures."]
    return [*common, *_RUN_ITEMS[question_id](evidence, figures)]


def _text(figures: dict[str, Figure], name: str) -> str:
    return figures[name].text if name in figures else "(not measured)"


def _a1_data(dataset: Dataset, f: dict[str, Figure]) -> Items:
    return [f"Every one of the {_text(f, 'number of classes')} classes, with a few examples each, and from which "
            "split they come.",
            f"What one image is: {_text(f, 'image height')}x{_text(f, 'image width')} grey pixels from 0 to "
            f"{_text(f, 'largest pixel value')}, and how many images each split has "
            f"({_text(f, 'number of training images in the dataset')} and {_text(f, 'number of test images in the dataset')})."]


def _a2_run(evidence: RunEvidence, f: dict[str, Figure]) -> Items:
    train, model = evidence.run.train_config, evidence.run.model_config
    return [f"Your network, {markdown_text(label(architectures.ARCHITECTURES, model.get('architecture')))} with "
            f"{_text(f, 'number of weights')} weights: why a CNN for handwriting.",
            f"Your loss, {markdown_text(label(optim.LOSSES, train.get('loss')))}: why it suits one label out of "
            f"{_text(f, 'number of classes')}.",
            f"Your optimizer, {markdown_text(label(optim.OPTIMIZERS, train.get('optimizer')))} at a learning rate "
            f"of {_text(f, 'learning rate')} with the {markdown_text(label(optim.SCHEDULES, train.get('schedule')))} "
            f"schedule: why, and whether this run shows it worked (test accuracy {_text(f, 'test accuracy')}).",
            f"Batch size {_text(f, 'batch size')}, {_epochs_trained(evidence.run)} on "
            f"{_text(f, 'number of training images')} training images: what each choice costs or gains."]


def _epochs_trained(run: Run) -> str:
    """The epochs a run trained: all it planned, or, for one that ended early, the full ones and the part."""
    full = sum(1 for row in run.history if not row.get("partial"))
    planned = run.train_config.get("epochs", full)
    if run.status == FINISHED or not run.history:
        return plural(full or planned, "epoch")
    last = run.history[-1]
    part = f" and part of epoch {last['epoch']}" if last.get("partial") else ""
    return f"{plural(full, 'full epoch')}{part} of the {planned} planned (it ended as {run.status})"


def _a3_run(evidence: RunEvidence, f: dict[str, Figure]) -> Items:
    return ["A few test digits with your model's prediction and its confidence, right ones and wrong ones.",
            f"How often it is wrong: {_text(f, 'number of test mistakes')} test mistakes "
            f"({_text(f, 'test error rate')}), and one mistake you can explain."]


def _a4_run(evidence: RunEvidence, f: dict[str, Figure]) -> Items:
    per_class = evidence.evaluation.per_class.sort_values("recall", kind="stable")
    worst = per_class.iloc[0]
    return [f"Your test accuracy {_text(f, 'test accuracy')} and macro recall {_text(f, 'macro-averaged recall')}: "
            "what recall adds to accuracy.",
            f"The class with the lowest recall, {markdown_text(worst['class'])} at {worst['recall']:.2%}: why it may "
            "be the hardest.",
            f"What a ROC curve plots, and what your macro ROC AUC of {_text(f, 'macro-averaged ROC AUC')} says."]


def _b1_data(dataset: Dataset, f: dict[str, Figure]) -> Items:
    return [f"The range of the raw pixels, 0 to {_text(f, 'largest pixel value')}, and the range after dividing by "
            f"{_text(f, 'largest pixel value')}."]


def _b1_run(evidence: RunEvidence, f: dict[str, Figure]) -> Items:
    scaled = "scales" if evidence.run.model_config.get("scale_inputs", True) else "does not scale"
    return [f"What scaling changes for the weights' updates at your learning rate of {_text(f, 'learning rate')} "
            f"(your run {scaled} its inputs), and what would happen without it."]


def _b2_run(evidence: RunEvidence, f: dict[str, Figure]) -> Items:
    return [f"Your split: {_text(f, 'number of training images')} training, "
            f"{_text(f, 'number of validation images')} validation and {_text(f, 'number of test images in the dataset')} "
            "test images, and what each is used for.",
            "What the test accuracy tells you that the training accuracy cannot."]


def _b3_data(dataset: Dataset, f: dict[str, Figure]) -> Items:
    return [f"The count: {_text(f, 'image height')} x {_text(f, 'image width')} = "
            f"{_text(f, 'number of input values per image')} input values per image.",
            "What a Dense layer loses by flattening the picture that a convolution keeps."]


def _b4_run(evidence: RunEvidence, f: dict[str, Figure]) -> Items:
    return [f"Why {_text(f, 'number of classes')} neurons: one score per class, turned into probabilities by softmax.",
            "How those probabilities become one predicted digit, with an example from your run."]


def _b5_run(evidence: RunEvidence, f: dict[str, Figure]) -> Items:
    return ["A perceptron: one neuron, a step function, its learning rule. A Dense layer: many neurons, a "
            "differentiable activation, trained by gradient descent.",
            f"Where your network ({_text(f, 'number of weights')} weights) has Dense layers, and how many units each has."]


def _b6_run(evidence: RunEvidence, f: dict[str, Figure]) -> Items:
    if "training accuracy" not in f:
        return [f"Your test accuracy {_text(f, 'test accuracy')} against the training accuracy of the last epoch "
                f"({_text(f, 'training accuracy logged in the last epoch')}): which is higher, by how much, and what "
                "that says."]
    return [f"Your training accuracy {_text(f, 'training accuracy')} and test accuracy {_text(f, 'test accuracy')}: "
            "which is higher, by how much, and what that says about this run.",
            "What makes a model do better on images it trained on (and, when it does not, what in your settings "
            "could explain it: dropout, augmentation, few epochs)."]


def _b7_run(evidence: RunEvidence, f: dict[str, Figure]) -> Items:
    pairs = evidence.evaluation.confused_pairs
    items = ["What the diagonal counts and what each cell off it counts."]
    if len(pairs):
        top = pairs.iloc[0]
        items.append(f"Your most frequent mistake: {markdown_text(top['true'])} read as "
                     f"{markdown_text(top['predicted'])}, {int(top['count']):,} times. Why those two?")
    return items


def _b8_run(evidence: RunEvidence, f: dict[str, Figure]) -> Items:
    return [f"What the model outputs for one image ({_text(f, 'number of classes')} probabilities) and what "
            "`np.argmax` returns from them.",
            "One of your test digits as an example: its probabilities and the index argmax picks."]


def _b9_run(evidence: RunEvidence, f: dict[str, Figure]) -> Items:
    shape = evidence.model.model.input_shape
    return [f"The shape your model expects, {markdown_text(str(shape))}, against 28x28x3 "
            f"({_text(f, 'number of colour values of a 28x28x3 image')} values).",
            "What Keras does with it (the error it raises) and how to turn a colour image into what the model expects."]


def _none(*_: object) -> Items:
    return []


_DATA_ITEMS: dict[str, Callable[[Dataset, dict[str, Figure]], Items]] = {
    **dict.fromkeys(("a2", "a3", "a4", "b2", "b4", "b5", "b6", "b7", "b8", "b9"), _none),
    "a1": _a1_data, "b1": _b1_data, "b3": _b3_data,
}
_RUN_ITEMS: dict[str, Callable[[RunEvidence, dict[str, Figure]], Items]] = {
    "a1": _none, "a2": _a2_run, "a3": _a3_run, "a4": _a4_run, "b1": _b1_run, "b2": _b2_run, "b3": _none,
    "b4": _b4_run, "b5": _b5_run, "b6": _b6_run, "b7": _b7_run, "b8": _b8_run, "b9": _b9_run,
}
