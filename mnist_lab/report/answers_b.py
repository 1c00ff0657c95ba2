"""The answers to part B, the concept questions, each with the evidence of the run and the comparison runs."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import pandas as pd

from mnist_lab import charts, evaluation, predictions, training
from mnist_lab.charts import describe
from mnist_lab.data import explore
from mnist_lab.models import config, optim
from mnist_lab.report.evidence import Answer, Chart, Code, Evidence, Figures, Images, Table
from mnist_lab.report.questions import Question
from mnist_lab.report.sources import Sources, label, layer_table
from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text
from mnist_lab.training import curves, diagnosis, experiments

#: A training accuracy up to this many points above validation is the usual gap.
USUAL_GAP_POINTS = 2
#: The test image whose outputs illustrate B4 and B8 (the first one: the same for every run).
SAMPLE_INDEX = 0


def _b1(sources: Sources, q: Question) -> Answer:
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
    figures = Figures({"Pixels that are 0": f"{pixels['zero_share']:.0%}",
                       "Mean pixel (0-255)": f"{pixels['mean']:.1f}",
                       "Mean pixel (÷255)": f"{pixels['mean'] / 255:.3f}"}, "All training pixels")
    text, evidence = _with_outcome(sources, "b1-scaling", text, [figures], _scaling_result)
    return Answer(q, text, evidence, experiment="b1-scaling")


def _with_outcome(
    sources: Sources, key: str, text: str, evidence: list[Evidence], describe: Callable[[experiments.Outcome], str]
) -> tuple[str, tuple[Evidence, ...]]:
    """Add a comparison's result to the answer's evidence once it has finished (the page offers to run it).

    The result is evidence the student made, so it is the caption of the comparison's table, shown with the
    evidence; until a comparison has run, nothing promises one (an export has no button to run it).
    """
    outcome = sources.outcomes.get(key)
    if outcome is None or not outcome.complete:
        return text, tuple(evidence)
    train = config.from_dict(config.TrainConfig, outcome.runs[0].train_config)
    result = f"Comparison (each trained {_small_training(sources, train)}): " + describe(outcome)
    return text, (*evidence, Table(outcome.table(), result))


def _small_training(sources: Sources, train: config.TrainConfig) -> str:
    """The images and epochs of a comparison's training: "on the same 4,000 training images (1,000 more ...)"."""
    images, validation = training.split_sizes(len(sources.data.y_train), train)
    held = f" ({validation:,} more for validation)" if validation else ""
    return (f"on the same {images:,} training images{held} for {train.epochs} "
            f"epoch{'s' if train.epochs != 1 else ''}")


def _scaling_result(outcome: experiments.Outcome) -> str:
    """One paragraph on a finished scaling comparison, from its figures."""
    scaled, raw = outcome.runs
    diverged = [(name, run) for name, run in (("raw 0-255 inputs", raw), ("scaled inputs", scaled))
                if run.status == run_store.DIVERGED]
    if diverged:
        which = " and with ".join(name for name, _ in diverged)
        return f"with {which} the training diverged (the loss blew up); {diverged[0][1].message}"
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
                 "layer), which undoes most of the scale. To see the scale's full effect, make a network without it "
                 "(the perceptron or the Keras example) the active run and run the comparison again.")
    return text


def _normalises(model: dict[str, Any]) -> bool:
    """Whether the network has batch normalisation after its first layer."""
    return model.get("architecture") in ("fast", "deep") or (model.get("architecture") == "custom"
                                                              and bool(model.get("batch_norm")))


def _b2(sources: Sources, q: Question) -> Answer:
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
        images, validation = sources.split_sizes()
        s = sources.run.evaluation.summary
        rows = [("trained on", images, "fitting the weights"), ("validated on", validation, "choices during training"),
                ("tested on", len(data.y_test), "the final, honest measurement")]
        text += (f"\n\nRun {sources.name} trained on {images:,} images and held out {validation:,} for validation. "
                 + (f"On {s['train_images']:,} of its training images it scores {s['train_accuracy']:.2%}, on the "
                    f"test images {s['accuracy']:.2%}." if s.get("train_accuracy") is not None else
                    f"On the test images it scores {s['accuracy']:.2%}."))
    table = pd.DataFrame(rows, columns=["images", "count", "used for"])
    return Answer(q, text, (Table(table, "How the images are used"),))


def _width(output_shape: str) -> int:
    """The last dimension of a summary's output shape, "(None, 3, 3, 64)" -> 64."""
    return int(re.findall(r"\d+", output_shape)[-1])


def _b3(sources: Sources, q: Question) -> Answer:
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
        scaled = sources.run.run.model_config.get("scale_inputs", True)
        pixels = f"the pixels themselves ({'scaled to 0-1' if scaled else 'at 0-255'})"
        text += (f"\n\nIn run {sources.name} the `Flatten` layer hands **{values:,}** values to the Dense layer after "
                 "it: " + ("not the pixels but the feature maps left after its convolutions and pooling." if
                           convolutions else f"{pixels}."))
        evidence.append(layer_table(shown, "The run's model up to its first Dense layer"))
    return Answer(q, text, tuple(evidence))


def _b4(sources: Sources, q: Question) -> Answer:
    text = ("One neuron per class. The last Dense layer turns everything the network computed into 10 scores, one for "
            "each digit 0-9, and its softmax activation turns them into 10 probabilities that add up to 1. The loss "
            "compares these 10 numbers with the true label during training; when predicting, the largest one is the "
            "answer.")
    if sources.run is None:
        return Answer(q, text, todo=sources.needs_run("its output layer and a real softmax vector"))
    last = sources.layers.iloc[[-1]]
    units = _width(last["output_shape"].iloc[0])
    params = int(last["params"].iloc[0])
    out = predictions.explain_output(sources.run.scores[SAMPLE_INDEX])
    text += (f"\n\nIn run {sources.name} it is `{last['layer'].iloc[0]}`: {units} neurons, {params:,} parameters "
             f"({params // units - 1:,} inputs x {units} weights + {units} biases). For test image #{SAMPLE_INDEX} its "
             f"10 outputs add up to {out.total:.3f}.")
    return Answer(q, text, (layer_table(last, "The output layer"),
                            Chart(charts.probability_bars(out.frame),
                                  f"The 10 outputs for test image #{SAMPLE_INDEX}",
                                  summary=describe.probability_bars(out.frame), table=out.frame)))


def _b5(sources: Sources, q: Question) -> Answer:
    inputs = sources.pixels_per_image
    classes = len(sources.data.class_names)
    text = ("A perceptron (Rosenblatt, 1958) is a single neuron: a weighted sum of its inputs plus a bias, passed "
            "through a step function, so it answers yes or no and can only separate two classes with a straight "
            "line (a hyperplane). It is trained by the perceptron rule, which nudges the weights after each mistake; "
            "the step function has no useful gradient, so gradient descent cannot train it. A Dense layer is many "
            "neurons side by side, each connected to every input, with an activation that passes gradients on "
            "(softmax, tanh, or ReLU, which is differentiable everywhere except at 0, where Keras takes its "
            "gradient as 0), so that it can be trained by gradient descent together with the layers around it.\n\n"
            f"This app's *perceptron* network is not Rosenblatt's perceptron but its multiclass generalisation: one "
            f"Dense layer of {classes} softmax neurons on the {inputs} pixels, {(inputs + 1) * classes:,} parameters, "
            "trained by gradient descent on a differentiable loss (cross-entropy unless another is chosen), which "
            "makes it multinomial logistic (softmax) regression. Like the perceptron it is a linear classifier: one "
            "pixel template per class. Stacking layers with non-linear activations, or convolutions, lets a network "
            "combine strokes into shapes.")
    if sources.run is not None and sources.run.run.model_config.get("architecture") == "perceptron":
        train = sources.run.run.train_config
        text += (f" Run {sources.name} is such a network, trained with the "
                 f"**{label(optim.LOSSES, train.get('loss'))}** loss and the "
                 f"**{label(optim.OPTIMIZERS, train.get('optimizer'))}** optimizer.")
    text, evidence = _with_outcome(sources, "b5-perceptron-vs-cnn", text, [], _perceptron_result)
    return Answer(q, text, evidence, experiment="b5-perceptron-vs-cnn")


def _perceptron_result(outcome: experiments.Outcome) -> str:
    """One sentence on a finished perceptron-against-CNN comparison, from its figures."""
    perceptron, cnn = (run.metrics.get("val_accuracy") for run in outcome.runs)
    if perceptron is None or cnn is None:
        return "the runs have no validation accuracy to compare."
    points = (cnn - perceptron) * 100
    if abs(points) < 0.05:
        verdict = "the same."
    else:
        verdict = f"the {'CNN' if points > 0 else 'perceptron'} is {abs(points):.1f} percentage points ahead."
    return f"the perceptron reached {perceptron:.1%} validation accuracy, the CNN {cnn:.1%}: {verdict}"


def _b6(sources: Sources, q: Question) -> Answer:
    if sources.run is None:
        text = ("Because the weights were fitted to exactly the training images: the network partly memorises their "
                "quirks, while the test images are new to it.")
        return Answer(q, text, todo=sources.needs_run("its own training and test accuracy"))
    run, ev = sources.run.run, sources.run.evaluation
    s = ev.summary
    row = next((row for row in run.history if row.get("epoch") == ev.epoch), {})
    text = evaluation.gap_explanation(s, classes=len(sources.data.class_names),
                                      logged_train_accuracy=row.get("accuracy"))
    figures = {"Test accuracy": f"{s['accuracy']:.2%}"}
    if s.get("train_accuracy") is not None:
        text = (f"Run {sources.name}: {s['train_accuracy']:.2%} on {s['train_images']:,} of its training images, "
                f"{s['accuracy']:.2%} on the {s['n']:,} test images. {text}")
        figures = {"Train accuracy": f"{s['train_accuracy']:.2%}", **figures,
                   "Gap (points)": f"{s['accuracy_gap'] * 100:.1f}"}
    evidence: list[Evidence] = [Figures(figures)]
    row = next((row for row in run.history if row.get("epoch") == ev.epoch), {})
    if row.get("val_accuracy") is not None and row.get("accuracy") is not None:
        text += "\n\n" + _log_comparison(sources, row)
    history = curves.history_frame(run.history)
    if len(history):
        evidence.append(Chart(charts.epoch_curves(history), "Loss and accuracy per epoch",
                              panels=tuple(charts.metric_curve(history, metric) for metric in curves.METRICS),
                              summary=" ".join(describe.epoch_metric(history, metric) for metric in curves.METRICS),
                              table=history))
    return Answer(q, text, tuple(evidence))


def _log_comparison(sources: Sources, row: dict[str, Any]) -> str:
    """The training log's accuracies of the evaluated epoch compared, in whichever direction they differ."""
    train, val = row["accuracy"], row["val_accuracy"]
    points = (train - val) * 100
    figures = f"training accuracy {train:.2%}, validation accuracy {val:.2%}"
    opening = f"The training log of epoch {row['epoch']} (the model described here) shows {figures}"
    if abs(points) < 0.005:
        return f"{opening}: the same."
    if points >= diagnosis.COLLAPSE_GAP * 100:
        return (f"{opening}: training ahead by {points:.2f} points, far beyond the usual small gap. The network does "
                "much worse on images it did not train on: A2 says why, and what to try.")
    if points > USUAL_GAP_POINTS:
        return f"{opening}: training ahead by {points:.2f} points, more than the usual gap of a point or two."
    if points > 0:
        return f"{opening}: training ahead by {points:.2f} points, as usual."
    _, validation = sources.split_sizes()
    noise = 2 * math.sqrt(val * (1 - val) / validation) * 100  # two standard errors of an accuracy on that many images
    reasons = ["the log's training figure is a running mean over the epoch, taken while the weights were still "
               "changing, whereas validation uses the weights of the epoch's end"]
    if "Dropout" in set(sources.layers["type"]):
        reasons.append("dropout switches off part of the network for every training batch, and only then")
    if sources.run.run.model_config.get("augment"):
        reasons.append("the training images are randomly shifted, rotated and zoomed, the validation images are not")
    reasons.append(f"the {validation:,} validation images measure accuracy to about ±{noise:.1f} points only")
    return (f"{opening}: validation ahead by {-points:.2f} points. That does not contradict the rule, because the "
            f"two figures are not measured alike: {'; '.join(reasons)}.")


def _b7(sources: Sources, q: Question) -> Answer:
    text = evaluation.CONFUSION_MATRIX_EXPLAINED
    if sources.run is None:
        return Answer(q, text, todo=sources.needs_run("its confusion matrix and the digits it mixes up"))
    ev = sources.run.evaluation
    wrong = int(ev.confusion.loc[ev.confusion["true"] != ev.confusion["predicted"], "count"].sum())
    pairs = ev.confused_pairs
    named = "; ".join(f"{row['count']} image{'s' if row['count'] != 1 else ''} of {_a(row['true'])} read as "
                      f"{markdown_text(row['predicted'])}" for _, row in pairs.head(3).iterrows())
    text += (f"\n\nRun {sources.name}: {wrong:,} of {ev.summary['n']:,} test images are off the diagonal. "
             + (f"The most frequent mistakes: {named}." if len(pairs) else "No mistakes at all."))
    return Answer(q, text, (Chart(charts.confusion_heatmap(ev.confusion), "Confusion matrix of the test images",
                                  summary=describe.confusion(ev.confusion),
                                  table=ev.confusion[["true", "predicted", "count", "row_share"]]),
                            Table(pairs, "The most confused pairs")))


def _a(digit: Any) -> str:
    """The class with its indefinite article, as Markdown text: "a 7", "an 8"."""
    return f"{'an' if str(digit) == '8' else 'a'} {markdown_text(digit)}"


def _b8(sources: Sources, q: Question) -> Answer:
    text = ("The model does not output a digit but 10 probabilities, one per digit (softmax). `np.argmax` returns the "
            "position of the largest, and position k holds the probability of digit k, so that position is the "
            "predicted digit. For a batch, `np.argmax(probabilities, axis=1)` does this for every row.")
    if sources.run is None:
        return Answer(q, text, todo=sources.needs_run("a real softmax vector and its argmax"))
    out = predictions.explain_output(sources.run.scores[SAMPLE_INDEX])
    truth = int(sources.data.y_test[SAMPLE_INDEX])
    verdict = "right" if out.predicted == truth else f"wrong: it is {_a(truth)}"
    text += (f"\n\nRun {sources.name} on test image #{SAMPLE_INDEX} ({_a(truth)}): the largest output is at position "
             f"**{out.predicted}** ({out.confidence:.1%}), the runner-up {out.runner_up} "
             f"({out.runner_up_probability:.1%}), so the predicted digit is {out.predicted} ({verdict}).")
    code = (f"probabilities = model.predict(x_test[{SAMPLE_INDEX}:{SAMPLE_INDEX + 1}])[0]\n"
            f"print(probabilities.round(3))\n# {out.printed}\n"
            f"np.argmax(probabilities)  # {out.predicted}\ny_test[{SAMPLE_INDEX}]  # {truth}")
    image = explore.tile(sources.data.x_test[SAMPLE_INDEX : SAMPLE_INDEX + 1], scale=4)
    alt = (f"Test image #{SAMPLE_INDEX}, labelled {truth}, read as {out.predicted} with {out.confidence:.0%} "
           f"confidence: {'right' if out.predicted == truth else 'wrong'}")
    return Answer(q, text, (Images((image,), (f"test image #{SAMPLE_INDEX}",), alts=(alt,)),
                            Code(code, "The softmax vector")))


def _b9(sources: Sources, q: Question) -> Answer:
    text = ("The model was built for `Input(shape=(28, 28, 1))`: one grey channel. A colour image has 3 channels "
            "(28x28x3), so Keras refuses it with an error naming the expected and the found shape; a single image "
            "without the batch axis in front is refused too. The fix: convert to grey "
            "(average the channels, or Pillow's `.convert('L')`), keep one channel axis and add the batch axis: "
            "(1, 28, 28, 1).")
    if sources.run is None:
        return Answer(q, text, todo=sources.needs_run("the real error message of its model"))
    attempts = predictions.wrong_shape_demo(sources.run.model, sources.data.x_test[SAMPLE_INDEX])
    failed = [attempt for attempt in attempts if attempt.error is not None]
    truth = int(sources.data.y_test[SAMPLE_INDEX])
    if failed:
        text += (f"\n\nRun {sources.name} raises `{failed[0].error_type}` for the 28x28x3 image of test image "
                 f"#{SAMPLE_INDEX} ({_a(truth)}); these are its real messages, and the fix that works:")
    evidence = tuple(
        Code(f"# input shape {attempt.shape}\n{attempt.code}\n" + "\n".join(f"# {line}".rstrip() for line in (
            f"→ {attempt.error_type}: {attempt.error}" if attempt.error else _worked(attempt, truth)).splitlines()))
        for attempt in attempts
    )
    return Answer(q, text, evidence)


def _worked(attempt: predictions.ShapeAttempt, truth: int) -> str:
    """What a call that ran returned, and whether its answer is right."""
    verdict = "right" if attempt.predicted == truth else f"wrong, the true label is {truth}"
    return f"→ runs: {attempt.probabilities.shape[-1]} probabilities, np.argmax gives {attempt.predicted} ({verdict})"


#: Question id to the function that answers it.
BUILDERS = {"b1": _b1, "b2": _b2, "b3": _b3, "b4": _b4, "b5": _b5, "b6": _b6, "b7": _b7, "b8": _b8, "b9": _b9}
