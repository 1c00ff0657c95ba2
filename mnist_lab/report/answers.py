"""The Report page's content: every question of the assignment answered with evidence from one run, and its exports.

:func:`build_report` gathers, for each numbered question, a short answer in the app's words and
the evidence behind it (figures, tables, images, charts, code) from the data, the run, its stored
evaluation and the one-click comparison runs; :func:`to_markdown` and :func:`to_html` turn the
result into downloadable documents. The HTML is self-contained: images and charts are embedded
as data URIs (charts rendered to SVG offline by vl-convert), with no script and no external file.
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from mnist_lab.models import architectures, config, optim
from mnist_lab import charts, evaluation, predictions, training
from mnist_lab.training import curves, experiments
from mnist_lab.data import explore
from mnist_lab.predictions import inference
from mnist_lab.runs import store as run_store
from mnist_lab.data import Dataset
from mnist_lab.text import markdown_text

#: The test image whose outputs illustrate B4 and B8 (the first one: the same for every run).
SAMPLE_INDEX = 0
#: Test images shown with their predictions in A3.
SHOWN_PREDICTIONS = 20
#: Training images of each digit shown in A1.
GALLERY_PER_CLASS = 6
#: Why there is no run evidence, when the caller gives no reason.
NO_RUN = "There is no trained run yet: train one on the Train page (the fast preset takes about 10 s) and come back."


@dataclass(frozen=True)
class Question:
    """One numbered question of the assignment.

    Attributes
    ----------
    id : str
        Stable lower-case id, also the heading's anchor (``"a1"`` ... ``"b9"``).
    number : str
        The number as printed (``"A1"``).
    title : str
        A few words, for headings and links.
    text : str
        The question in full.
    """

    id: str
    number: str
    title: str
    text: str


QUESTIONS: tuple[Question, ...] = (
    Question("a1", "A1", "Show the digits 0-9", "Show the digits 0-9, to know what goes into the model."),
    Question("a2", "A2", "A CNN, and why these settings", "Use a CNN for handwriting recognition, and give the "
             "reason for the chosen loss function, optimizer and other settings."),
    Question("a3", "A3", "Print some outputs", "Print some outputs to make sure the model is right."),
    Question("a4", "A4", "ROC, recall and the like", "Use ROC, recall and the like to see the model's performance."),
    Question("b1", "B1", "Why scale the pixels", "Why must the image data be scaled (for example divided by 255.0)?"),
    Question("b2", "B2", "Why a training and a test set", "Why must the data be split into training and test sets?"),
    Question("b3", "B3", "How many input values", "With a fully connected (Dense) input layer, how many input values "
             "does each 28x28 grey image give?"),
    Question("b4", "B4", "The final Dense layer of 10", "What is the purpose of a final Dense layer with 10 neurons?"),
    Question("b5", "B5", "Perceptron or Dense layer", "What is the difference between a perceptron and a Dense layer?"),
    Question("b6", "B6", "Why training accuracy is higher", "Why is training accuracy usually higher than test accuracy?"),
    Question("b7", "B7", "What a confusion matrix tells", "What does a confusion matrix tell about the model?"),
    Question("b8", "B8", "Why np.argmax", "Why is `np.argmax()` used when predicting digits?"),
    Question("b9", "B9", "An image of the wrong shape", "What happens when an image of the wrong shape (28x28x3 "
             "instead of 28x28x1) is fed to the model?"),
)
PARTS = {"a": "Part A: the assignment", "b": "Part B: the concept questions"}


def question(question_id: str) -> Question:
    """Return the question with id ``question_id`` (case-insensitive); ValueError lists the ids."""
    for candidate in QUESTIONS:
        if candidate.id == str(question_id).lower():
            return candidate
    raise ValueError(f"no question {question_id!r}; the ids are {', '.join(q.id for q in QUESTIONS)}")


@dataclass(frozen=True)
class Figures:
    """Headline figures, already formatted, label to value."""

    values: dict[str, str]
    caption: str = ""


@dataclass(frozen=True)
class Table:
    """A table of evidence."""

    frame: pd.DataFrame
    caption: str = ""


@dataclass(frozen=True)
class Images:
    """Pictures (uint8 grey arrays), each with a short caption."""

    images: tuple[np.ndarray, ...]
    captions: tuple[str, ...]
    caption: str = ""


@dataclass(frozen=True)
class Chart:
    """An Altair chart."""

    chart: Any
    caption: str = ""


@dataclass(frozen=True)
class Code:
    """Code and what it printed or raised."""

    code: str
    caption: str = ""


Evidence = Figures | Table | Images | Chart | Code


@dataclass(frozen=True)
class Answer:
    """The answer to one question.

    Attributes
    ----------
    question : Question
    text : str
        The answer in Markdown (paragraphs, ``- `` lists, ``**bold**``, ``*italic*``, ```code```);
        user-supplied text in it is escaped with :func:`markdown_text`.
    evidence : tuple of Evidence
    todo : str
        What the user can do to complete the evidence (empty when nothing is missing).
    experiment : str
        Key of the comparison run (``mnist_lab.training.experiments.EXPERIMENTS``) offered with the answer, or "".
    """

    question: Question
    text: str
    evidence: tuple[Evidence, ...] = ()
    todo: str = ""
    experiment: str = ""


@dataclass(frozen=True)
class Report:
    """Every question's answer for one run (or for the data alone).

    Attributes
    ----------
    title : str
        Plain text; contains the run's name when there is one.
    intro : str
        Markdown: which run and model the answers describe, or what is missing.
    answers : tuple of Answer
        In question order.
    """

    title: str
    intro: str
    answers: tuple[Answer, ...]

    def answer(self, question_id: str) -> Answer:
        """Return the answer to ``question_id``."""
        wanted = question(question_id)
        return next(answer for answer in self.answers if answer.question == wanted)


@dataclass(frozen=True)
class RunEvidence:
    """What the report takes from a run whose model can be used.

    Attributes
    ----------
    run : Run
        The run, with its history.
    model : RunModel
        Its loaded model.
    evaluation : Evaluation
        Its evaluation on the full test set (:func:`mnist_lab.evaluation.evaluate_run`).
    scores : numpy.ndarray
        Its class probabilities for every test image, (n, 10).
    """

    run: run_store.Run
    model: inference.RunModel
    evaluation: evaluation.Evaluation
    scores: np.ndarray


@dataclass(frozen=True)
class DataFacts:
    """The data-only evidence, the same for every run (worth computing once).

    Attributes
    ----------
    counts : pandas.DataFrame
        Images per class and split (:func:`mnist_lab.data.explore.class_counts`).
    pixels : dict
        :func:`mnist_lab.data.explore.pixel_facts`.
    gallery : dict
        Class name to uint8 images (:func:`mnist_lab.data.explore.gallery` of the training split, seed 0).
    """

    counts: pd.DataFrame
    pixels: dict[str, float]
    gallery: dict[str, np.ndarray]


def data_facts(dataset: Dataset) -> DataFacts:
    """Compute the data-only evidence of ``dataset``."""
    return DataFacts(
        counts=explore.class_counts(dataset),
        pixels=explore.pixel_facts(dataset),
        gallery=explore.gallery(dataset, "train", GALLERY_PER_CLASS, seed=0),
    )


@dataclass(frozen=True)
class _Sources:
    """Everything the answer builders read."""

    data: Dataset
    facts: DataFacts
    run: RunEvidence | None
    problem: str
    outcomes: dict[str, experiments.Outcome | None] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The run's name, escaped for Markdown and in bold."""
        return f"**{markdown_text(self.run.run.name)}**" if self.run else ""

    @property
    def layers(self) -> pd.DataFrame:
        """The run's model, layer by layer."""
        return pd.DataFrame(architectures.summary_table(self.run.model.model))

    @property
    def pixels_per_image(self) -> int:
        height, width = self.data.image_shape
        return height * width


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
    sources = _Sources(dataset, facts or data_facts(dataset), run, problem, outcomes or {})
    builders = (_a1, _a2, _a3, _a4, _b1, _b2, _b3, _b4, _b5, _b6, _b7, _b8, _b9)
    answers = tuple(build(sources, q) for build, q in zip(builders, QUESTIONS))
    if run is None:
        return Report("MNIST Lab report", f"{problem} Until then, the answers use the data alone where they can.", answers)
    ev, chosen = run.evaluation, run.run
    label = _label(architectures.ARCHITECTURES, chosen.model_config.get("architecture"))
    intro = (f"Run **{markdown_text(chosen.name)}** ({label}, {chosen.status}): the model of epoch {ev.epoch}, "
             f"evaluated on all {ev.summary['n']:,} test images of {markdown_text(dataset.name)}.")
    return Report(f"MNIST Lab report: {chosen.name}", intro, answers)


def _needs_run(sources: _Sources, what: str) -> str:
    """Why this answer lacks the run's evidence and what it will show: ``what``."""
    return f"{sources.problem} Then this answer shows {what}."


def _a1(sources: _Sources, q: Question) -> Answer:
    data, counts = sources.data, sources.facts.counts
    train = counts[counts["split"] == "train"]
    height, width = data.image_shape
    text = (f"{markdown_text(data.name)} holds {len(data.y_train):,} training and {len(data.y_test):,} test images of "
            f"handwritten digits, each {height}x{width} grey pixels ({data.x_train.dtype}, "
            f"{int(data.x_train.min())}-{int(data.x_train.max())}) with its label 0-9: this grid of numbers is "
            f"exactly what goes into the model. Every digit has between {train['share'].min():.1%} and "
            f"{train['share'].max():.1%} of the training images, so no digit dominates.")
    # White space after each strip keeps neighbouring digits' strips apart when they sit side by side.
    strips = tuple(np.pad(explore.tile(images, scale=2), ((0, 0), (0, 24)), constant_values=255)
                   for images in sources.facts.gallery.values())
    table = counts.pivot(index="class", columns="split", values="count")[["train", "test"]].reset_index()
    table.columns.name = None
    return Answer(q, text, (
        Images(strips, tuple(sources.facts.gallery), f"{GALLERY_PER_CLASS} random training images of each digit "
               "(dark ink on white)"),
        Table(table, "Images per digit and split"),
    ))


def _a2(sources: _Sources, q: Question) -> Answer:
    general = ("A CNN (convolutional neural network) slides small learned filters over the image, so a stroke detector "
               "works anywhere in the picture and neighbouring pixels are treated as neighbours; pooling makes it "
               "tolerant to small shifts. That is why CNNs beat fully connected networks on handwriting.")
    if sources.run is None:
        return Answer(q, general, todo=_needs_run(sources, "its layers and the reasons for its loss and optimizer"))
    run, layers = sources.run.run, sources.layers
    model, train = run.model_config, run.train_config
    convolutions = int(layers["type"].str.startswith("Conv").sum())
    architecture = _label(architectures.ARCHITECTURES, model.get("architecture"))
    if convolutions:
        verdict = (f"Run {sources.name} is a CNN: the **{architecture}** network, {convolutions} convolution "
                   f"layer{'s' if convolutions > 1 else ''} and {int(layers['params'].sum()):,} parameters.")
    else:
        verdict = (f"Run {sources.name} uses the **{architecture}** network, which has no convolution layer: it "
                   "is not a CNN. For this question train `fast` or `keras-classic` on the Train page and make it the "
                   "active run.")
    images, validation = _split_sizes(sources)
    settings = (f"It was trained with the **{_label(optim.LOSSES, train.get('loss'))}** loss and the "
                f"**{_label(optim.OPTIMIZERS, train.get('optimizer'))}** optimizer at learning rate "
                f"{train.get('learning_rate', 0):g} ({_label(optim.SCHEDULES, train.get('schedule'))} schedule), "
                f"batch size {train.get('batch_size')}, {train.get('epochs')} epochs on {images:,} training images "
                f"({validation:,} more held out for validation), inputs "
                f"{'scaled to 0-1' if model.get('scale_inputs', True) else 'left at 0-255'}"
                f"{', with augmentation' if model.get('augment') else ''}. The reasons stored with the run:")
    kinds = {"architecture": "Network", "loss": "Loss", "optimizer": "Optimizer", "schedule": "Learning-rate schedule"}
    reasons = "\n".join(f"- **{kind}.** {run.reasons[key]}" for key, kind in kinds.items() if run.reasons.get(key))
    text = f"{general}\n\n{verdict} {settings}\n\n{reasons}"
    return Answer(q, text, (_layer_table(layers, "The model, layer by layer (None: the batch size)"),))


def _width(output_shape: str) -> int:
    """The last dimension of a summary's output shape, "(None, 3, 3, 64)" -> 64."""
    return int(re.findall(r"\d+", output_shape)[-1])


def _layer_table(layers: pd.DataFrame, caption: str) -> Table:
    """Rows of a model summary with column titles for readers."""
    return Table(layers.rename(columns=architectures.SUMMARY_TITLES), caption)


def _label(choices: dict, key: str | None) -> str:
    """The label of a registry choice, or the key itself if the registry no longer has it."""
    return choices[key].label if key in choices else str(key)


def _split_sizes(sources: _Sources) -> tuple[int, int]:
    """Training and validation images of the run, cut from the training split as training does."""
    train_config = config.from_dict(config.TrainConfig, sources.run.run.train_config)
    return training.split_sizes(len(sources.data.y_train), train_config)


def _a3(sources: _Sources, q: Question) -> Answer:
    general = "Printing outputs means: show test images the model never trained on, next to what it answers."
    if sources.run is None:
        return Answer(q, general, todo=_needs_run(sources, "its answers for test images"))
    data, scores, summary = sources.data, sources.run.scores, sources.run.evaluation.summary
    first = predictions.select_samples(scores, data.y_test, order=predictions.ORDERS[2], limit=SHOWN_PREDICTIONS).frame
    right = int(first["correct"].sum())
    wrong = int(round((1 - summary["accuracy"]) * summary["n"]))
    text = (f"{general} Run {sources.name} gets {right} of the first {len(first)} test images right. Over all "
            f"{summary['n']:,} test images it is right {summary['accuracy']:.2%} of the time: {wrong:,} mistakes. "
            "The printed outputs of the first three images are 10 probabilities each; `np.argmax` turns each row "
            "into a digit, which is compared with the true label.")
    rows = scores[:3]
    printed = np.array2string(rows.round(3), precision=3, floatmode="fixed", max_line_width=120)
    code = ("probabilities = model.predict(x_test[:3])\nprint(probabilities.round(3))\n"
            + "".join(f"# {line}\n" for line in printed.splitlines()) +
            f"np.argmax(probabilities, axis=1)  # {np.argmax(rows, axis=1).tolist()}\n"
            f"y_test[:3]                        # {data.y_test[:3].tolist()}")
    evidence = [
        Images(tuple(predictions.thumbnails(data.x_test, first["index"], scale=2)), tuple(first["caption"]),
               f"The first {len(first)} test images: ✓ right or ✗ wrong, true → predicted digit, confidence"),
        Code(code, "Printed outputs"),
    ]
    mistakes = predictions.select_samples(scores, data.y_test, mistakes_only=True, order=predictions.ORDERS[1], limit=10)
    if mistakes.matches:
        evidence.append(Images(tuple(predictions.thumbnails(data.x_test, mistakes.frame["index"], scale=2)),
                               tuple(mistakes.frame["caption"]), "The mistakes it was surest of"))
    return Answer(q, text, tuple(evidence))


def _a4(sources: _Sources, q: Question) -> Answer:
    general = ("Accuracy alone hides which digits fail. Recall is the share of a digit's images the model finds, "
               "precision the share of its answers for that digit that are right, F1 their harmonic mean. ROC curves "
               "plot recall against the false positive rate as the threshold on one digit's probability falls; the "
               "area under them (AUC) is 1 for a perfect ranking and 0.5 for guessing.")
    if sources.run is None:
        return Answer(q, general, todo=_needs_run(sources, "its recall, precision and ROC curves"))
    ev = sources.run.evaluation
    s, per_class = ev.summary, ev.per_class
    low, high = per_class.loc[per_class["recall"].idxmin()], per_class.loc[per_class["recall"].idxmax()]
    auc_low = per_class.loc[per_class["roc_auc"].idxmin()]
    text = (f"{general}\n\nRun {sources.name} on the {s['n']:,} test images: accuracy {s['accuracy']:.2%}, macro "
            f"recall {s['recall_macro']:.2%}, macro precision {s['precision_macro']:.2%}, macro F1 {s['f1_macro']:.2%}, "
            f"macro ROC AUC {s['roc_auc_macro']:.4f}. Recall is lowest for digit {low['class']} "
            f"({low['recall']:.2%}) and highest for {high['class']} ({high['recall']:.2%}); the lowest ROC AUC is "
            f"digit {auc_low['class']}'s ({auc_low['roc_auc']:.4f}).")
    figures = {"Test accuracy": f"{s['accuracy']:.2%}", "Macro recall": f"{s['recall_macro']:.2%}",
               "Macro precision": f"{s['precision_macro']:.2%}", "Macro F1": f"{s['f1_macro']:.2%}",
               "Macro ROC AUC": f"{s['roc_auc_macro']:.4f}"}
    classes = list(sources.data.class_names)
    table = per_class[["class", "precision", "recall", "f1", "roc_auc", "support"]]
    return Answer(q, text, (
        Figures(figures),
        Table(table.rename(columns={"f1": "F1", "roc_auc": "ROC AUC", "support": "test images"}), "Per digit"),
        Chart(charts.roc_chart(ev.roc, classes, [*classes, *charts.AVERAGES]), "ROC curves, one digit "
              "against the rest, with the micro and macro averages"),
        Chart(charts.recall_bars(per_class, accuracy=s["accuracy"]), "Recall per digit; the line is the accuracy"),
    ))


def _b1(sources: _Sources, q: Question) -> Answer:
    pixels = sources.facts.pixels
    text = ("Pixels are stored as whole numbers from 0 to 255; dividing by 255.0 maps them to 0-1 without changing the "
            "picture. A network starts from small random weights chosen for inputs of about that size: on 0-255 the "
            "first layer's weighted sums are up to 255 times larger, the softmax saturates, the first losses and "
            "gradients are huge and the usual learning rates take far too big steps, so training is slower, unstable "
            f"or diverges. In this data {pixels['zero_share']:.0%} of the pixels are 0, and the mean pixel is "
            f"{pixels['mean']:.1f} (std {pixels['std']:.1f}); divided by 255: {pixels['mean'] / 255:.3f} "
            f"(std {pixels['std'] / 255:.3f}).")
    if sources.run is not None:
        scaled = sources.run.run.model_config.get("scale_inputs", True)
        text += (f"\n\nRun {sources.name} " + ("scales inside the model: its first layer is `Rescaling(1/255)`, so raw "
                 "0-255 images can be fed to it as they are." if scaled else "feeds the raw 0-255 pixels to its first "
                 "layer: scaling is off."))
    figures = Figures({"Pixels that are 0": f"{pixels['zero_share']:.0%}", "Mean pixel (0-255)": f"{pixels['mean']:.1f}",
                       "Mean pixel (÷255)": f"{pixels['mean'] / 255:.3f}"}, "All training pixels")
    text, evidence = _with_outcome(sources, "b1-scaling", text, [figures], _scaling_result)
    return Answer(q, text, evidence, experiment="b1-scaling")


def _with_outcome(
    sources: _Sources, key: str, text: str, evidence: list[Evidence], describe: Callable[[experiments.Outcome], str]
) -> tuple[str, tuple[Evidence, ...]]:
    """Add a comparison's result to an answer once it has finished, else say how to get it."""
    outcome = sources.outcomes.get(key)
    train = experiments.SMALL_TRAIN
    if outcome is None or not outcome.complete:
        how = (f"\n\nThe comparison below trains both on the same {train.train_limit:,} images for {train.epochs} "
               f"epoch{'s' if train.epochs != 1 else ''} and quotes the result here.")
        return text + how, tuple(evidence)
    first = outcome.runs[0]
    images = first.train_config.get("train_limit") or len(sources.data.y_train)
    epochs = first.train_config.get("epochs")
    result = (f"\n\n**Comparison** ({images:,} images, {epochs} epoch{'s' if epochs != 1 else ''} each): "
              + describe(outcome))
    return text + result, (*evidence, Table(outcome.table(), "The comparison runs"))


def _scaling_result(outcome: experiments.Outcome) -> str:
    """One paragraph on a finished scaling comparison, from its figures."""
    scaled, raw = outcome.runs
    if raw.status == run_store.DIVERGED or scaled.status == run_store.DIVERGED:
        which = "raw 0-255 inputs" if raw.status == run_store.DIVERGED else "scaled inputs"
        return f"with {which} the training diverged (the loss blew up); {raw.message or scaled.message}"
    on, off = scaled.metrics.get("val_accuracy"), raw.metrics.get("val_accuracy")
    if on is None or off is None:
        return "the runs have no validation accuracy to compare."
    text = f"scaled inputs reached {on:.1%} validation accuracy, raw inputs {off:.1%}. "
    points = (on - off) * 100
    if points >= 1:
        text += f"Scaling paid off: {points:.1f} percentage points."
    elif points <= -1:
        text += f"This time raw inputs did better by {-points:.1f} points: small runs vary, look at the losses too."
    else:
        text += "The accuracies are within a point of each other."
    loss_on, loss_off = (run.history[0].get("loss") if run.history else None for run in (scaled, raw))
    if loss_on and loss_off and loss_off > 1.5 * loss_on:
        text += f" Without scaling the first epoch's loss was {loss_off / loss_on:.1f} times higher ({loss_off:.3f} " \
                f"against {loss_on:.3f}): the network started from far worse predictions."
    if abs(points) < 1 and _normalises(raw.model_config):
        text += (" This network normalises its activations itself (batch normalisation right after its first "
                 "layer), which undoes most of the scale; networks without it, such as the perceptron or the Keras "
                 "example, show a bigger gap.")
    return text


def _normalises(model: dict[str, Any]) -> bool:
    """Whether the network has batch normalisation after its first layer."""
    return model.get("architecture") in ("fast", "deep") or (model.get("architecture") == "custom"
                                                              and bool(model.get("batch_norm")))


def _b2(sources: _Sources, q: Question) -> Answer:
    data = sources.data
    text = ("A model is only useful on images it has never seen, so that is where it must be judged. The weights are "
            "fitted to the training images: measured on them, accuracy also rewards memorising their quirks. The test "
            "images stay untouched until the end and estimate the accuracy on new handwriting; a validation share, "
            "cut from the training images, guides choices such as the number of epochs without using up the test set. "
            f"{markdown_text(data.name)} comes split: {len(data.y_train):,} training and {len(data.y_test):,} test "
            "images.")
    rows = [("training split", len(data.y_train), "fitting the weights (and validation)"),
            ("test split", len(data.y_test), "the final, honest measurement")]
    if sources.run is not None:
        images, validation = _split_sizes(sources)
        s = sources.run.evaluation.summary
        rows = [("trained on", images, "fitting the weights"), ("validated on", validation, "choices during training"),
                ("tested on", len(data.y_test), "the final, honest measurement")]
        text += (f"\n\nRun {sources.name} trained on {images:,} images and held out {validation:,} for validation. "
                 + (f"On {s['train_images']:,} of its training images it scores {s['train_accuracy']:.2%}, on the "
                    f"test images {s['accuracy']:.2%}." if s.get("train_accuracy") is not None else
                    f"On the test images it scores {s['accuracy']:.2%}."))
    table = pd.DataFrame(rows, columns=["images", "count", "used for"])
    return Answer(q, text, (Table(table, "How the images are used"),))


def _b3(sources: _Sources, q: Question) -> Answer:
    height, width = sources.data.image_shape
    inputs = sources.pixels_per_image
    text = (f"{height} x {width} x 1 = **{inputs}** input values. A Dense layer takes a flat list, so `Flatten` (or "
            f"`reshape(-1, {inputs})`) lays the {height} rows of {width} pixels end to end; each value is one pixel's "
            f"brightness, and every neuron of the first Dense layer has one weight per value ({inputs} weights plus a "
            "bias).")
    code = (f"x_train.shape                 # {tuple(sources.data.x_train.shape)}\n"
            f"x_train[0].reshape(-1).shape  # ({inputs},)")
    evidence: list[Evidence] = [Code(code, "One image, flattened")]
    if sources.run is None:
        return Answer(q, text, tuple(evidence))
    layers = sources.layers
    flat = layers.index[layers["type"] == "Flatten"]
    if len(flat):
        shown = layers.iloc[: flat[0] + 2]
        values = _width(layers.loc[flat[0], "output_shape"])
        convolutions = bool(layers.iloc[: flat[0]]["type"].str.startswith("Conv").any())
        text += (f"\n\nIn run {sources.name} the `Flatten` layer hands **{values:,}** values to the Dense layer after "
                 "it: " + ("not the raw pixels but the feature maps left after its convolutions and pooling." if
                           convolutions else "the raw pixels."))
        evidence.append(_layer_table(shown, "The run's model up to its first Dense layer"))
    return Answer(q, text, tuple(evidence))


def _b4(sources: _Sources, q: Question) -> Answer:
    text = ("One neuron per class. The last Dense layer turns everything the network computed into 10 scores, one for "
            "each digit 0-9, and its softmax activation turns them into 10 probabilities that add up to 1. The loss "
            "compares these 10 numbers with the true label during training; when predicting, the largest one is the "
            "answer.")
    if sources.run is None:
        return Answer(q, text, todo=_needs_run(sources, "its output layer and a real softmax vector"))
    last = sources.layers.iloc[[-1]]
    units = _width(last["output_shape"].iloc[0])
    params = int(last["params"].iloc[0])
    out = predictions.explain_output(sources.run.scores[SAMPLE_INDEX])
    text += (f"\n\nIn run {sources.name} it is `{last['layer'].iloc[0]}`: {units} neurons, {params:,} parameters "
             f"({params // units - 1:,} inputs x {units} weights + {units} biases). For test image #{SAMPLE_INDEX} its "
             f"10 outputs add up to {out.total:.3f}.")
    return Answer(q, text, (_layer_table(last, "The output layer"),
                            Chart(charts.probability_bars(out.frame),
                                  f"The 10 outputs for test image #{SAMPLE_INDEX}")))


def _b5(sources: _Sources, q: Question) -> Answer:
    inputs = sources.pixels_per_image
    text = ("A perceptron (Rosenblatt, 1958) is a single neuron: a weighted sum of its inputs plus a bias, passed "
            "through a step function, so it answers yes or no and can only separate two classes with a straight "
            "line (a hyperplane). A Dense layer is many such neurons side by side, each connected to every input, with "
            "a smooth activation (ReLU, softmax...) so that it can be trained by gradient descent together with the "
            f"layers around it. This app's *perceptron* network is one Dense layer of 10 softmax neurons on the "
            f"{inputs} pixels, {(inputs + 1) * 10:,} parameters: still a linear classifier, one pixel template per "
            "digit. Stacking layers with non-linear activations, or convolutions, lets a network combine strokes "
            "into shapes.")
    text, evidence = _with_outcome(sources, "b5-perceptron-vs-cnn", text, [], _perceptron_result)
    return Answer(q, text, evidence, experiment="b5-perceptron-vs-cnn")


def _perceptron_result(outcome: experiments.Outcome) -> str:
    """One sentence on a finished perceptron-against-CNN comparison, from its figures."""
    perceptron, cnn = (run.metrics.get("val_accuracy") for run in outcome.runs)
    if perceptron is None or cnn is None:
        return "the runs have no validation accuracy to compare."
    return (f"the perceptron reached {perceptron:.1%} validation accuracy, the CNN {cnn:.1%}: "
            f"{(cnn - perceptron) * 100:.1f} percentage points apart.")


def _b6(sources: _Sources, q: Question) -> Answer:
    if sources.run is None:
        text = ("Because the weights were fitted to exactly the training images: the network partly memorises their "
                "quirks, while the test images are new to it.")
        return Answer(q, text, todo=_needs_run(sources, "its own training and test accuracy"))
    run, s = sources.run.run, sources.run.evaluation.summary
    text = evaluation.gap_explanation(s)
    figures = {"Test accuracy": f"{s['accuracy']:.2%}"}
    if s.get("train_accuracy") is not None:
        text = (f"Run {sources.name}: {s['train_accuracy']:.2%} on {s['train_images']:,} of its training images, "
                f"{s['accuracy']:.2%} on the {s['n']:,} test images. {text}")
        figures = {"Train accuracy": f"{s['train_accuracy']:.2%}", **figures,
                   "Gap (points)": f"{s['accuracy_gap'] * 100:.1f}"}
    evidence: list[Evidence] = [Figures(figures)]
    last = run.history[-1] if run.history else {}
    if "val_accuracy" in last:
        text += (f"\n\nIts training log agrees: in the last epoch training accuracy {last['accuracy']:.2%}, validation "
                 f"accuracy {last['val_accuracy']:.2%}. The log's training figure averages over the epoch while the "
                 "weights still change, so it is usually a little below the model's final accuracy on those images.")
    history = curves.history_frame(run.history)
    if len(history):
        evidence.append(Chart(charts.epoch_curves(history), "Loss and accuracy per epoch"))
    return Answer(q, text, tuple(evidence))


def _b7(sources: _Sources, q: Question) -> Answer:
    text = evaluation.CONFUSION_MATRIX_EXPLAINED
    if sources.run is None:
        return Answer(q, text, todo=_needs_run(sources, "its confusion matrix and the digits it mixes up"))
    ev = sources.run.evaluation
    wrong = int(ev.confusion.loc[ev.confusion["true"] != ev.confusion["predicted"], "count"].sum())
    pairs = ev.confused_pairs
    named = "; ".join(f"{row['count']} images of {_a(row['true'])} read as {row['predicted']}" for _, row in
                      pairs.head(3).iterrows())
    text += (f"\n\nRun {sources.name}: {wrong:,} of {ev.summary['n']:,} test images are off the diagonal. "
             + (f"The most frequent mistakes: {named}." if len(pairs) else "No mistakes at all."))
    return Answer(q, text, (Chart(charts.confusion_heatmap(ev.confusion), "Confusion matrix of the test images"),
                            Table(pairs, "The most confused pairs")))


def _a(digit: Any) -> str:
    """The digit with its indefinite article: "a 7", "an 8"."""
    return f"{'an' if str(digit) == '8' else 'a'} {digit}"


def _b8(sources: _Sources, q: Question) -> Answer:
    text = ("The model does not output a digit but 10 probabilities, one per digit (softmax). `np.argmax` returns the "
            "position of the largest, and position k holds the probability of digit k, so that position is the "
            "predicted digit. For a batch, `np.argmax(probabilities, axis=1)` does this for every row.")
    if sources.run is None:
        return Answer(q, text, todo=_needs_run(sources, "a real softmax vector and its argmax"))
    out = predictions.explain_output(sources.run.scores[SAMPLE_INDEX])
    truth = int(sources.data.y_test[SAMPLE_INDEX])
    text += (f"\n\nRun {sources.name} on test image #{SAMPLE_INDEX} ({_a(truth)}): the largest output is at position "
             f"**{out.predicted}** ({out.confidence:.1%}), the runner-up {out.runner_up} "
             f"({out.runner_up_probability:.1%}), so the predicted digit is {out.predicted}.")
    code = (f"probabilities = model.predict(x_test[{SAMPLE_INDEX}:{SAMPLE_INDEX + 1}])[0]\nprint(probabilities.round(3))"
            f"\n# {out.printed}\nnp.argmax(probabilities)  # {out.predicted}\ny_test[{SAMPLE_INDEX}]  # {truth}")
    image = explore.tile(sources.data.x_test[SAMPLE_INDEX : SAMPLE_INDEX + 1], scale=4)
    return Answer(q, text, (Images((image,), (f"test image #{SAMPLE_INDEX}",)), Code(code, "The softmax vector")))


def _b9(sources: _Sources, q: Question) -> Answer:
    text = ("The model was built for `Input(shape=(28, 28, 1))`: one grey channel. A colour image has 3 channels "
            "(28x28x3), so Keras refuses it before computing anything, with an error naming the expected and the found "
            "shape; a single image without the batch axis in front is refused too. The fix: convert to grey (average the "
            "channels, or Pillow's `.convert('L')`), keep one channel axis and add the batch axis: (1, 28, 28, 1).")
    if sources.run is None:
        return Answer(q, text, todo=_needs_run(sources, "the real error message of its model"))
    attempts = predictions.wrong_shape_demo(sources.run.model, sources.data.x_test[SAMPLE_INDEX])
    failed = [attempt for attempt in attempts if attempt.error is not None]
    if failed:
        text += (f"\n\nRun {sources.name} raises `{failed[0].error_type}` for the 28x28x3 image; these are its real "
                 "messages, and the fix that works:")
    evidence = tuple(
        Code(f"# input shape {attempt.shape}\n{attempt.code}\n" + "\n".join(f"# {line}".rstrip() for line in (
            f"→ {attempt.error_type}: {attempt.error}" if attempt.error else
            f"→ works: 10 probabilities, np.argmax gives {attempt.predicted}").splitlines()))
        for attempt in attempts
    )
    return Answer(q, text, evidence)


def to_markdown(report: Report) -> str:
    """The report as Markdown: the question numbers as headings, figures and tables as text, pictures inline.

    Pictures are embedded as PNG data URIs; charts are only named (the HTML export has them).
    """
    lines = [f"# {markdown_text(report.title)}", "", report.intro, ""]
    part = ""
    for answer in report.answers:
        q = answer.question
        if q.id[0] != part:
            part = q.id[0]
            lines += [f"## {PARTS[part]}", ""]
        lines += [f"### {q.number}. {q.title}", "", f"> {q.text}", "", answer.text, ""]
        for item in answer.evidence:
            lines += [_evidence_markdown(item), ""]
        if answer.todo:
            lines += [f"*{answer.todo}*", ""]
    return "\n".join(lines)


def _evidence_markdown(item: Evidence) -> str:
    """One piece of evidence in Markdown."""
    caption = f"*{markdown_text(item.caption)}*\n\n" if item.caption else ""
    if isinstance(item, Figures):
        return caption + "\n".join(f"- **{label}:** {value}" for label, value in item.values.items())
    if isinstance(item, Table):
        return caption + _markdown_table(item.frame)
    if isinstance(item, Images):
        return caption + " ".join(f"![{markdown_text(text)}](data:image/png;base64,{_png_base64(image)})"
                                  for image, text in zip(item.images, item.captions))
    if isinstance(item, Chart):
        return f"*Chart: {markdown_text(item.caption)} (in the HTML report).*"
    fence = "````" if "```" in item.code else "```"
    return f"{caption}{fence}\n{item.code}\n{fence}"


def _cell(value: Any) -> str:
    """A table cell as text: floats to 4 decimals, missing values empty."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{value:.4f}"
    return str(value)


def _markdown_table(frame: pd.DataFrame) -> str:
    """A pipe table; cells are escaped so that they cannot break the table or format text."""
    header = [markdown_text(column) for column in frame.columns]
    rows = [[markdown_text(_cell(value)) for value in row] for row in frame.itertuples(index=False)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def _png_base64(image: np.ndarray) -> str:
    """A uint8 grey image as base64 PNG."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.5; }
h1 { font-size: 1.8em; } h2 { margin-top: 2em; border-bottom: 2px solid #ddd; } h3 { margin-top: 1.8em; }
blockquote { margin: 0.5em 0; padding: 0.3em 1em; border-left: 4px solid #6c8ebf; background: #f3f6fb; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; vertical-align: top; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; white-space: pre-wrap; font-size: 0.85em; }
code { background: #f3f3f3; padding: 0 0.2em; } pre code { background: none; padding: 0; }
figure { display: inline-block; margin: 0.3em; text-align: center; font-size: 0.8em; }
.evidence-caption { color: #555; font-size: 0.9em; font-style: italic; margin-bottom: 0.2em; }
.todo { background: #fff6dd; padding: 0.5em 1em; border-radius: 4px; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.1em 1em; } dt { font-weight: 600; } dd { margin: 0; }
nav a { margin-right: 0.6em; }
"""


def to_html(report: Report) -> str:
    """The report as one self-contained HTML document: no script, no external file, pictures and charts inline.

    Charts are rendered to SVG with vl-convert (offline) and embedded as ``<img>`` data URIs.
    """
    body = [f"<h1>{html.escape(report.title)}</h1>", f"<p>{_inline_html(report.intro)}</p>",
            "<nav>" + "".join(f'<a href="#{a.question.id}">{a.question.number}</a>' for a in report.answers) + "</nav>"]
    part = ""
    for answer in report.answers:
        q = answer.question
        if q.id[0] != part:
            part = q.id[0]
            body.append(f"<h2>{html.escape(PARTS[part])}</h2>")
        body += [f'<section id="{q.id}">', f"<h3>{q.number}. {html.escape(q.title)}</h3>",
                 f"<blockquote>{_inline_html(q.text)}</blockquote>", _markdown_html(answer.text)]
        body += [_evidence_html(item) for item in answer.evidence]
        if answer.todo:
            body.append(f'<p class="todo">{_inline_html(answer.todo)}</p>')
        body.append("</section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape(report.title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def _evidence_html(item: Evidence) -> str:
    """One piece of evidence in HTML."""
    caption = f'<p class="evidence-caption">{html.escape(item.caption)}</p>' if item.caption else ""
    if isinstance(item, Figures):
        pairs = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in item.values.items())
        return f"{caption}<dl>{pairs}</dl>"
    if isinstance(item, Table):
        frame = item.frame.map(_cell)
        return caption + frame.to_html(index=False, escape=True, border=0)
    if isinstance(item, Images):
        figures = "".join(
            f'<figure><img src="data:image/png;base64,{_png_base64(image)}" alt="{html.escape(text, quote=True)}">'
            f"<figcaption>{html.escape(text)}</figcaption></figure>"
            for image, text in zip(item.images, item.captions)
        )
        return f"{caption}<div>{figures}</div>"
    if isinstance(item, Chart):
        return caption + _chart_html(item)
    return f"{caption}<pre><code>{html.escape(item.code)}</code></pre>"


def _chart_html(item: Chart) -> str:
    """The chart as an SVG image, or a note when it cannot be rendered."""
    import vl_convert

    try:
        svg = vl_convert.vegalite_to_svg(item.chart.to_json())
    except (ValueError, RuntimeError) as error:
        return f"<p>This chart could not be drawn: {html.escape(str(error))}</p>"
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img src="data:image/svg+xml;base64,{data}" alt="{html.escape(item.caption, quote=True)}">'


_INLINE = re.compile(r"`[^`]*`|\*\*|\*|\\[^\w\s]|[^`*\\]+|.", re.DOTALL)


def _inline_html(text: str) -> str:
    """Inline Markdown (code, bold, italic, backslash escapes) as HTML; everything else is escaped."""
    out, open_tags = [], []
    for token in _INLINE.findall(text):
        if token.startswith("`") and token.endswith("`") and len(token) > 1:
            out.append(f"<code>{html.escape(token[1:-1])}</code>")
        elif token in ("**", "*"):
            tag = "strong" if token == "**" else "em"
            if open_tags and open_tags[-1] == tag:
                out.append(f"</{open_tags.pop()}>")
            else:
                open_tags.append(tag)
                out.append(f"<{tag}>")
        elif token.startswith("\\") and len(token) == 2:
            out.append(html.escape(token[1]))
        else:
            out.append(html.escape(token))
    out += [f"</{tag}>" for tag in reversed(open_tags)]
    return "".join(out)


def _markdown_html(text: str) -> str:
    """Paragraphs and ``- `` lists of the answers' Markdown as HTML."""
    blocks = []
    for block in text.split("\n\n"):
        lines = block.strip().splitlines()
        if lines and all(line.startswith("- ") for line in lines):
            blocks.append("<ul>" + "".join(f"<li>{_inline_html(line[2:])}</li>" for line in lines) + "</ul>")
        elif lines:
            blocks.append(f"<p>{_inline_html(' '.join(lines))}</p>")
    return "\n".join(blocks)


__all__ = [
    "NO_RUN", "SAMPLE_INDEX", "SHOWN_PREDICTIONS", "QUESTIONS", "PARTS", "Question", "question", "Figures", "Table", "Images", "Chart", "Code", "Evidence", "Answer",
    "Report", "RunEvidence", "DataFacts", "data_facts", "build_report", "markdown_text", "to_markdown", "to_html",
]
