"""Predictions page: what the model outputs, where it is wrong, your own digits, and inside the network (A3)."""

import streamlit as st

from mnist_lab import charts, predictions
from mnist_lab.charts import describe
from mnist_lab.data import Dataset, explore
from mnist_lab.errors import MnistLabError
from mnist_lab.models import networks
from mnist_lab.predictions import inference, inside
from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text
from ui import own_digit_view, report_links, resources, sidebar, tabs, vega

INSIDE_SOURCE = "predict_inside_source"  # the Inside tab's digit: the test digit or the own one
PICK, TAB = "predict_picked", "predict_tab"  # the test digit picked last, for the other tabs; the open tab


def digit_chart(pixels, size: int = 200):
    return charts.heatmap(explore.image_frame(pixels), domain=[0, 255], size=size)


def decision_charts(pixels, seen: inside.Inside, out: predictions.OutputExplanation) -> list:
    """The digit, then the saliency of its predicted class and of the runner-up."""
    return [digit_chart(pixels), *(
        charts.saliency_map(explore.image_frame(seen.saliency[digit]), limit=seen.saliency_limit,
                            title=f"Score of {digit} ({seen.probabilities[digit]:.1%})", size=200)
        for digit in (out.predicted, out.runner_up))]


@st.cache_data(max_entries=64, show_spinner=False)
def test_digit_inside(run_id: str, saved_epochs: int, index: int, _model: inference.RunModel,
                      _pixels) -> inside.Inside:
    """What the saved model of ``run_id`` computes for test digit ``index``, computed once for every session."""
    return inside.look_inside(_model, _pixels)


@st.cache_data(max_entries=64, show_spinner=False)
def test_digit_shapes(run_id: str, saved_epochs: int, index: int, _model: inference.RunModel, _pixels) -> list:
    """The wrong-shape demonstration on test digit ``index``, run once per saved model for every session."""
    return predictions.wrong_shape_demo(_model, _pixels)


def test_digits(model: inference.RunModel, data: Dataset, scores, version: tuple) -> None:
    mistakes_col, true_col, predicted_col, order_col, limit_col = st.columns(5, vertical_alignment="bottom")
    mistakes = mistakes_col.toggle("Only mistakes", key="predict_mistakes", persist_state="page")
    digit_or_any = {"options": [None, *range(data.n_classes)], "persist_state": "page",
                    "format_func": lambda d: "any" if d is None else data.class_names[d]}
    true_class = true_col.selectbox("True class", key="predict_true", **digit_or_any)
    predicted_class = predicted_col.selectbox("Predicted class", key="predict_predicted", **digit_or_any)
    order = order_col.selectbox("Order", predictions.ORDERS, key="predict_order", persist_state="page",
                                help="Confidence: the probability of the predicted digit.")
    limit = limit_col.slider("Digits shown", 10, 60, 30, step=10, key="predict_limit", persist_state="page")
    chosen = predictions.select_samples(scores, data.y_test, mistakes_only=mistakes, true_class=true_class,
                                        predicted_class=predicted_class, order=order, limit=limit)
    if chosen.frame.empty:
        st.info("No test digit matches these filters.")
        return
    st.caption(f"{chosen.matches:,} of {len(data.y_test):,} test digits match. Under each: ✓/✗, true → predicted, "
               "confidence.")
    st.image(predictions.thumbnails(data.x_test, chosen.frame["index"]), list(chosen.frame["caption"]),
             output_format="PNG", alt=list(chosen.frame["alt"]))
    labels = dict(zip(chosen.frame["index"].tolist(), chosen.frame["label"]))
    pick = st.selectbox("Look closer at", list(labels), format_func=labels.get, key="predict_sample",
                        persist_state="page")
    st.session_state[PICK] = pick
    out = predictions.explain_output(scores[pick])
    digit_col, bars_col = st.columns([1, 2])
    pixels = explore.image_frame(data.x_test[pick])
    vega.show_described(vega.cached(("test digit", data.name, data.sha256, pick), lambda: digit_chart(data.x_test[pick])),
                        describe.digit_image(pixels, label=data.class_names[int(data.y_test[pick])]),
                        describe.pixel_table(pixels), digit_col, width="content", name=f"test digit #{pick}")
    vega.show_described(vega.cached(("probabilities", *version, pick), lambda: charts.probability_bars(out.frame)),
                        describe.probability_bars(out.frame), out.frame, bars_col, width="stretch",
                        name="the probabilities")
    truth = int(data.y_test[pick])
    st.markdown(f"Softmax turns the last layer's {data.n_classes} scores into probabilities that add up to "
                f"{out.total:.3f}. `np.argmax` picks the position of the largest: **{out.predicted}** "
                f"({out.confidence:.1%}), ahead of {out.runner_up} ({out.runner_up_probability:.1%}). The true label "
                f"is **{truth}** ({markdown_text(data.class_names[truth])}): the prediction is "
                f"{'right' if out.predicted == truth else '**wrong**'}.")
    st.code(f"probabilities = model.predict(x_test[{pick}:{pick + 1}])[0]\nprint(probabilities.round(3))\n"
            f"# {out.printed}\nnp.argmax(probabilities)  # {out.predicted}", wrap_lines=True)  # no scrolling box on a phone
    report_links.link_to_answer("b8")


def picked(data: Dataset) -> int:
    """The test digit picked last under Test digits (the first test digit before any was picked)."""
    pick = st.session_state.get(PICK, 0)
    return pick if pick < len(data.y_test) else 0


def wrong_shape(model: inference.RunModel, data: Dataset, scores, version: tuple) -> None:
    pick = picked(data)
    st.markdown(f"The model takes `Input(shape=(28, 28, 1))`: one grey channel. Test digit #{pick} as a colour (RGB) "
                "image is fed to it as is, then converted; the errors are this model's own (`model.predict` checks "
                "the same shapes). The fix: one channel (average the colours, or Pillow's `.convert('L')`) and a "
                "batch axis in front.")
    for attempt in test_digit_shapes(*version, pick, model, data.x_test[pick]):
        code_col, outcome_col = st.columns(2)
        code_col.code(f"# input shape {attempt.shape}\n{attempt.code}")
        if attempt.error is None:
            truth = int(data.y_test[pick])
            verdict = "right" if attempt.predicted == truth else f"wrong: the true label is {truth}"
            outcome_col.success(f"Runs: {data.n_classes} probabilities, `np.argmax` gives **{attempt.predicted}** "
                                f"({verdict}).")
        else:
            outcome_col.code(f"{attempt.error_type}: {attempt.error}", language=None, wrap_lines=True)
    report_links.link_to_answer("b9")


def inside_the_network(model: inference.RunModel, data: Dataset, scores, version: tuple) -> None:
    own_digit = own_digit_view.last()
    sources = {"test": "The test digit picked under Test digits", "own": "Your own digit"}
    look_at = st.radio("Digit", list(sources), format_func=sources.get, horizontal=True, key=INSIDE_SOURCE,
                       persist_state="page")
    if look_at == "own" and own_digit is None:
        st.info("Draw or upload a digit under Your own digit first; meanwhile, here is the test digit.")
    if look_at == "own" and own_digit is not None:
        pixels, seen, shown = own_digit.pixels, inside.look_inside(model, own_digit.pixels), None
    else:  # a test digit: what the model computes for it, and its charts, are shared by every session
        pick = picked(data)
        pixels, shown = data.x_test[pick], (*version, pick)
        seen = test_digit_inside(*shown, model, pixels)
    first = inside.first_layer(model)
    if first.kind == "dense":
        st.info(f"This network has no convolution layers, so no filters or feature maps: its first layer "
                f"({first.layer}) weighs all 784 pixels at once. Below, each unit's 784 weights as a 28x28 image.")
    st.subheader("First-layer weights" if first.kind == "dense" else "First-layer filters")
    order = " Left to right: the units of digits 0 to 9." if first.layer == networks.OUTPUT_LAYER else ""
    st.image(inside.weights_image(first.weights),
             f"{len(first.weights)} of {first.total}: blue positive, red negative.{order}", output_format="PNG",
             alt=f"{len(first.weights)} of the {first.total} first-layer weight images of {first.layer}, blue where a "
                 "weight is positive and red where it is negative")
    for layer in seen.feature_maps:
        st.subheader(f"Feature maps of {layer.layer}")
        st.image(inside.maps_image(layer), f"{len(layer.maps)} of {layer.channels} maps after "
                 f"{' → '.join(layer.steps)}; "
                 f"{'blue positive, red negative' if layer.signed else 'black 0, white the strongest response'}",
                 output_format="PNG", alt=f"{len(layer.maps)} of the {layer.channels} feature maps of {layer.layer} "
                                          "for the chosen digit")
    st.subheader("Which pixels drove the decision")
    out = predictions.explain_output(seen.probabilities)
    drawn = (vega.specs(decision_charts(pixels, seen, out)) if shown is None else
             vega.cached(("decision", *shown), lambda: decision_charts(pixels, seen, out)))
    maps = [(explore.image_frame(pixels), "the digit"), *(
        (explore.image_frame(seen.saliency[digit]), f"the score of {digit}") for digit in (out.predicted, out.runner_up))]
    sentences = [describe.digit_image(maps[0][0]), *(describe.saliency(frame, name=name) for frame, name in maps[1:])]
    for column, chart, (frame, name), sentence in zip(st.columns(3), drawn, maps, sentences):
        vega.show_described(chart, sentence, describe.pixel_table(frame), column, width="content", name=name)
    st.caption("Gradient x input: how much each pixel's ink raised (blue) or lowered (red) the score; blank pixels "
               "count for nothing.")


def own_digit_tab(model: inference.RunModel, data: Dataset, scores, version: tuple) -> None:
    own_digit_view.render(model, data)


st.title("Predictions: what the model says")
st.markdown("Assignment question A3: print some outputs to check that the model is right, on test digits and your own.")
report_links.link_to_answer("a3")
resources.store_or_stop()
run = sidebar.active_run()
if run is None or (run.status == run_store.RUNNING and not run.has_model):
    st.info("No run yet: train a model on the Train page, then come back to see its predictions." if run is None else
            f"**{markdown_text(run.name)}** is still in its first epoch: its predictions appear here once that epoch is saved.")
    st.stop()
try:
    data = resources.dataset_of(run)
    with st.spinner(f"Loading the model of **{markdown_text(run.name)}** and predicting the {len(data.y_test):,} test "
                    "images (once per saved model; then they are read back)...", show_time=True):
        model = resources.run_model(run)
        scores = resources.test_scores_of(run)
except MnistLabError as error:
    st.warning(f"**{markdown_text(run.name)}** cannot make predictions: {markdown_text(str(error))}. "
               f"{run_store.PICK_ANOTHER}")
    st.stop()

version = (run.id, run.saved_epochs)  # the saved model whose outputs are shown
tabs.lazy_tabs({"Test digits": test_digits, "Your own digit": own_digit_tab, "The wrong shape": wrong_shape,
                "Inside the network": inside_the_network}, TAB, model, data, scores, version)
