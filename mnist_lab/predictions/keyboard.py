"""Drawing a digit with the keyboard: the painted cells of a 28x28 grid, as the canvas's picture and in words.

The keyboard grid (``ui/keyboard_grid.py``) keeps the cells a student painted; here they become the same RGBA
picture the mouse canvas gives (white strokes on black, 280x280), so that both are read by one path
(:func:`mnist_lab.predictions.read_own_digit`), and a sentence that says what was drawn.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

#: Cells per side of the grid: MNIST's 28x28.
SIZE = 28
#: Canvas pixels per cell: the mouse canvas is 280x280.
SCALE = 10
#: A painted cell is full ink and its four neighbours half ink: a stroke about 2 cells wide, as MNIST's pen strokes
#: are at 28x28 (a 1-cell line laid out the MNIST way came out thinner than any training digit).
NEIGHBOUR_INK = 128


def _cells(painted: Iterable) -> list[tuple[int, int]]:
    """The painted cells as (row, column) pairs inside the grid, each once, in order."""
    seen = []
    for cell in painted:
        row, col = (int(value) for value in cell)
        if 0 <= row < SIZE and 0 <= col < SIZE and (row, col) not in seen:
            seen.append((row, col))
    return seen


def grid_ink(painted: Iterable) -> np.ndarray:
    """The ink of the grid (uint8, 28x28, 255 full ink) for the painted (row, column) cells.

    Examples
    --------
    >>> ink = grid_ink([(5, 5)])
    >>> int(ink[5, 5]), int(ink[4, 5]), int(ink[5, 7])
    (255, 128, 0)
    """
    ink = np.zeros((SIZE, SIZE), dtype=np.uint8)
    for row, col in _cells(painted):
        for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            r, c = row + dr, col + dc
            if 0 <= r < SIZE and 0 <= c < SIZE:
                ink[r, c] = max(ink[r, c], NEIGHBOUR_INK)
    for row, col in _cells(painted):
        ink[row, col] = 255
    return ink


def canvas_picture(painted: Iterable) -> np.ndarray:
    """The painted cells as the mouse canvas's picture: RGBA, 280x280, white ink on an opaque black background."""
    ink = np.kron(grid_ink(painted), np.ones((SCALE, SCALE), dtype=np.uint8))
    return np.dstack([ink, ink, ink, np.full_like(ink, 255)])


def _components(cells: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Groups of painted cells that touch (side or corner), in the order their first cell was painted."""
    left, groups = set(cells), []
    for start in cells:
        if start not in left:
            continue
        group, todo = [], [start]
        left.discard(start)
        while todo:
            row, col = todo.pop()
            group.append((row, col))
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    if (row + dr, col + dc) in left:
                        left.discard((row + dr, col + dc))
                        todo.append((row + dr, col + dc))
        groups.append(group)
    return groups


def _one(group: list[tuple[int, int]]) -> str:
    rows = [row for row, _ in group]
    cols = [col for _, col in group]
    top, bottom, first, last = min(rows), max(rows), min(cols), max(cols)
    if len(group) == 1:
        return f"a dot at row {top}, column {first}"
    if last - first <= 1 and bottom > top:
        where = f"column {first}" if last == first else f"columns {first} and {last}"
        return f"a stroke from row {top} to row {bottom} in {where}"
    if bottom - top <= 1 and last > first:
        where = f"row {top}" if bottom == top else f"rows {top} and {bottom}"
        return f"a stroke from column {first} to column {last} in {where}"
    return f"a shape of {len(group)} cells from row {top} to row {bottom} and column {first} to column {last}"


def describe(painted: Iterable) -> str:
    """What was drawn, in words: each group of touching cells as a dot, a stroke or a shape with its rows and columns.

    Examples
    --------
    >>> describe([(row, 14) for row in range(6, 23)])
    'Drawn: a stroke from row 6 to row 22 in column 14 (17 cells).'
    >>> describe([])
    'Nothing drawn yet.'
    """
    cells = _cells(painted)
    if not cells:
        return "Nothing drawn yet."
    parts = [_one(group) for group in _components(cells)]
    return f"Drawn: {'; '.join(parts)} ({len(cells)} cell{'s' * (len(cells) != 1)})."
