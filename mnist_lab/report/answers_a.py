"""The answers to part A, the assignment: the data, the network and its settings, its outputs, its performance."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mnist_lab import charts, evaluation, predictions
from mnist_lab.charts import describe
from mnist_lab.data import explore
from mnist_lab.models import architectures, config, optim, presets
from mnist_lab.report.evidence import GALLERY_PER_CLASS, Answer, Chart, Code, Figures, Images, Table
from mnist_lab.report.held_up import how_choices_held
from mnist_lab.report.questions import Question
from mnist_lab.report.sources import Sources, label, layer_table
from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text, plural
from mnist_lab.training import diagnosis

#: Test images shown with their predictions in A3.
SHOWN_PREDICTIONS = 20


def _a1(sources: Sources, q: Question) -> Answer:
    data, counts = sources.data, sources.facts.counts
    train = counts[counts["split"] == "train"]
    height, width = data.image_shape
    low, high = train["share"].min(), train["share"].max()
    balance = (f"so no {sources.noun} dominates" if low > 0 and high / low <= explore.BALANCED_RATIO else
               f"so the {sources.noun}s are imbalanced: read the recall of each, not accuracy alone")
    what = "handwritten digits" if data.drawable else f"{len(data.class_names)} classes"
    text = (f"{markdown_text(data.name)} holds {len(data.y_train):,} training and {len(data.y_test):,} test images of "
            f"{what}, each {height}x{width} grey pixels ({data.x_train.dtype}, "
            f"{int(data.x_train.min())}-{int(data.x_train.max())}) with its label: this grid of numbers is "
            f"exactly what goes into the model. Every {sources.noun} has between {low:.1%} and {high:.1%} of the "
            f"training images, {balance}.")
    # White space after each strip keeps neighbouring digits' strips apart when they sit side by side.
    strips = tuple(np.pad(explore.tile(images, scale=2), ((0, 0), (0, 24)), constant_values=255)
                   for images in sources.facts.gallery.values())
    table = counts.pivot(index="class", columns="split", values="count")[["train", "test"]].reset_index()
    table.columns.name = None
    return Answer(q, text, (
        Images(strips, tuple(sources.facts.gallery), f"{GALLERY_PER_CLASS} random training images of each {sources.noun} "
               "(dark ink on white)",
               tuple(f"{len(images)} random training images of {sources.noun} {name}, side by side"
                     for name, images in sources.facts.gallery.items())),
        Table(table, f"Images per {sources.noun} and split"),
    ))


def _a2(sources: Sources, q: Question) -> Answer:
    general = ("A CNN (convolutional neural network) slides small learned filters over the image, so a stroke detector "
               "works anywhere in the picture and neighbouring pixels are treated as neighbours; pooling makes it "
               "tolerant to small shifts. That is why CNNs beat fully connected networks on handwriting.")
    if sources.run is None:
        return Answer(q, general, todo=sources.needs_run("its layers and the reasons for its loss and optimizer"))
    run, layers = sources.run.run, sources.layers
    convolutions = int(layers["type"].str.startswith("Conv").sum())
    architecture = label(architectures.ARCHITECTURES, run.model_config.get("architecture"))
    if convolutions:
        verdict = (f"Run {sources.name} is a CNN: the **{architecture}** network, {convolutions} convolution "
                   f"layer{'s' if convolutions > 1 else ''} and {int(layers['params'].sum()):,} parameters.")
    else:
        verdict = (f"Run {sources.name} uses the **{architecture}** network, which has no convolution layer: it "
                   "is not a CNN. For this question train `fast` or `keras-classic` on the Train page and make it the "
                   "active run.")
    held = " ".join(how_choices_held(run, weights=int(layers["params"].sum())))
    parts = [general, f"{verdict} {_settings(sources)}{_timing(run)}", _against_preset(run), held,
             "Why one picks these choices, from the app's catalogue (reasons in general, not measured on this run; "
             f"how they held up in it is said above):\n{_reasons(run)}"]
    return Answer(q, "\n\n".join(part for part in parts if part),
                  (layer_table(layers, "The model, layer by layer (None: the batch size)"),))


def _settings(sources: Sources) -> str:
    """The run's own training settings in one sentence."""
    run, epoch = sources.run.run, sources.run.evaluation.epoch
    model, train = run.model_config, run.train_config
    images, validation = sources.split_sizes()
    rate = _RATE_NAMES.get(train.get("schedule"), "learning rate")
    held = f"{validation:,} more held out for validation" if validation else "none held out for validation"
    ended = "" if run.status == run_store.FINISHED else f"; it ended as *{run.status}*, and its model of epoch {epoch} is the one described here"
    epochs = train.get("epochs")
    return (f"It was trained with the **{label(optim.LOSSES, train.get('loss'))}** loss and the "
            f"**{label(optim.OPTIMIZERS, train.get('optimizer'))}** optimizer at a {rate} of "
            f"{train.get('learning_rate', 0):g} ({label(optim.SCHEDULES, train.get('schedule'))} schedule), "
            f"batch size {train.get('batch_size')}, {epochs} epoch{'s' if epochs != 1 else ''} on {images:,} training "
            f"images ({held}), inputs {'scaled to 0-1' if model.get('scale_inputs', True) else 'left at 0-255'}"
            f"{', with augmentation' if model.get('augment') else ''}{ended}.")


#: How the learning rate of a run is named, by its schedule.
_RATE_NAMES = {"one_cycle": "peak learning rate", "cosine": "starting learning rate"}


def _timing(run: run_store.Run) -> str:
    """How long the run trained, from its own log; "" when it logged no time."""
    timed = [row for row in run.history if row.get("train_seconds") is not None]
    if not timed:
        return ""
    seconds = timed[-1]["train_seconds"]
    full = [row for row in timed if not row.get("partial")]
    if not timed[-1].get("partial"):
        return (f" Its training took {seconds:.1f} s for {plural(len(full), 'epoch')} "
                f"({seconds / len(full):.1f} s per epoch) on the machine that trained it.")
    # A stopped epoch ran only some of its batches: it is not an epoch's worth of time.
    per_epoch = f" ({full[-1]['train_seconds'] / len(full):.1f} s per full epoch)" if full else ""
    return (f" Its training took {seconds:.1f} s on the machine that trained it: {plural(len(full), 'full epoch')}"
            f"{per_epoch} and part of epoch {timed[-1]['epoch']}, which ended early ({run.status}).")


_SETTING_NAMES = {"scale_inputs": "input scaling", "train_limit": "images (training and validation)",
                  "validation_fraction": "validation share"}
_TRAIN_SETTINGS = ("loss", "optimizer", "learning_rate", "schedule", "batch_size", "epochs", "train_limit",
                   "validation_fraction")


def _against_preset(run: run_store.Run) -> str:
    """Where the run's settings differ from its architecture's preset, or the preset's reasoning if they do not."""
    name = run.model_config.get("architecture")
    if name not in presets.PRESETS:
        return ""
    chosen = presets.PRESETS[name]
    pairs = [(key, run.model_config.get(key), value) for key, value in config.to_dict(chosen.model).items()
             if key in ("scale_inputs", "augment", *architectures.ARCHITECTURES[name].settings)]
    pairs += [(key, run.train_config.get(key), value) for key, value in config.to_dict(chosen.train).items()
              if key in _TRAIN_SETTINGS]
    differing = [f"{_SETTING_NAMES.get(key, key.replace('_', ' '))} {_value(key, own)} instead of {_value(key, preset)}"
                 for key, own, preset in pairs if own is not None and own != preset]
    if not differing:
        return f"These are the settings of the `{name}` preset, whose note says: {chosen.note}"
    return f"Compared with the `{name}` preset, this run used {'; '.join(differing)}."


#: The catalogue of each setting whose values are choices, named by their labels in the answers.
_CHOICES = {"loss": optim.LOSSES, "optimizer": optim.OPTIMIZERS, "schedule": optim.SCHEDULES}


def _value(key: str, value) -> str:
    """A setting as the answers print it."""
    if key in _CHOICES:
        return label(_CHOICES[key], value)
    if key == "train_limit" and not value:
        return "all"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _reasons(run: run_store.Run) -> str:
    """The catalogue's reason for each of the run's choices; the text stored with the run where the catalogue lost it."""
    model, train = run.model_config, run.train_config
    choices = {"architecture": ("Network", architectures.ARCHITECTURES, model.get("architecture")),
               "loss": ("Loss", optim.LOSSES, train.get("loss")),
               "optimizer": ("Optimizer", optim.OPTIMIZERS, train.get("optimizer")),
               "schedule": ("Learning-rate schedule", optim.SCHEDULES, train.get("schedule"))}
    lines = []
    for key, (kind, registry, chosen) in choices.items():
        reason = registry[chosen].reason if chosen in registry else run.reasons.get(key, "")
        if reason:
            lines.append(f"- **{kind}.** {reason}")
    return "\n".join(lines)


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
            f"The printed outputs of the first three images are {scores.shape[1]} probabilities each; `np.argmax` "
            "turns each row into a class, which is compared with the true label.")
    rows = scores[:3]
    printed = np.array2string(rows.round(3), precision=3, floatmode="fixed", max_line_width=120)
    code = ("probabilities = model.predict(x_test[:3])\nprint(probabilities.round(3))\n"
            + "".join(f"# {line}\n" for line in printed.splitlines()) +
            f"np.argmax(probabilities, axis=1)  # {np.argmax(rows, axis=1).tolist()}\n"
            f"y_test[:3]                        # {data.y_test[:3].tolist()}")
    evidence = [
        Images(tuple(predictions.thumbnails(data.x_test, first["index"], scale=2)), tuple(first["caption"]),
               f"The first {len(first)} test images: ✓ right or ✗ wrong, true → predicted {sources.noun}, confidence",
               tuple(first["alt"])),
        Code(code, "Printed outputs"),
    ]
    mistakes = predictions.select_samples(scores, data.y_test, mistakes_only=True, order=predictions.ORDERS[1],
                                          limit=10)
    if mistakes.matches:
        evidence.append(Images(tuple(predictions.thumbnails(data.x_test, mistakes.frame["index"], scale=2)),
                               tuple(mistakes.frame["caption"]), "The mistakes it was surest of",
                               tuple(mistakes.frame["alt"])))
    return Answer(q, text, tuple(evidence))


def _a4(sources: Sources, q: Question) -> Answer:
    general = ("Accuracy alone hides which digits fail. Recall is the share of a digit's images the model finds, "
               "precision the share of its answers for that digit that are right, F1 their harmonic mean. ROC curves "
               "plot recall against the false positive rate as the threshold on one digit's probability falls; the "
               "area under them (AUC) is 1 for a perfect ranking and 0.5 for guessing. For a strong model every AUC "
               "is close to 1, so the differences show better as ranking errors, 1 - AUC counted per "
               f"{evaluation.PAIRS:,} pairs of one image of the digit and one other image, and on a logarithmic "
               "false-positive-rate axis.")
    if sources.run is None:
        return Answer(q, general, todo=sources.needs_run("its recall, precision and ROC curves"))
    ev = sources.run.evaluation
    s, per_class = ev.summary, ev.per_class
    decimals = evaluation.auc_decimals([s["roc_auc_macro"], *per_class["roc_auc"]])
    auc = f"{s['roc_auc_macro']:.{decimals}f}"
    text = (f"{general}\n\nRun {sources.name} on the {s['n']:,} test images: accuracy {s['accuracy']:.2%}, macro "
            f"recall {s['recall_macro']:.2%}, macro precision {s['precision_macro']:.2%}, "
            f"macro F1 {s['f1_macro']:.2%}, macro ROC AUC {auc}. {_near_chance(sources)}".rstrip()
            + f"\n\n{_by_recall(per_class, sources.noun)} {_by_ranking_errors(per_class, sources.noun, decimals)}")
    figures = {"Test accuracy": f"{s['accuracy']:.2%}", "Macro recall": f"{s['recall_macro']:.2%}",
               "Macro precision": f"{s['precision_macro']:.2%}", "Macro F1": f"{s['f1_macro']:.2%}",
               "Macro ROC AUC": auc,
               f"Macro {evaluation.RANKING_ERRORS}": f"{evaluation.ranking_errors(s['roc_auc_macro']):.2f}"}
    classes = list(sources.data.class_names)
    return Answer(q, text, (
        Figures(figures),
        Table(_per_class_table(per_class, decimals), f"Per {sources.noun}"),
        Chart(charts.roc_chart(ev.roc, classes, [*classes, *charts.AVERAGES]), f"ROC curves, one {sources.noun} "
              "against the rest, with the micro and macro averages, on a logarithmic false-positive-rate axis",
              summary=describe.curves_auc(per_class, "roc_auc", "ROC AUC"), table=ev.roc),
        Chart(charts.recall_bars(per_class, accuracy=s["accuracy"]), f"Recall per {sources.noun}; the line is the "
              "accuracy", stretch=True, summary=describe.recall_bars(per_class, accuracy=s["accuracy"]),
              table=per_class[["class", "recall", "support"]]),
        Chart(charts.ranking_error_bars(per_class), f"Ranking errors per {sources.noun} (1 - ROC AUC)", stretch=True,
              summary=describe.ranking_error_bars(per_class), table=per_class[["class", "ranking_errors", "roc_auc"]]),
        Chart(charts.pr_chart(ev.pr, classes, [*classes, "micro"]), f"Precision against recall, one {sources.noun} "
              "against the rest", summary=describe.curves_auc(per_class, "average_precision", "Average precision"),
              table=ev.pr[ev.pr["class"].isin([*classes, "micro"])]),
    ))


def _per_class_table(per_class: pd.DataFrame, decimals: int) -> pd.DataFrame:
    """The per-class figures as the report prints them: AUC with the decimals that tell the classes apart."""
    table = per_class[["class", "precision", "recall", "f1", "roc_auc", "ranking_errors", "support"]]
    return table.assign(roc_auc=table["roc_auc"].map(f"{{:.{decimals}f}}".format),
                        ranking_errors=table["ranking_errors"].map("{:.2f}".format)).rename(columns={
        "f1": "F1", "roc_auc": "ROC AUC", "ranking_errors": evaluation.RANKING_ERRORS, "support": "test images"})


#: Classes named at each end of a ranking.
NAMED = 3


def _by_recall(per_class: pd.DataFrame, noun: str) -> str:
    """The classes with the lowest and the highest recall, with how many of their test images were missed."""
    missed = per_class["support"] - (per_class["recall"] * per_class["support"]).round().astype(int)
    ranked = per_class.assign(missed=missed).sort_values(["recall", "class"], kind="stable")
    shown = ranked["recall"].map("{:.2%}".format)
    if shown.nunique() == 1:
        return f"Recall is {shown.iloc[0]} for every {noun}."

    def named(row) -> str:
        return (f"{markdown_text(row['class'])} ({row['recall']:.2%}: {row['missed']:,} of its {row['support']:,} "
                "test images missed)")

    best = ranked.iloc[-1]
    lowest = ranked[shown == shown.iloc[0]]
    if len(lowest) > NAMED:
        names = _join([markdown_text(name) for name in lowest["class"]])
        return f"Recall is {shown.iloc[0]} for {len(lowest)} {noun}s, {names}; the strongest is {named(best)}."
    weakest = ranked.head(min(NAMED, len(ranked) - 1))
    return (f"By recall, the weakest {noun}{'s are' if len(weakest) > 1 else ' is'} "
            f"{_join([named(row) for _, row in weakest.iterrows()])}; the strongest is {named(best)}.")


def _by_ranking_errors(per_class: pd.DataFrame, noun: str, decimals: int) -> str:
    """The classes whose scores rank worst and best, by ranking errors (1 - AUC)."""
    ranked = per_class.dropna(subset=["roc_auc"]).sort_values(["ranking_errors", "class"], ascending=[False, True],
                                                              kind="stable")
    if ranked.empty:
        return ""
    low, high = ranked["roc_auc"].min(), ranked["roc_auc"].max()
    span = f"ROC AUC lies between {low:.{decimals}f} and {high:.{decimals}f}"
    errors = ranked["ranking_errors"].map("{:.2f}".format)
    if errors.nunique() == 1:
        return f"ROC AUC is {low:.{decimals}f} for every {noun}."
    weakest = ranked.head(min(NAMED, len(ranked) - 1))
    best = ranked.iloc[-1]
    listed = _join([f"{markdown_text(row['class'])} ({row['ranking_errors']:.2f})" for _, row in weakest.iterrows()])
    return (f"{span}; in ranking errors per {evaluation.PAIRS:,} pairs the weakest {noun}"
            f"{'s are' if len(weakest) > 1 else ' is'} {listed}, the strongest {markdown_text(best['class'])} "
            f"({best['ranking_errors']:.2f}).")


def _join(items: list[str]) -> str:
    """Items as prose: "a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _near_chance(sources: Sources) -> str:
    """For a model close to guessing: what its training curve shows and what to try; "" for one that learnt."""
    s = sources.run.evaluation.summary
    if s["accuracy"] >= (1 + sources.chance) / 2:
        return ""
    text = (f"That is close to guessing ({sources.chance:.0%}): the model has not learnt the task, so the figures "
            "below describe little more than noise.")
    losses = [row["loss"] for row in sources.run.run.history if row.get("loss") is not None]
    verdict = diagnosis.rate_verdict(sources.run.run.train_config)
    if len(losses) < 2 and verdict:
        return f"{text} {verdict}"
    if len(losses) < 2:
        return (f"{text} Its log has a single epoch, too short to tell a rate that is too small from one that is too "
                "large: train for more epochs, then try a learning rate 10 times higher if the loss barely falls or 10 "
                "times lower if it rises, with the cross-entropy loss and scaled inputs.")
    first, last = losses[0], losses[-1]
    if last > first:
        advice = (f"Its training loss rose from {first:.3f} in the first epoch to {last:.3f} in the last: the steps "
                  "are too large, try a learning rate 10 times lower.")
    elif last > 0.9 * first:
        advice = (f"Its training loss barely fell, from {first:.3f} in the first epoch to {last:.3f} in the last: try "
                  "a learning rate 10 times higher, the cross-entropy loss and scaled inputs.")
    else:
        advice = (f"Its training loss fell from {first:.3f} in the first epoch to {last:.3f} in the last, but not "
                  "far enough: train for more epochs or at a higher learning rate.")
    return f"{text} {advice}"


#: Question id to the function that answers it.
BUILDERS = {"a1": _a1, "a2": _a2, "a3": _a3, "a4": _a4}
