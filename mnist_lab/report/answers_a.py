"""The answers to part A, the assignment: the data, the network and its settings, its outputs, its performance."""

from __future__ import annotations

import numpy as np

from mnist_lab import charts, predictions
from mnist_lab.data import explore
from mnist_lab.models import architectures, optim
from mnist_lab.report.evidence import GALLERY_PER_CLASS, Answer, Chart, Code, Figures, Images, Table
from mnist_lab.report.questions import Question
from mnist_lab.report.sources import Sources, label, layer_table
from mnist_lab.text import markdown_text

#: Test images shown with their predictions in A3.
SHOWN_PREDICTIONS = 20


def _a1(sources: Sources, q: Question) -> Answer:
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


def _a2(sources: Sources, q: Question) -> Answer:
    general = ("A CNN (convolutional neural network) slides small learned filters over the image, so a stroke detector "
               "works anywhere in the picture and neighbouring pixels are treated as neighbours; pooling makes it "
               "tolerant to small shifts. That is why CNNs beat fully connected networks on handwriting.")
    if sources.run is None:
        return Answer(q, general, todo=sources.needs_run("its layers and the reasons for its loss and optimizer"))
    run, layers = sources.run.run, sources.layers
    model, train = run.model_config, run.train_config
    convolutions = int(layers["type"].str.startswith("Conv").sum())
    architecture = label(architectures.ARCHITECTURES, model.get("architecture"))
    if convolutions:
        verdict = (f"Run {sources.name} is a CNN: the **{architecture}** network, {convolutions} convolution "
                   f"layer{'s' if convolutions > 1 else ''} and {int(layers['params'].sum()):,} parameters.")
    else:
        verdict = (f"Run {sources.name} uses the **{architecture}** network, which has no convolution layer: it "
                   "is not a CNN. For this question train `fast` or `keras-classic` on the Train page and make it the "
                   "active run.")
    images, validation = sources.split_sizes()
    settings = (f"It was trained with the **{label(optim.LOSSES, train.get('loss'))}** loss and the "
                f"**{label(optim.OPTIMIZERS, train.get('optimizer'))}** optimizer at learning rate "
                f"{train.get('learning_rate', 0):g} ({label(optim.SCHEDULES, train.get('schedule'))} schedule), "
                f"batch size {train.get('batch_size')}, {train.get('epochs')} epochs on {images:,} training images "
                f"({validation:,} more held out for validation), inputs "
                f"{'scaled to 0-1' if model.get('scale_inputs', True) else 'left at 0-255'}"
                f"{', with augmentation' if model.get('augment') else ''}. The reasons stored with the run:")
    kinds = {"architecture": "Network", "loss": "Loss", "optimizer": "Optimizer", "schedule": "Learning-rate schedule"}
    reasons = "\n".join(f"- **{kind}.** {run.reasons[key]}" for key, kind in kinds.items() if run.reasons.get(key))
    text = f"{general}\n\n{verdict} {settings}\n\n{reasons}"
    return Answer(q, text, (layer_table(layers, "The model, layer by layer (None: the batch size)"),))


def _a3(sources: Sources, q: Question) -> Answer:
    general = "Printing outputs means: show test images the model never trained on, next to what it answers."
    if sources.run is None:
        return Answer(q, general, todo=sources.needs_run("its answers for test images"))
    data, scores, summary = sources.data, sources.run.scores, sources.run.evaluation.summary
    first = predictions.select_samples(scores, data.y_test, order=predictions.ORDERS[2], limit=SHOWN_PREDICTIONS).frame
    right = int(first["correct"].sum())
    wrong = round((1 - summary["accuracy"]) * summary["n"])
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
    mistakes = predictions.select_samples(scores, data.y_test, mistakes_only=True, order=predictions.ORDERS[1],
                                          limit=10)
    if mistakes.matches:
        evidence.append(Images(tuple(predictions.thumbnails(data.x_test, mistakes.frame["index"], scale=2)),
                               tuple(mistakes.frame["caption"]), "The mistakes it was surest of"))
    return Answer(q, text, tuple(evidence))


def _a4(sources: Sources, q: Question) -> Answer:
    general = ("Accuracy alone hides which digits fail. Recall is the share of a digit's images the model finds, "
               "precision the share of its answers for that digit that are right, F1 their harmonic mean. ROC curves "
               "plot recall against the false positive rate as the threshold on one digit's probability falls; the "
               "area under them (AUC) is 1 for a perfect ranking and 0.5 for guessing.")
    if sources.run is None:
        return Answer(q, general, todo=sources.needs_run("its recall, precision and ROC curves"))
    ev = sources.run.evaluation
    s, per_class = ev.summary, ev.per_class
    low, high = per_class.loc[per_class["recall"].idxmin()], per_class.loc[per_class["recall"].idxmax()]
    auc_low = per_class.loc[per_class["roc_auc"].idxmin()]
    text = (f"{general}\n\nRun {sources.name} on the {s['n']:,} test images: accuracy {s['accuracy']:.2%}, macro "
            f"recall {s['recall_macro']:.2%}, macro precision {s['precision_macro']:.2%}, "
            f"macro F1 {s['f1_macro']:.2%}, macro ROC AUC {s['roc_auc_macro']:.4f}. Recall is lowest for digit "
            f"{low['class']} ({low['recall']:.2%}) and highest for {high['class']} ({high['recall']:.2%}); the lowest "
            f"ROC AUC is digit {auc_low['class']}'s ({auc_low['roc_auc']:.4f}).")
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


#: Question id to the function that answers it.
BUILDERS = {"a1": _a1, "a2": _a2, "a3": _a3, "a4": _a4}
