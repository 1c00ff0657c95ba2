"""Data page: what goes into the model (assignment question A1), and adding a dataset of one's own."""

import streamlit as st

from mnist_lab import charts
from mnist_lab import data as datasets
from mnist_lab.charts import describe
from mnist_lab.data import explore, limits
from mnist_lab.errors import MnistLabError
from mnist_lab.runs import store as run_store
from mnist_lab.text import markdown_text
from ui import dataset_delete, report_links, resources, sidebar, tabs, vega

DELETED = "data_deleted_message"

#: Classes that overlap on MNIST's 2-D maps and in its confusion matrices.
TAB = "data_tab"
MNIST_OVERLAPS = ("Classes that overlap here (4 and 9; 3, 5 and 8) are among those models confuse most often: compare "
                  "with a run's confusion matrix on the Evaluate page.")


@st.cache_data(show_spinner=False)
def gallery_strips(name: str, split: str, per_class: int, seed: int) -> dict[str, tuple[int, object]]:
    """Per class name: how many images its strip holds, and the strip."""
    chosen = resources.dataset(name)
    return {label: (len(images), explore.tile(images))
            for label, images in explore.gallery(chosen, split, per_class, seed).items()}


@st.cache_data(show_spinner="Computing the class statistics...")
def class_statistics(name: str) -> tuple:
    chosen = resources.dataset(name)
    means, stds = (explore.shaded_pictures(explore.class_images(chosen, statistic)) for statistic in ("mean", "std"))
    return explore.class_counts(chosen), means, stds, explore.pixel_histogram(chosen), explore.pixel_facts(chosen)


@st.cache_data(show_spinner=False)
def statistics_charts(name: str) -> tuple[dict, list[dict]]:
    """The class balance and the two pixel histograms, as specs built once per dataset for every session."""
    counts, _, _, histogram, _ = class_statistics(name)
    histograms = [charts.pixel_histogram(histogram, scale) for scale in histogram["scale"].unique()]
    return vega.spec(charts.class_balance(counts)), vega.specs(histograms)


@st.cache_data(show_spinner=False, max_entries=8)
def digit_map(name: str, method: str, sample: int, seed: int) -> explore.Embedding:
    """The 2-D map, computed once per dataset and setting for every session; it carries its own measured time."""
    return explore.embedding(resources.dataset(name), method=method, sample=sample, seed=seed)


def image_row(pictures: list, names: tuple[str, ...], title: str, key: str) -> None:
    """One small picture of every class under ``title``, in a row that wraps on a narrow screen; each picture's
    text alternative is the title and its class."""
    st.markdown(f"**{title}**")
    with st.container(key=key):
        st.image(pictures, caption=list(names), output_format="PNG",
                 alt=[f"{title} of class {name}" for name in names])


def add_dataset() -> None:
    """The form that imports a dataset in MNIST's format from uploaded files."""
    with st.expander("Add your own dataset (MNIST format)"):
        st.markdown(
            "Upload the four IDX files under MNIST's names (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, "
            "`t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each may end in `.gz`), optionally a "
            "`classes.txt` with one class name per line, or one `.zip` holding them. Fashion-MNIST, "
            "Kuzushiji-MNIST and the EMNIST splits come in this form. The files are checked before anything is stored: "
            f"at most {limits.MAX_TRAIN_IMAGES:,} training and {limits.MAX_TEST_IMAGES:,} test images "
            f"(MNIST has 60,000 and 10,000), and {limits.MAX_DATASETS_PER_STUDENT} datasets per student."
        )
        files = st.file_uploader("Dataset files", accept_multiple_files=True, key="dataset_files",
                                 max_upload_size=datasets.MAX_UPLOAD_BYTES // 2**20)
        name = st.text_input("Dataset name", max_chars=40, key="dataset_name", placeholder="for example Fashion-MNIST")
        if st.button("Add dataset", disabled=not files or not name, key="dataset_add"):
            try:
                with st.spinner("Checking and storing the dataset..."):
                    added = datasets.import_idx_upload({f.name: f.getvalue() for f in files}, name,
                                                       run_store.default_home(), user=resources.user(),
                                                       database=resources.database_url())
            except MnistLabError as error:
                st.error(markdown_text(str(error)))
                return
            sidebar.choose_dataset(added.name)
            st.rerun()


def delete_control(name: str) -> None:
    """A Delete control for the dataset ``name`` when it is an import this session's user may delete."""
    home, user = run_store.default_home(), resources.user()
    try:
        record = datasets.imported_dataset(name, home, database=resources.database_url())
    except MnistLabError:  # the imports cannot be listed: the sidebar's dataset picker has said why
        return
    if record is None or not datasets.may_delete(record, user):
        return

    def forget_it():
        for cached in (gallery_strips, class_statistics, statistics_charts, digit_map):
            cached.clear()
        sidebar.choose_dataset(datasets.MNIST_NAME)

    dataset_delete.delete_popover(name, label="Delete this dataset", key="dataset_delete", message_key=DELETED,
                                  after=forget_it)


def examples(data: datasets.Dataset) -> None:
    st.header("Examples of every class")
    split_col, size_col, seed_col = st.columns([1, 2, 1])
    split = split_col.segmented_control("Split", ["train", "test"], default="train", key="gallery_split",
                                        persist_state="page") or "train"
    per_class = size_col.slider("Examples per class", 1, 20, 10, key="gallery_per_class", persist_state="page")
    seed = seed_col.number_input("Shuffle seed", 0, 10_000, 0, key="gallery_seed", persist_state="page",
                                 help="Another seed, other examples.")
    for class_name, (count, strip) in gallery_strips(data.name, split, per_class, int(seed)).items():
        label, images = st.columns([1, 12], vertical_alignment="center")
        label.markdown(f"**{markdown_text(class_name)}**")
        images.image(strip, output_format="PNG",
                     alt=f"{count} random {split} image{'s' * (count != 1)} of class {class_name}, side by side")
    report_links.link_to_answer("a1")


def classes(data: datasets.Dataset) -> None:
    counts, means, stds, _, _ = class_statistics(data.name)
    st.header("Class balance")
    st.markdown(explore.balance_sentence(counts))
    vega.show_described(statistics_charts(data.name)[0], describe.class_balance(counts), counts, width="stretch",
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
    _, _, _, histogram, facts = class_statistics(data.name)
    st.header("Pixel intensities, raw and scaled")
    for column, chart, scale in zip(st.columns(2), statistics_charts(data.name)[1], histogram["scale"].unique()):
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
        projected = digit_map(data.name, method, sample, 0)
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
    class_statistics(data.name)
except MnistLabError as error:
    st.error(f"The chosen dataset cannot be loaded: {markdown_text(str(error))}")
    add_dataset()
    delete_control(sidebar.chosen_dataset_name())
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
    add_dataset()
    delete_control(data.name)

tabs.lazy_tabs({"Examples": examples, "Classes": classes, "Pixels": pixels, "Map": digit_map_section,
                "Facts": facts_and_credits}, TAB, data)
