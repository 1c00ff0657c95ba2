"""Data page: what goes into the model (assignment question A1), and adding a dataset of one's own."""

import streamlit as st

from mnist_lab import charts
from mnist_lab import data as datasets
from mnist_lab.charts import describe
from mnist_lab.data import explore
from mnist_lab.errors import MnistLabError
from mnist_lab.text import markdown_text
from ui import dataset_imports, dataset_stats, report_links, resources, sidebar, tabs, vega

DELETED = "data_deleted_message"
TAB = "data_tab"

#: Classes that overlap on MNIST's 2-D maps and in its confusion matrices.
MNIST_OVERLAPS = ("Classes that overlap here (4 and 9; 3, 5 and 8) are among those models confuse most often: compare "
                  "with a run's confusion matrix on the Evaluate page.")


def image_row(pictures: list, names: tuple[str, ...], title: str, key: str) -> None:
    """One small picture of every class under ``title``, in a row that wraps on a narrow screen; each picture's
    text alternative is the title and its class."""
    st.markdown(f"**{title}**")
    with st.container(key=key):
        st.image(pictures, caption=list(names), output_format="PNG",
                 alt=[f"{title} of class {name}" for name in names])


def examples(data: datasets.Dataset) -> None:
    st.header("Examples of every class")
    split_col, size_col, seed_col = st.columns([1, 2, 1])
    split = split_col.segmented_control("Split", ["train", "test"], default="train", key="gallery_split",
                                        persist_state="page") or "train"
    per_class = size_col.slider("Examples per class", 1, 20, 10, key="gallery_per_class", persist_state="page")
    seed = seed_col.number_input("Shuffle seed", 0, 10_000, 0, key="gallery_seed", persist_state="page",
                                 help="Another seed, other examples.")
    for class_name, (count, strip) in dataset_stats.gallery_strips(data.name, split, per_class, int(seed)).items():
        label, images = st.columns([1, 12], vertical_alignment="center")
        label.markdown(f"**{markdown_text(class_name)}**")
        images.image(strip, output_format="PNG",
                     alt=f"{count} random {split} image{'s' * (count != 1)} of class {class_name}, side by side")
    report_links.link_to_answer("a1")


def classes(data: datasets.Dataset) -> None:
    counts, means, stds, _, _ = dataset_stats.class_statistics(data.name)
    st.header("Class balance")
    st.markdown(explore.balance_sentence(counts))
    vega.show_described(dataset_stats.statistics_charts(data.name)[0], describe.class_balance(counts), counts, width="stretch",
                        name="the class balance")
    st.header("The average digit and where digits differ")
    st.markdown(
        "First row: the mean of each class's training images. Second row: the per-pixel standard deviation, dark "
        "where the images of a class differ most (in both rows a darker pixel is a larger value). "
        + explore.border_sentence(data)
    )
    image_row(means, data.class_names, "Mean image per class", "mean_images")
    image_row(stds, data.class_names, "Standard deviation per pixel", "std_images")


def pixels(data: datasets.Dataset) -> None:
    _, _, _, histogram, facts = dataset_stats.class_statistics(data.name)
    st.header("Pixel intensities, raw and scaled")
    histograms = dataset_stats.statistics_charts(data.name)[1]
    for column, chart, scale in zip(st.columns(2), histograms, histogram["scale"].unique()):
        vega.show_described(chart, describe.pixel_histogram(histogram, scale),
                            histogram[histogram["scale"] == scale], column, width="stretch",
                            name=f"the {scale} histogram")
    st.markdown(explore.pixel_sentence(histogram, facts, int(data.x_train.max())))
    report_links.link_to_answer("b1")
    one_digit(data)


def one_digit(data: datasets.Dataset) -> None:
    st.header("One digit, pixel by pixel")
    pick_split, pick_index = st.columns(2)
    split = pick_split.segmented_control("Split", ["train", "test"], default="train", key="inspect_split",
                                         persist_state="page") or "train"
    images, labels = data.split(split)
    index = int(pick_index.number_input("Image index", 0, len(labels) - 1, 0, key="inspect_index",
                                        persist_state="page"))
    digit, explanation = st.columns([1, 1])
    pixels = explore.image_frame(images[index])
    vega.show_described(vega.cached(("data digit", data.sha256, split, index),
                                    lambda: charts.heatmap(pixels, domain=[0, 255])),
                        describe.digit_image(pixels, label=data.class_names[labels[index]]),
                        describe.pixel_table(pixels), digit,
                        width="content", name=f"image {index}")
    explanation.markdown(
        f"Image {index} of the {split} split is labelled **{markdown_text(data.class_names[labels[index]])}**. "
        f"Hover a cell to read its value (0 = empty background, drawn white here; 255 = full ink, drawn black).\n\n"
        f"A Dense (fully connected) input layer needs a flat vector: flattening the "
        f"{data.image_shape[0]}x{data.image_shape[1]} grid row by row gives "
        f"**{data.image_shape[0] * data.image_shape[1]} input values** per image. "
        "A convolutional network keeps the 2-D grid instead, so it can use the fact that neighbouring pixels belong "
        "together."
    )
    report_links.link_to_answer("b3")


def digit_map_section(data: datasets.Dataset) -> None:
    st.header("All digits on one map")
    method_col, sample_col = st.columns(2)
    method = method_col.radio(
        "Projection",
        explore.EMBEDDING_METHODS,
        format_func={"pca": "PCA (linear, instant)", "tsne": "t-SNE (non-linear, slower)"}.get,
        horizontal=True,
        key="map_method",
        persist_state="page",
    )
    if method == "tsne":  # t-SNE's cost grows faster than its points: fewer of them keep it within seconds
        sample = sample_col.slider("Images on the map", 500, explore.TSNE_MAX_SAMPLE, 1000, step=250,
                                   key="tsne_sample", persist_state="page",
                                   help=f"t-SNE maps at most {explore.TSNE_MAX_SAMPLE:,} images so that it takes "
                                        "seconds.")
    else:
        sample = sample_col.slider("Images on the map", 500, 5000, 2000, step=500, key="map_sample",
                                   persist_state="page")
    what = "t-SNE map" if method == "tsne" else "PCA map"
    with st.spinner(f"Computing the {what} of {min(sample, len(data.y_train)):,} training images (once per setting; "
                    "it is kept for every visitor)...", show_time=True):
        projected = dataset_stats.digit_map(data.name, method, sample, 0)
    points = projected.points
    title = f"{len(points):,} training images, {method.upper()}, computed in {projected.seconds:.1f} s"
    vega.show_described(vega.cached(("map", data.sha256, method, sample, title),
                                    lambda: charts.embedding_scatter(points, title=title)),
                        describe.embedding(points), points, width="stretch", name="the map")
    inputs = data.image_shape[0] * data.image_shape[1]
    st.caption(
        f"This {what} took {projected.seconds:.1f} s to compute on this server (measured when it was computed; it is "
        f"then kept). Each point is one image of {inputs} pixels squeezed to two numbers. Click a class in the legend "
        "to highlight it; scroll to zoom. " + (MNIST_OVERLAPS if data.name == datasets.MNIST_NAME else
                                               "Classes that overlap here are the ones a model is likely to confuse.")
    )


def facts_and_credits(data: datasets.Dataset) -> None:
    st.header("Facts and credits")
    st.table(explore.dataset_facts(data), hide_index=True)
    st.caption(f"{markdown_text(data.source)}. Licence: {markdown_text(data.licence)}. SHA-256 of the four files: "
               f"`{data.sha256}`.")


if DELETED in st.session_state:
    st.success(markdown_text(st.session_state.pop(DELETED)))
try:
    data = resources.dataset(sidebar.chosen_dataset_name())
    dataset_stats.class_statistics(data.name)
except MnistLabError as error:
    st.error(f"The chosen dataset cannot be loaded: {markdown_text(str(error))}")
    dataset_imports.add_dataset()
    dataset_imports.delete_control(sidebar.chosen_dataset_name(), message_key=DELETED)
    st.stop()

st.title(f"The data: {markdown_text(data.name)}")
what = "handwritten digits" if data.drawable else f"{data.n_classes} classes"
st.markdown(
    f"Before training anything, look at what goes into the model: {len(data.y_train):,} training and "
    f"{len(data.y_test):,} test images of {what}, each {data.image_shape[0]}x{data.image_shape[1]} "
    "grey pixels with a label. This page answers assignment question A1 (*show the digits 0-9*); choose another "
    "dataset in the sidebar. Its tabs show examples of every class, how the classes are balanced and what their "
    "average image looks like, the pixel values, all digits on one map, and the dataset's facts."
)
if not resources.database_away():  # the imports live in the database: none can be added or deleted meanwhile
    dataset_imports.add_dataset()
    dataset_imports.delete_control(data.name, message_key=DELETED)

tabs.lazy_tabs({"Examples": examples, "Classes": classes, "Pixels": pixels, "Map": digit_map_section,
                "Facts": facts_and_credits}, TAB, data)
