"""The run as a Jupyter notebook that trains it again with plain Keras and answers the assignment next to its code.

:func:`build_notebook` writes the notebook with ``nbformat``: the reproducibility card, a first code cell tagged
``parameters`` (papermill's convention), the data, then every question A1-A4 and B1-B9 as a heading with the app's
answer in Markdown and the code that produces its evidence (:mod:`mnist_lab.report.notebook_code`). The notebook
never imports MNIST Lab, so it runs in a fresh Colab. With ``with_outputs`` each question's last code cell also
carries the app's evidence as outputs (pictures and charts as PNG, tables as HTML), for a hand-in without Python.
"""

from __future__ import annotations

import base64
import copy
import logging
from collections.abc import Callable

import nbformat
import numpy as np
from nbformat import v4

from mnist_lab import evaluation
from mnist_lab.data import MNIST, MNIST_NAME, Dataset
from mnist_lab.models import config
from mnist_lab.predictions.inference import RunModel, test_scores
from mnist_lab.report import card as card_module
from mnist_lab.report import notebook_code as code
from mnist_lab.report.answers import build_report
from mnist_lab.report.evidence import Answer, Chart, Code, Evidence, Figures, Images, Report, RunEvidence, Table
from mnist_lab.report.exporters import EMPTY, png_file, student_markdown
from mnist_lab.report.handin import APP_HEADING, HandIn
from mnist_lab.report.questions import PARTS
from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text
from mnist_lab.training import experiments

logger = logging.getLogger(__name__)

#: The key of MNIST Lab's entries in the notebook's metadata (the receipt) and in an answer cell's (its question).
METADATA_KEY = "mnist_lab"
#: How far the notebook's test accuracy may be from the run's, with the same settings, seed and Keras version.
TOLERANCE_POINTS = 0.3
#: The widest picture of the app's evidence put in the notebook, in pixels (wider ones wrap into rows).
MAX_PICTURE_WIDTH = 1100
_GAP = 8
_KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def build_notebook(evidence: RunEvidence, dataset: Dataset, handin: HandIn, *,
                   with_outputs: bool = False) -> nbformat.NotebookNode:
    """Write the notebook that trains ``evidence.run`` again, with the student's answers next to the code.

    Parameters
    ----------
    evidence : RunEvidence
        The run, with its evaluation on the test set (the accuracy the notebook should reach).
    dataset : Dataset
        The run's dataset (its class names).
    handin : HandIn
        The student's hand-in of the run: their answers become the Markdown cells under each question, followed by
        MNIST Lab's explanation only where they revealed it; its receipt goes into the notebook's metadata.
    with_outputs : bool
        Put the app's evidence under each question's last code cell, and say so in the first cell.

    Returns
    -------
    nbformat.NotebookNode
        A valid nbformat 4 notebook.
    """
    run = evidence.run
    model_config = config.from_dict(config.ModelConfig, run.model_config)
    train_config = config.from_dict(config.TrainConfig, run.train_config)
    made = card_module.reproducibility_card(run)
    report = handin.report
    cells = [
        v4.new_markdown_cell(_intro(evidence, made, handin, with_outputs)),
        v4.new_markdown_cell(card_module.to_markdown(made)),
        _code_cell(code.parameters(train_config), code.PARAMETERS),
        _code_cell(code.IMPORTS),
        v4.new_markdown_cell(_data_text(run)),
        _code_cell(code.load_data(run.dataset, run.dataset_sha256, dataset.class_names)),
    ]
    cells_of = code.question_cells(train_config, model_config)
    part = ""
    for answer in report.answers:
        if answer.question.id[0] != part:
            part = answer.question.id[0]
            cells.append(v4.new_markdown_cell(f"## {PARTS[part]}"))
        cells += _question(handin, answer, cells_of[answer.question.id], with_outputs, _app_figures(evidence))
    metadata = {"kernelspec": dict(_KERNELSPEC), "language_info": {"name": "python"}}
    if handin.receipt is not None:
        metadata[METADATA_KEY] = {"receipt": handin.receipt.document}
    return v4.new_notebook(cells=cells, metadata=metadata)


def to_ipynb(notebook: nbformat.NotebookNode) -> str:
    """The notebook as the JSON text of an ``.ipynb`` file, validated."""
    nbformat.validate(notebook)
    return nbformat.writes(notebook)


def set_parameters(notebook: nbformat.NotebookNode, **values: object) -> nbformat.NotebookNode:
    """A copy of ``notebook`` with a cell that overrides parameters right after its ``parameters`` cell.

    This is papermill's convention (a cell tagged ``injected-parameters``), so the exported notebook stays as it
    was and the overrides show.

    Parameters
    ----------
    notebook : nbformat.NotebookNode
        A notebook from :func:`build_notebook`.
    **values
        Parameter name to its new value (a Python literal: number, string, None).

    Raises
    ------
    KeyError
        A name is not set in the ``parameters`` cell.
    """
    changed = copy.deepcopy(notebook)
    index = next(i for i, cell in enumerate(changed.cells) if code.PARAMETERS in cell.metadata.get("tags", []))
    declared = changed.cells[index].source
    unknown = [name for name in values if f"\n{name} = " not in f"\n{declared}"]
    if unknown:
        raise KeyError(f"not a parameter of the notebook: {', '.join(unknown)}")
    source = "# Parameters set for this execution\n" + "".join(f"{name} = {value!r}\n" for name, value in values.items())
    changed.cells.insert(index + 1, _code_cell(source, "injected-parameters"))
    return changed


def report_of_run(store: run_store.RunStore, run: run_store.Run, dataset: Dataset) -> tuple[RunEvidence, Report]:
    """The evidence and the report of ``run``, as the Report page gathers them (loads the run's model).

    Raises
    ------
    ModelUnavailableError
        The run has no usable model.
    """
    model = RunModel.load(store, run)
    evaluated = evaluation.evaluate_run(store, run, lambda: model, dataset)
    evidence = RunEvidence(run, model, evaluated, test_scores(store, run, model, dataset.x_test))
    outcomes = {key: experiments.outcome(store, chosen, dataset.name) for key, chosen in experiments.EXPERIMENTS.items()}
    return evidence, build_report(dataset, evidence, outcomes=outcomes)


def _code_cell(source: str, tag: str = "") -> nbformat.NotebookNode:
    """A code cell without outputs, tagged ``tag`` when given."""
    cell = v4.new_code_cell(source.rstrip("\n"))
    if tag:
        cell.metadata["tags"] = [tag]
    return cell


def _intro(evidence: RunEvidence, made: card_module.ReproducibilityCard, handin: HandIn, with_outputs: bool) -> str:
    """The first cell: whose hand-in it is, how to run it, what it reproduces and what may differ."""
    run, accuracy = evidence.run, evidence.evaluation.summary["accuracy"]
    versions = made.versions
    receipt = (f"receipt **{handin.receipt.code}** (a teacher checks it with `mnist-lab verify FILE` or the Class "
               "page)" if handin.receipt else "no receipt: a preview, not a hand-in")
    whose = ([f"**Student:** {markdown_text(handin.student)} · **Date:** {handin.date} · {receipt}", ""]
             if not handin.is_reading_copy else [])
    lines = [
        f"# {markdown_text(handin.title)}: run {markdown_text(run.name)}, trained again in plain Keras",
        "",
        *whose,
        f"MNIST Lab exported run **{markdown_text(run.name)}** (`{run.id}`) as this notebook. It builds the same "
        "network layer by layer, trains it with the same loss, optimizer, learning-rate schedule, batch size, "
        "epochs, data split and seed, and puts each of the assignment's questions A1-A4 and B1-B9 next to the code "
        "that produces its evidence. " + _whose_answers(handin) + " The notebook "
        "needs Keras 3 with TensorFlow, NumPy, scikit-learn and Matplotlib (all in Colab), not MNIST Lab.",
        "",
        "**How to run it.** In Colab or Jupyter choose *Run all*. The first code cell (tagged `parameters`, "
        "papermill's convention) holds the settings: `EPOCHS`, `TRAIN_LIMIT` (training images, 0 = all), `SEED` "
        "and `DATA_DIR`. With `DATA_DIR = None` MNIST is downloaded by `keras.datasets.mnist.load_data()`; a "
        "folder in `DATA_DIR` or in the environment variable `MNIST_DATA_DIR` holding the four original files "
        "(`train-images-idx3-ubyte.gz` ...) is read instead, after checking their SHA-256.",
        "",
        f"**What to expect.** Run as exported, with Keras {versions['Keras']} and TensorFlow "
        f"{versions['TensorFlow']} on a CPU as in the card below, it reaches the run's test accuracy, "
        f"**{accuracy:.2%}**, within {TOLERANCE_POINTS} percentage points: the same seed gives the same initial "
        "weights, dropout masks and order of the batches. Elsewhere the figures may differ a little: other Keras or "
        "TensorFlow versions draw random numbers differently, GPUs and other CPUs add numbers in another order, "
        "and several threads do not always sum in the same order. A few tenths of a percent either way are normal.",
    ]
    if run.status != run_store.FINISHED:
        lines += ["", f"The run ended as *{run.status}*, with the model of epoch {evidence.evaluation.epoch}; the "
                      "notebook trains every epoch of its settings, so its accuracy may differ by more."]
    if with_outputs:
        lines += ["", "**The outputs in this notebook come from MNIST Lab, not from running it.** Under the last "
                      f"code cell of each question are the figures, pictures and tables of the app's report on run "
                      f"**{markdown_text(run.name)}** (model of epoch {evidence.evaluation.epoch}); no cell has "
                      "been executed. *Run all* replaces them with the notebook's own outputs."]
    return "\n".join(lines)


def _data_text(run: run_store.Run) -> str:
    """The Markdown above the data cell: where the data comes from and how it is checked."""
    text = (f"## The data\n\nThe run trained on **{markdown_text(run.dataset)}**. The cell below reads the four "
            "files from `DATA_DIR` (named as in MNIST, plain or `.gz`) and refuses them unless the SHA-256 of "
            f"their SHA-256 is the run's, `{run.dataset_sha256}`.")
    if run.dataset != MNIST_NAME:
        return text + " `keras.datasets` downloads MNIST only, so this dataset needs `DATA_DIR`."
    files = (MNIST.train_images, MNIST.train_labels, MNIST.test_images, MNIST.test_labels)
    listing = "\n".join(f"- `{file.filename}`: `{file.sha256}`" for file in files)
    return (f"{text} Without `DATA_DIR` it downloads MNIST with Keras, as the assignment suggests. The published "
            f"SHA-256 of MNIST's files (of their uncompressed content):\n\n{listing}")


def _whose_answers(handin: HandIn) -> str:
    """Who wrote the answers in the notebook."""
    if handin.is_reading_copy:
        return "The text under each question is MNIST Lab's explanation, written for the run's own model."
    return (f"The answer under each question is {markdown_text(handin.student)}'s own; MNIST Lab's explanation "
            "follows only where they opened it in the app, headed as MNIST Lab's.")


def _app_figures(evidence: RunEvidence) -> str:
    """Where the figures of MNIST Lab's explanations come from: the app's run, not this notebook's cells."""
    return (f"Its figures are those of run **{markdown_text(evidence.run.name)}** in MNIST Lab (the model of epoch "
            f"{evidence.evaluation.epoch}), not of this notebook's cells, which print their own.")


def _question(handin: HandIn, answer: Answer, cells: list[code.CodeCell], with_outputs: bool, source: str) -> list:
    """The heading, the student's answer, MNIST Lab's explanation where revealed, and the code cells of a question."""
    q = answer.question
    result = [v4.new_markdown_cell(f"### {q.number}. {q.title}\n\n> {q.text}")]
    if not handin.is_reading_copy:
        own = handin.answer_of(answer)
        cell = v4.new_markdown_cell(f"#### {markdown_text(handin.student_heading())}\n\n"
                                    + (student_markdown(own) if own else f"*{markdown_text(handin.no_answer())}*"))
        cell.metadata[METADATA_KEY] = {"answer": q.id} if own else {"answer": q.id, EMPTY: True}
        result.append(cell)
    explanation = handin.explanation_of(answer)
    if explanation is not None:
        note = source if handin.is_reading_copy else f"{explanation.note} {source}"
        heading = f"#### {APP_HEADING}\n\n" * (not handin.is_reading_copy) + f"*{note}*\n\n"
        result.append(v4.new_markdown_cell(heading + answer.text + (f"\n\n*{answer.todo}*" if answer.todo else "")))
    for cell in cells:
        if cell.note:
            result.append(v4.new_markdown_cell(cell.note))
        result.append(_code_cell(cell.source, cell.tag))
    if with_outputs and answer.evidence:
        result[-1].outputs = [output for item in answer.evidence for output in _outputs(item)]
    return result


def _outputs(item: Evidence) -> list[nbformat.NotebookNode]:
    """One piece of the app's evidence as notebook outputs: its caption, then the figure, table or picture."""
    shown = _display(_RENDERERS[type(item)](item))
    if not item.caption:
        return [shown]
    return [_display({"text/markdown": f"*{markdown_text(item.caption)}*", "text/plain": item.caption}), shown]


def _display(data: dict[str, str]) -> nbformat.NotebookNode:
    """A ``display_data`` output of ``data`` (MIME type to content)."""
    return v4.new_output("display_data", data=data)


def _figures(item: Figures) -> dict[str, str]:
    return {"text/markdown": "\n".join(f"- **{label}:** {value}" for label, value in item.values.items()),
            "text/plain": "\n".join(f"{label}: {value}" for label, value in item.values.items())}


def _table(item: Table) -> dict[str, str]:
    return {"text/html": item.frame.to_html(index=False, escape=True, float_format="{:.4f}".format, na_rep=""),
            "text/plain": item.frame.to_string(index=False)}


def _images(item: Images) -> dict[str, str]:
    return {"image/png": _png(_tile(item.images)), "text/plain": "; ".join(item.captions)}


def _chart(item: Chart) -> dict[str, str]:
    import vl_convert

    try:
        png = vl_convert.vegalite_to_png(item.chart.to_json())
    except (ValueError, RuntimeError) as error:
        logger.warning("a chart of a notebook could not be drawn: %s", error)
        return {"text/plain": f"(the chart could not be drawn: {error})"}
    return {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": f"(chart: {item.caption})"}


def _code(item: Code) -> dict[str, str]:
    fence = "````" if "```" in item.code else "```"
    return {"text/markdown": f"{fence}python\n{item.code}\n{fence}", "text/plain": item.code}


_RENDERERS: dict[type, Callable[..., dict[str, str]]] = {
    Figures: _figures, Table: _table, Images: _images, Chart: _chart, Code: _code,
}


def _tile(images: tuple[np.ndarray, ...]) -> np.ndarray:
    """Lay grey uint8 pictures side by side on white, in rows no wider than :data:`MAX_PICTURE_WIDTH`."""
    rows: list[list[np.ndarray]] = [[]]
    width = 0
    for image in images:
        if rows[-1] and width + _GAP + image.shape[1] > MAX_PICTURE_WIDTH:
            rows.append([])
            width = 0
        width += (_GAP if rows[-1] else 0) + image.shape[1]
        rows[-1].append(image)
    strips = [_row(row) for row in rows]
    canvas = np.full((sum(s.shape[0] for s in strips) + _GAP * (len(strips) - 1), max(s.shape[1] for s in strips)),
                     255, dtype=np.uint8)
    top = 0
    for strip in strips:
        canvas[top:top + strip.shape[0], :strip.shape[1]] = strip
        top += strip.shape[0] + _GAP
    return canvas


def _row(images: list[np.ndarray]) -> np.ndarray:
    """Pictures side by side, top-aligned, on white."""
    height = max(image.shape[0] for image in images)
    strip = np.full((height, sum(image.shape[1] for image in images) + _GAP * (len(images) - 1)), 255, np.uint8)
    left = 0
    for image in images:
        strip[:image.shape[0], left:left + image.shape[1]] = image
        left += image.shape[1] + _GAP
    return strip


def _png(image: np.ndarray) -> str:
    """A uint8 grey picture as base64 PNG, the form notebooks store pictures in."""
    return base64.b64encode(png_file(image)).decode("ascii")


__all__ = ["METADATA_KEY", "TOLERANCE_POINTS", "build_notebook", "report_of_run", "set_parameters", "to_ipynb"]
