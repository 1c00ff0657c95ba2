"""Data page: what goes into the model (assignment question A1)."""

import streamlit as st

from mnist_lab import charts
from mnist_lab.data import explore
from ui import report_links, resources

data = resources.dataset()


@st.cache_data(show_spinner=False)
def gallery_strips(split: str, per_class: int, seed: int) -> dict:
    return {name: explore.tile(images) for name, images in explore.gallery(data, split, per_class, seed).items()}


@st.cache_data(show_spinner=False)
def class_statistics() -> tuple:
    means = explore.images_frame(explore.class_images(data, "mean"), data.class_names)
    stds = explore.images_frame(explore.class_images(data, "std"), data.class_names)
    return explore.class_counts(data), means, stds, explore.pixel_histogram(data), explore.pixel_facts(data)


@st.cache_data(show_spinner="Projecting digits to 2-D...")
def digit_map(method: str, sample: int, seed: int):
    return explore.embedding(data, method=method, sample=sample, seed=seed)


counts, means, stds, histogram, pixels = class_statistics()

st.title("The data: MNIST digits")
st.markdown(
    f"Before training anything, look at what goes into the model: {len(data.y_train):,} training and "
    f"{len(data.y_test):,} test images of handwritten digits, each {data.image_shape[0]}x{data.image_shape[1]} "
    "grey pixels with a label. This page answers assignment question A1 (*show the digits 0-9*)."
)

st.header("Examples of every class")
split_col, size_col, seed_col = st.columns([1, 2, 1])
split = split_col.segmented_control("Split", ["train", "test"], default="train", key="gallery_split") or "train"
per_class = size_col.slider("Examples per class", 1, 20, 10, key="gallery_per_class")
seed = seed_col.number_input("Shuffle seed", 0, 10_000, 0, key="gallery_seed", help="Another seed, other examples.")
for name, strip in gallery_strips(split, per_class, int(seed)).items():
    label, images = st.columns([1, 12], vertical_alignment="center")
    label.markdown(f"**{name}**")
    images.image(strip, output_format="PNG")
report_links.link_to_answer("a1")

st.header("Class balance")
st.markdown(
    "Every digit has roughly a tenth of the images (between "
    f"{counts['share'].min():.1%} and {counts['share'].max():.1%} of a split), so accuracy is a fair summary "
    "and no class needs re-weighting."
)
st.altair_chart(charts.class_balance(counts), width="stretch")

st.header("The average digit and where digits differ")
st.markdown(
    "First row: the mean of each class's training images. Second row: the per-pixel standard deviation, bright where "
    "writers disagree. The border pixels are almost always 0: MNIST digits sit in a 20x20 box centred in the 28x28 field."
)
st.altair_chart(charts.small_heatmaps(means, title="Mean image per class"))
st.altair_chart(charts.small_heatmaps(stds, title="Standard deviation per pixel"))

st.header("Pixel intensities, raw and scaled")
st.altair_chart(charts.pixel_histogram(histogram))
st.markdown(
    f"{pixels['zero_share']:.0%} of all pixels are exactly 0 (background, left out of the histogram); the ink "
    "pixels spread up to 255, with a peak of fully dark strokes. "
    "Dividing by 255 maps the values to 0-1 without changing the picture. Networks train faster and more "
    "stably on small inputs: with 0-255, the first layer's weighted sums are ~255 times larger, so the "
    "initial activations and gradients are far too big for the usual learning rates. Try it: the Train "
    "page has a switch to turn scaling off."
)
report_links.link_to_answer("b1")

st.header("One digit, pixel by pixel")
pick_split, pick_index = st.columns(2)
inspect_split = pick_split.segmented_control("Split", ["train", "test"], default="train", key="inspect_split") or "train"
images, labels = data.split(inspect_split)
index = int(pick_index.number_input("Image index", 0, len(labels) - 1, 0, key="inspect_index"))
digit, explanation = st.columns([1, 1])
digit.altair_chart(charts.heatmap(explore.image_frame(images[index]), domain=[0, 255]), width="content")
explanation.markdown(
    f"Image {index} of the {inspect_split} split is labelled **{data.class_names[labels[index]]}**. "
    f"Hover a cell to read its value (0 = empty background, drawn white here; 255 = full ink, drawn black).\n\n"
    f"A Dense (fully connected) input layer needs a flat vector: flattening the "
    f"{data.image_shape[0]}x{data.image_shape[1]} grid row by row gives "
    f"**{data.image_shape[0] * data.image_shape[1]} input values** per image. "
    "A convolutional network keeps the 2-D grid instead, so it can use the fact that neighbouring pixels belong together."
)
report_links.link_to_answer("b3")

st.header("All digits on one map")
method_col, sample_col = st.columns(2)
method = method_col.radio(
    "Projection",
    explore.EMBEDDING_METHODS,
    format_func={"pca": "PCA (linear, instant)", "tsne": "t-SNE (non-linear, a few seconds)"}.get,
    horizontal=True,
    key="map_method",
)
sample = sample_col.slider("Digits on the map", 500, 5000, 2000, step=500, key="map_sample")
st.altair_chart(
    charts.embedding_scatter(digit_map(method, sample, 0), title=f"{sample} training digits, {method.upper()}"),
    width="stretch",
)
st.caption(
    "Each point is one image of 784 pixels squeezed to two numbers. Click a class in the legend to highlight it; "
    "scroll to zoom. Classes that overlap here (4 and 9, 3, 5 and 8) are the ones models confuse most."
)

st.header("Facts and credits")
st.dataframe(explore.dataset_facts(data), hide_index=True, width="stretch")
st.caption(f"{data.source}. Licence: {data.licence}. The original files ship with MNIST Lab unchanged.")
