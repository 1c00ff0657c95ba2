"""The charts' one-sentence summaries and the digit images' text alternatives, checked against figures computed
here from the data and the runs, not against the functions' own arithmetic."""

import doctest
import re

import numpy as np
import pandas as pd
import pytest

from mnist_lab import predictions, report
from mnist_lab.charts import describe
from mnist_lab.data import explore
from mnist_lab.evaluation import confusion as confusion_matrix
from mnist_lab.training import curves


def numbers(sentence):
    """Every number the sentence quotes, as written ("5,421", "90.0%", "0.35")."""
    return re.findall(r"\d[\d,]*(?:\.\d+)?%?", sentence)


def test_the_examples_in_the_docstrings_hold():
    failures, tried = doctest.testmod(describe)
    assert tried >= 10 and failures == 0


def test_class_balance_quotes_mnists_smallest_and_largest_class_in_each_split(mnist):
    sentence = describe.class_balance(explore.class_counts(mnist))
    for labels in (mnist.y_train, mnist.y_test):
        counts = np.bincount(labels, minlength=10)
        fewest, most = int(counts.argmin()), int(counts.argmax())
        assert f"{counts[fewest]:,} (class {fewest}, {counts[fewest] / counts.sum():.1%})" in sentence
        assert f"{counts[most]:,} (class {most}, {counts[most] / counts.sum():.1%})" in sentence
    assert "5,421 (class 5" in sentence and "6,742 (class 1" in sentence  # MNIST's published counts


def test_a_digits_sentence_counts_its_ink_and_where_it_lies(mnist):
    image = mnist.x_test[0]
    rows, cols = np.nonzero(image)
    sentence = describe.digit_image(explore.image_frame(image), label=str(mnist.y_test[0]))
    assert sentence.startswith(f"A 28x28 image labelled {mnist.y_test[0]}: {len(rows)} of its 784 pixels have ink")
    assert f"rows {rows.min()} to {rows.max()} and columns {cols.min()} to {cols.max()}" in sentence
    assert sentence.endswith(f"the darkest value is {image.max()}.")
    blank = describe.digit_image(explore.image_frame(np.zeros((28, 28), dtype=np.uint8)))
    assert blank == "A 28x28 image: it is blank, all 784 pixels are 0."


def test_the_pixel_table_is_the_image_row_by_row(mnist):
    table = describe.pixel_table(explore.image_frame(mnist.x_train[7]))
    assert table.shape == (28, 29) and table["row"].tolist() == list(range(28))
    assert (table.drop(columns="row").to_numpy() == mnist.x_train[7]).all()


def test_the_histogram_sentence_names_the_tallest_bar_and_the_lower_half(mnist):
    hist = explore.pixel_histogram(mnist)
    for scale in hist["scale"].unique():
        rows = hist[hist["scale"] == scale]
        top = rows.loc[rows["share"].idxmax()]
        sentence = describe.pixel_histogram(hist, scale)
        assert f"the largest bar, {top['share']:.1%} of them, is from {top['start']:.4g} to {top['end']:.4g}" in sentence
        half = (rows["start"].min() + rows["end"].max()) / 2
        assert f"{rows.loc[rows['end'] <= half, 'share'].sum():.1%} lie in the lower half" in sentence


def test_the_probability_sentence_names_the_prediction_the_runner_up_and_the_rest():
    probabilities = np.array([0.01, 0.02, 0.03, 0.04, 0.05, 0.05, 0.1, 0.6, 0.06, 0.04])
    sentence = describe.probability_bars(predictions.explain_output(probabilities).frame)
    assert sentence == "The model gives 60.0% to 7 (its prediction) and 10.0% to 6; the other 8 classes share 30.0%."


def test_the_epoch_sentence_quotes_the_runs_first_last_and_best_epoch(trained_store):
    run = trained_store.get(next(r.id for r in trained_store.list_runs() if r.name == "small fast"))
    history = curves.history_frame(run.history)
    for metric in curves.METRICS:
        sentence = describe.epoch_metric(history, metric)
        first, last = run.history[0], run.history[-1]
        shown = (lambda v: f"{v:.2%}") if metric == "accuracy" else (lambda v: f"{v:.4g}")
        assert f"train from {shown(first[metric])} to {shown(last[metric])}" in sentence
        assert f"validation from {shown(first['val_' + metric])} to {shown(last['val_' + metric])}" in sentence
        values = [row["val_" + metric] for row in run.history]
        best = int(np.argmin(values) if metric == "loss" else np.argmax(values))
        assert f"{shown(values[best])}, in epoch {run.history[best]['epoch']})" in sentence
        assert sentence.startswith(f"{metric.capitalize()} over {len(run.history)} epochs:")


@pytest.fixture(scope="module")
def guesses(mnist):
    """Predictions that are right except on chosen test images: 40 fours read as 9, 3 nines as 4, 5 ones as 7."""
    labels = mnist.y_test
    predicted = labels.copy()
    for true, read, count in ((4, 9, 40), (9, 4, 3), (1, 7, 5)):
        predicted[np.flatnonzero(labels == true)[:count]] = read
    return labels, predicted


def test_the_confusion_sentence_counts_the_diagonal_and_the_largest_mistake(guesses):
    labels, predicted = guesses
    frame = confusion_matrix.confusion_long(confusion_matrix.confusion(labels, predicted, labels=range(10)))
    sentence = describe.confusion(frame.astype({"true": str, "predicted": str}))
    right = int((labels == predicted).sum())
    assert sentence == (f"{right:,} of {len(labels):,} test images ({right / len(labels):.1%}) lie on the diagonal "
                        "(read right); the largest mistake: 40 images of class 4 read as 9.")


def test_the_recall_sentence_quotes_the_weakest_and_strongest_class(guesses):
    labels, predicted = guesses
    per_class = pd.DataFrame({"class": [str(c) for c in range(10)],
                              "recall": [float((predicted[labels == c] == c).mean()) for c in range(10)]})
    accuracy = float((labels == predicted).mean())
    sentence = describe.recall_bars(per_class, accuracy=accuracy)
    fours = 1 - 40 / (labels == 4).sum()
    assert sentence.startswith(f"Recall from {fours:.1%} (class 4) to 100.0% (class 0);")
    below = sum(1 for c in range(10) if (predicted[labels == c] == c).mean() < accuracy)
    assert below == 1  # only the fours: 99.7% of the nines and 99.6% of the ones are right, above 99.5%
    assert sentence.endswith(f"{below} of 10 classes below the accuracy of {accuracy:.1%}.")


def test_the_auc_sentence_quotes_the_lowest_and_highest_class():
    per_class = pd.DataFrame({"class": ["0", "1", "2"], "roc_auc": [0.9991, 0.9902, 0.9999]})
    assert describe.curves_auc(per_class, "roc_auc", "ROC AUC") == "ROC AUC per class from 0.9902 (class 1) to 0.9999 (class 2)."


def test_each_test_digits_text_alternative_says_label_prediction_and_right_or_wrong(guesses):
    labels, predicted = guesses
    scores = np.eye(10)[predicted] * 0.9 + 0.01
    chosen = predictions.select_samples(scores, labels, limit=60).frame
    for row in chosen.itertuples():
        verdict = "right" if labels[row.index] == predicted[row.index] else "wrong"
        assert row.alt == (f"Test digit #{row.index}, labelled {labels[row.index]}, read as {predicted[row.index]} "
                           f"with {row.confidence:.0%} confidence: {verdict}")


def test_every_picture_of_the_report_has_a_text_alternative_naming_what_it_shows(mnist):
    facts = report.data_facts(mnist)
    built = report.build_report(mnist, None, facts=facts)
    pictures = [item for answer in built.answers for item in answer.evidence if isinstance(item, report.Images)]
    assert pictures
    for item in pictures:
        assert len(item.alternatives) == len(item.images) and all(item.alternatives)
    gallery = pictures[0]
    for alt, (name, images) in zip(gallery.alternatives, facts.gallery.items()):
        assert alt == f"{len(images)} random training images of digit {name}, side by side"


def test_the_saliency_sentence_counts_the_pixels_that_raise_and_lower_the_score():
    effect = np.zeros((28, 28))
    effect[10:14, 12] = 0.25
    effect[20, 3] = -0.5
    sentence = describe.saliency(explore.image_frame(effect), name="the score of 1")
    assert sentence == ("For the score of 1: 4 pixels raised it (by 1 in all) and 1 lowered it (by 0.5); the strongest "
                        "push up is at row 10, column 12.")


def test_the_map_sentence_names_the_closest_and_farthest_class_centres(mnist):
    points = explore.embedding(mnist, method="pca", sample=1000, seed=0).points
    centres = {name: group[["x", "y"]].mean().to_numpy() for name, group in points.groupby("class")}
    pairs = {(a, b): float(np.linalg.norm(centres[a] - centres[b])) for a in centres for b in centres if a < b}
    (near_a, near_b), near = min(pairs.items(), key=lambda item: item[1])
    (far_a, far_b), far = max(pairs.items(), key=lambda item: item[1])
    assert describe.embedding(points) == (f"1,000 images on the map; the centres of classes {near_a} and {near_b} lie "
                                          f"closest ({near:.3g} apart), those of {far_a} and {far_b} farthest "
                                          f"({far:.3g} apart).")


def test_the_comparison_sentences_quote_each_runs_figures():
    per_class = pd.DataFrame({"run": ["a"] * 3 + ["b"] * 3, "class": ["0", "1", "2"] * 2, "metric": "recall",
                              "value": [0.99, 0.97, 0.90, 0.98, 0.98, 0.96]})
    assert describe.compare_metric(per_class, "recall") == (
        "Recall per class: b is best on 2 of 3 classes, a on 1; the runs differ most on class 2 (a 0.9, b 0.96).")
    errors = per_class.assign(metric="ranking errors", value=[1.0, 2.0, 9.0, 3.0, 1.5, 4.0])
    assert describe.compare_metric(errors, "ranking errors", higher_is_better=False).startswith(
        "Ranking errors per class: b is best on 2 of 3 classes, a on 1; the runs differ most on class 2")
    history = curves.runs_history_frame({"a": [{"epoch": 1, "val_accuracy": 0.9, "val_loss": 0.3},
                                               {"epoch": 2, "val_accuracy": 0.93, "val_loss": 0.25}],
                                         "b": [{"epoch": 1, "val_accuracy": 0.95, "val_loss": 0.2}]})
    assert describe.compare_history(history) == ("Last validation accuracy: a 93.00% (epoch 2), b 95.00% (epoch 1). "
                                                 "Last validation loss: a 0.25 (epoch 2), b 0.2 (epoch 1).")
