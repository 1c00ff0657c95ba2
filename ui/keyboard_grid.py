"""A 28x28 drawing grid for the keyboard: arrow keys move the cursor, Space paints, Backspace erases.

A Streamlit Components-v2 component (``st.components.v2.component``, Streamlit 1.67): the browser keeps the painted
cells and sends them 0.4 s after the last key, so that drawing a stroke costs one script run, not one per key. What
it tells a screen reader lives in the page: the cursor's cell at each move, and the sentence of
:func:`mnist_lab.predictions.keyboard.describe` that the page passes back after each run.
"""

from __future__ import annotations

import streamlit as st

from mnist_lab.predictions import keyboard

HTML = """
<div class="kg-wrap">
  <div class="kg-grid" tabindex="0" role="application" aria-roledescription="drawing grid"
       aria-describedby="kg-help" aria-label="Keyboard drawing grid, 28 by 28 cells"></div>
  <p id="kg-help" class="kg-help">Arrow keys move the cursor, Space paints the cell, Backspace erases it,
     Delete clears the grid.</p>
  <p class="kg-cursor" aria-live="polite"></p>
  <p class="kg-said" aria-live="polite"></p>
</div>
"""

CSS = """
.kg-grid { display: grid; grid-template-columns: repeat(28, 9px); grid-template-rows: repeat(28, 9px);
           width: max-content; border: 1px solid #5c5f6b; background: #000; gap: 0; }
.kg-grid:focus-visible, .kg-grid:focus { outline: 3px solid #0b57d0; outline-offset: 2px; }
.kg-cell { width: 9px; height: 9px; }
.kg-cell.on { background: #fff; }
.kg-cell.cursor { box-shadow: inset 0 0 0 2px #f9ab00; }
.kg-help, .kg-cursor, .kg-said { margin: 0.3rem 0 0; font-size: 0.875rem; color: var(--st-text-color, #111318); }
"""

JS = """
export default function(component) {
  const { data, setStateValue, parentElement } = component;
  const root = parentElement.querySelector('.kg-grid');
  const said = parentElement.querySelector('.kg-said');
  if (data && data.said !== undefined) said.textContent = data.said;
  if (root.dataset.ready) return;
  root.dataset.ready = '1';
  const N = 28, painted = new Set(), cells = [];
  let row = 14, col = 14, timer = null;
  for (let r = 0; r < N; r++) for (let c = 0; c < N; c++) {
    const cell = document.createElement('div');
    cell.className = 'kg-cell';
    root.appendChild(cell);
    cells.push(cell);
  }
  const cursorText = parentElement.querySelector('.kg-cursor');
  const show = () => {
    cells.forEach((cell, i) => {
      cell.classList.toggle('on', painted.has(i));
      cell.classList.toggle('cursor', i === row * N + col);
    });
    cursorText.textContent = `Row ${row}, column ${col}: ${painted.has(row * N + col) ? 'painted' : 'empty'}.`;
  };
  const send = () => {
    clearTimeout(timer);
    timer = setTimeout(() => setStateValue('cells', [...painted].sort((a, b) => a - b)
      .map((i) => [Math.floor(i / N), i % N])), 400);
  };
  root.addEventListener('keydown', (event) => {
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (moves[event.key]) {
      row = Math.min(N - 1, Math.max(0, row + moves[event.key][0]));
      col = Math.min(N - 1, Math.max(0, col + moves[event.key][1]));
    } else if (event.key === ' ') {
      painted.add(row * N + col); send();
    } else if (event.key === 'Backspace') {
      painted.delete(row * N + col); send();
    } else if (event.key === 'Delete') {
      painted.clear(); send();
    } else {
      return;
    }
    event.preventDefault();
    show();
  });
  show();
}
"""

_grid = st.components.v2.component("mnist_lab.keyboard_grid", html=HTML, css=CSS, js=JS)


def keyboard_grid(*, key: str, said: str) -> list[tuple[int, int]]:
    """Draw the grid; return the painted (row, column) cells (none at first). ``said`` is the sentence the grid
    reads out after a change (what was drawn and what the model reads)."""
    result = _grid(key=key, data={"said": said}, default={"cells": []}, on_cells_change=lambda: None)
    return [tuple(cell) for cell in (result.cells or [])]


__all__ = ["keyboard", "keyboard_grid"]
