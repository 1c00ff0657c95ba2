"""The Predictions page's "Your own digit": draw, type on a keyboard grid or upload a digit, see it the way the
model does and what the model reads."""

from __future__ import annotations

import streamlit as st

from mnist_lab import charts, predictions
from mnist_lab.charts import describe
from mnist_lab.data import Dataset, preprocess
from mnist_lab.predictions import inference, keyboard
from mnist_lab.text import markdown_text
from ui import vega

SAID = "predict_keyboard_said"  # the keyboard grid's last sentence, read out after the run that made it
CLEARS = "predict_canvas_clears"  # bumped by "Clear": a new canvas key starts an empty canvas
OWN = "predict_own_digit"  # the last own digit, for the Inside tab


def last() -> predictions.OwnDigit | None:
    """The own digit read last in this session; None before one was read."""
    return st.session_state.get(OWN)


@st.fragment
def render(model: inference.RunModel, data: Dataset) -> None:
    """The input controls, the digit as the model sees it, and its probabilities."""
    inputs = ["Draw", "Keyboard", "Upload"] if data.drawable else ["Upload"]
    source = st.segmented_control("Input", inputs, default=inputs[0], key="predict_input",
                                  persist_state="page") or inputs[0]
    if not data.drawable:
        st.caption(f"The run was trained on {markdown_text(data.name)}, whose classes are not digits to draw: "
                   "upload a picture of one object instead.")
    input_col, seen_col, result_col = st.columns([3, 2, 3])
    with input_col:
        if source == "Draw":
            from streamlit_drawable_canvas import st_canvas  # importable only inside a running app
            clears = st.session_state.setdefault(CLEARS, 0)
            image = st_canvas(stroke_width=20, stroke_color="#FFFFFF", background_color="#000000", width=280, height=280,
                              return_image_data=True, key=f"predict_canvas_{clears}").image_data
            st.button("Clear", key="predict_clear", on_click=lambda: st.session_state.update({CLEARS: clears + 1}),
                      help="Hover the canvas for undo and redo.")
        elif source == "Keyboard":
            from ui.keyboard_grid import keyboard_grid  # registers a component: only inside a running app
            cells = keyboard_grid(key="predict_keyboard", said=st.session_state.get(SAID, ""))
            image = keyboard.canvas_picture(cells) if cells else None
        else:
            upload = st.file_uploader("A photo or screenshot of one digit", type=["png", "jpg", "jpeg", "bmp", "gif", "webp"],
                                      key="predict_upload", max_upload_size=preprocess.MAX_BYTES // 2**20)
            image = None if upload is None else upload.getvalue()
    own_digit = None
    try:
        own_digit = None if image is None else predictions.read_own_digit(model, image)
        if own_digit is not None and own_digit.original is not None:
            crop = _crop_controls(input_col, own_digit.location, upload.file_id)
            if crop is not None:
                own_digit = predictions.read_own_digit(model, image, crop=crop)
    except preprocess.ImageInputError as error:  # BlankImageError too: an empty canvas gets a hint, not a warning
        (result_col.info if isinstance(error, preprocess.BlankImageError) else result_col.warning)(str(error))
    if image is None:
        result_col.info("Draw a digit or upload a picture of one to see what the model says.")
    st.session_state[OWN] = own_digit
    if own_digit is not None:
        if own_digit.original is not None:
            input_col.image(own_digit.location.outlined(own_digit.original),
                            caption=f"Your picture. {own_digit.location.description()}", width=280,
                            alt=f"Your uploaded picture with the box MNIST Lab reads. {own_digit.location.description()}")
        out = predictions.explain_output(own_digit.probabilities)
        names = data.class_names
        seen_col.image(own_digit.picture(), "What the model sees: 28x28, fitted into 20x20, centred by mass (MNIST's layout)",
                       output_format="PNG", alt=f"Your digit as the model sees it, 28x28 pixels; it reads "
                                                f"{names[out.predicted]} ({out.confidence:.0%})")
        result_col.markdown(f"The model reads **{markdown_text(names[out.predicted])}** ({out.confidence:.1%}); next "
                            f"best: {markdown_text(names[out.runner_up])} ({out.runner_up_probability:.1%}).")
        if own_digit.location.warning is not None:
            result_col.warning(own_digit.location.warning)
        vega.show_described(charts.probability_bars(out.frame), describe.probability_bars(out.frame),
                            out.frame, result_col, width="stretch", name="the probabilities")
    if source == "Keyboard":  # the grid reads out what was drawn and what the model reads, after each change
        said = keyboard.describe(cells) + ("" if own_digit is None else
                                           f" The model reads {data.class_names[out.predicted]} ({out.confidence:.1%}).")
        if said != st.session_state.get(SAID):
            st.session_state[SAID] = said
            st.rerun(scope="fragment")


def _crop_controls(column, location, upload_id: str) -> tuple[int, int, int, int] | None:
    """A switch to set the crop by hand and, when on, two range sliders that start at the box found."""
    if not column.toggle("Set the crop by hand", key="predict_crop_by_hand",
                         help="Move the edges of the box MNIST Lab reads (arrow keys move a selected handle)."):
        return None
    left, top, right, bottom = location.percent_box if location.automatic else (0, 0, 100, 100)
    across = column.slider("Left and right edges (% of the width)", 0, 100, (left, right),
                           key=f"predict_crop_across_{upload_id}")
    down = column.slider("Top and bottom edges (% of the height)", 0, 100, (top, bottom),
                         key=f"predict_crop_down_{upload_id}")
    return across[0], down[0], across[1], down[1]
