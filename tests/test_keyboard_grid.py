"""The keyboard grid's cells as the mouse canvas's picture, read by the same path, and in words."""

import doctest

import numpy as np

from mnist_lab import predictions
from mnist_lab.predictions import keyboard
from mnist_lab.predictions.inference import RunModel
from mnist_lab.runs.store import RunStore

ONE = [(row, 14) for row in range(5, 23)]


def test_the_examples_in_the_docstrings_hold():
    failures, tried = doctest.testmod(keyboard)
    assert tried >= 3 and failures == 0


def test_the_cells_become_the_canvas_picture_white_on_opaque_black():
    picture = keyboard.canvas_picture(ONE)
    assert picture.shape == (280, 280, 4) and picture.dtype == np.uint8
    assert (picture[..., 3] == 255).all()  # opaque, as the canvas with its black background
    assert (picture[50:230, 140:150, :3] == 255).all()  # the painted column, 10 canvas pixels per cell
    assert (picture[50:230, 130:140, 0] == keyboard.NEIGHBOUR_INK).all()  # its neighbours at half ink
    assert picture[:40, :, :3].max() == 0 and picture[240:, :, :3].max() == 0


def test_cells_outside_the_grid_or_painted_twice_count_once():
    assert keyboard.describe([(3, 3), (3, 3), (40, 2), (-1, 5)]) == "Drawn: a dot at row 3, column 3 (1 cell)."


def test_strokes_and_shapes_are_said_with_their_rows_and_columns():
    said = keyboard.describe([*ONE, *((10, col) for col in range(2, 8))])
    assert said == ("Drawn: a stroke from row 5 to row 22 in column 14; a stroke from column 2 to column 7 in row 10 "
                    "(24 cells).")


def test_a_one_drawn_on_the_grid_is_read_by_the_canvas_path(trained_store):
    run = trained_store.get(next(r.id for r in trained_store.list_runs() if r.name == "small fast"))
    model = RunModel.load(RunStore(trained_store.home), run)
    read = predictions.read_own_digit(model, keyboard.canvas_picture(ONE))
    assert int(np.argmax(read.probabilities)) == 1
