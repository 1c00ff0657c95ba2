"""Finding the digit in a photo (locate_digit): a desk edge left out, strokes kept whole, inputs unlike a digit
named; read with a real small model trained on MNIST."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_lab import predictions
from mnist_lab.data import locate, preprocess
from mnist_lab.data.preprocess import BlankImageError, ImageInputError
from mnist_lab.predictions.inference import RunModel
from mnist_lab.runs.store import RunStore
from tests.photos import digit_on_desk, jpeg, paper, write


@pytest.fixture(scope="module")
def model(trained_home):
    store = RunStore(trained_home)
    return RunModel.load(store, next(run for run in store.list_runs() if run.name == "small fast"))


def read_well(model, mnist, label: int, count: int = 3) -> list[int]:
    """The first ``count`` test digits of ``label`` that the model reads right, laid out the MNIST way."""
    found = []
    for index in np.flatnonzero(mnist.y_test == label):
        if np.argmax(model.predict_digit(preprocess.to_mnist(mnist.x_test[index]))) == label:
            found.append(int(index))
        if len(found) == count:
            return found
    raise AssertionError(f"the model reads no {label} right")


@pytest.mark.parametrize("label", [4, 7, 9])
def test_a_digit_photographed_with_a_desk_edge_is_read_right(model, mnist, label):
    for index in read_well(model, mnist, label):
        photo = digit_on_desk(mnist.x_test[index])
        own = predictions.read_own_digit(model, photo)
        assert own.location.dropped_edges == ("bottom",)
        assert np.argmax(own.probabilities) == label, (index, own.probabilities.round(2))
        # The same photo laid out whole (today's recipe without locating): the desk becomes part of the digit.
        whole = model.predict_digit(preprocess.to_mnist(preprocess.load_image(photo)))
        assert whole[label] < own.probabilities[label] - 0.3, (index, whole.round(2))


def test_the_box_holds_the_digit_and_not_the_desk(mnist):
    photo = digit_on_desk(mnist.x_test[int(np.flatnonzero(mnist.y_test == 4)[0])])
    picture = preprocess.load_image(photo)
    location = locate.locate_digit(picture)
    assert picture.size == location.size == (1024, 768)
    left, top, right, bottom = location.box
    # The digit was written at 40%-81% of the width and 12%-67% of the height; the desk starts below 77%.
    assert left >= 0.38 * 1024 and right <= 0.83 * 1024
    assert top >= 0.10 * 768 and bottom <= 0.70 * 768
    assert location.border_ink_dropped and 0.18 < location.dropped_share < 0.25
    assert location.warning is None
    assert location.description().endswith("it left out dark areas along the bottom edge "
                                           f"({location.dropped_share:.0%} of the picture), such as a desk edge "
                                           "or a shadow.")


def test_a_photo_without_a_desk_is_read_as_before(model, mnist):
    index = read_well(model, mnist, 4)[0]
    photo = digit_on_desk(mnist.x_test[index], band=False)
    own = predictions.read_own_digit(model, photo)
    before = preprocess.to_mnist(preprocess.load_image(photo))
    assert not own.location.border_ink_dropped and own.location.warning is None
    written = preprocess.to_mnist(mnist.x_test[index])
    assert np.corrcoef(own.seen.ravel(), written.ravel())[0, 1] > max(0.9, np.corrcoef(before.ravel(), written.ravel())[0, 1])
    assert np.argmax(own.probabilities) == 4


def five_in_two_strokes(draw: ImageDraw.ImageDraw) -> None:
    """A 5 whose hat was written as a separate stroke that does not touch the body (gap of 12 px)."""
    draw.line([(430, 200), (610, 200)], fill=30, width=26)  # the hat
    draw.line([(430, 238), (430, 380)], fill=30, width=26)  # the stem, 12 px below the hat
    draw.arc((400, 330, 620, 560), start=-110, end=150, fill=30, width=26)  # the belly


def test_a_hat_written_apart_stays_part_of_the_digit():
    page = Image.fromarray(np.clip(paper((1024, 768)), 0, 255).astype(np.uint8))
    five_in_two_strokes(ImageDraw.Draw(page))
    location = locate.locate_digit(page)
    left, top, right, bottom = location.box
    assert top < 200 - 13 and bottom > 560 and left < 400 and right > 620  # hat, belly and stem
    assert location.warning is None
    assert not location.border_ink_dropped


def test_several_digits_in_a_row_are_read_but_named_unlike_one_digit(mnist):
    page = paper((1600, 900))
    for position, index in enumerate((0, 1, 2)):  # 7, 2, 1 written 500 px apart
        write(page, mnist.x_test[index], top=250, left=100 + 500 * position, side=400)
    location = locate.locate_digit(preprocess.load_image(jpeg(page)))
    assert location.warning.startswith("This looks unlike a single digit: 3 separate marks of similar size")


def test_ink_covering_most_of_the_picture_is_named_with_its_share():
    page = paper((800, 600))
    page[60:540, 60:740] = 40.0  # a dark sheet inside the frame, not touching the edge
    location = locate.locate_digit(preprocess.load_image(jpeg(page)))
    cover = float(location.reasons[0].split("ink covers ")[1].split("%")[0])
    assert 65 <= cover <= 70  # 480 x 680 of 600 x 800 is 68%
    assert "ink covers" in location.warning and "may mean little" in location.warning


def test_a_wide_flat_mark_is_named_with_its_proportions():
    page = paper((800, 600))
    page[280:320, 100:700] = 40.0  # a dash 600 px wide, 40 px tall
    location = locate.locate_digit(preprocess.load_image(jpeg(page)))
    assert any(reason.startswith("the marks are 1") and "times as wide as tall" in reason
               for reason in location.reasons)
    wide = float(location.reasons[-1].split("are ")[1].split(" times")[0])
    assert wide == pytest.approx(600 / 40, rel=0.2)


def test_a_crop_set_by_hand_reads_that_part_and_keeps_all_its_marks(model, mnist):
    index = read_well(model, mnist, 4)[0]
    photo = digit_on_desk(mnist.x_test[index])
    found = predictions.read_own_digit(model, photo).location
    left, top, right, _ = found.percent_box
    own = predictions.read_own_digit(model, photo, crop=(left, top, right, 100))  # down into the desk
    assert not own.location.automatic and own.location.box[3] == 768
    assert own.location.description().endswith("as you set it.")
    assert np.argmax(own.probabilities) != 4 or own.probabilities[4] < 0.5  # the desk is read as ink again
    same = predictions.read_own_digit(model, photo, crop=found.percent_box)
    assert np.argmax(same.probabilities) == 4


@pytest.mark.parametrize("crop", [(50, 10, 40, 90), (0, 0, 100, 101), (1, 2, 3)])
def test_impossible_crops_are_refused_with_what_was_given(mnist, crop):
    with pytest.raises(ImageInputError, match="crop"):
        locate.locate_digit(Image.fromarray(255 - mnist.x_test[0]), crop=crop)


def test_a_crop_of_bare_paper_says_there_is_no_ink():
    page = Image.fromarray(np.clip(paper((800, 600)), 0, 255).astype(np.uint8))
    ImageDraw.Draw(page).line([(600, 100), (600, 500)], fill=30, width=20)
    with pytest.raises(BlankImageError, match="none inside the crop"):
        locate.locate_digit(page, crop=(0, 0, 50, 100))


def test_a_drawing_is_read_whole_and_two_drawn_digits_are_named(model, mnist):
    canvas = np.zeros((280, 280, 4), dtype=np.uint8)
    canvas[:, :, 3] = np.asarray(Image.fromarray(mnist.x_test[0]).resize((280, 280)))
    own = predictions.read_own_digit(model, canvas)
    assert own.location.box == (0, 0, 280, 280) and own.location.warning is None
    two = np.zeros((280, 560, 4), dtype=np.uint8)
    two[:, :280, 3] = canvas[:, :, 3]
    two[:, 280:, 3] = np.asarray(Image.fromarray(mnist.x_test[1]).resize((280, 280)))
    assert "2 separate marks of similar size" in predictions.read_own_digit(model, two).location.warning


def test_the_outline_is_drawn_on_a_copy_in_red(mnist):
    picture = preprocess.load_image(digit_on_desk(mnist.x_test[int(np.flatnonzero(mnist.y_test == 4)[0])]))
    location = locate.locate_digit(picture)
    framed = np.asarray(location.outlined(picture))
    left, top, _, _ = location.box
    assert tuple(framed[top + 20, left]) == (220, 30, 30)
    assert picture.mode == "L"  # the picture itself is unchanged



def test_a_photo_file_round_trip_keeps_the_picture_for_display(model, mnist):
    own = predictions.read_own_digit(model, digit_on_desk(mnist.x_test[0]))
    assert own.original.size == own.location.size


@pytest.mark.parametrize("side", [60, 120])
def test_a_small_digit_beside_a_large_desk_is_found(mnist, side):
    from tests.photos import desk_band

    page = desk_band(write(paper((1600, 1200)), mnist.x_test[0], top=300, left=700, side=side))
    picture = preprocess.load_image(jpeg(page))
    location = locate.locate_digit(picture)
    scale = 1024 / 1600  # the photo is read at 1,024 px
    left, top, right, bottom = location.box
    assert left <= 700 * scale + side * scale / 2 and right >= (700 + side / 2) * scale
    assert top >= 0.24 * 768 and bottom < 0.5 * 768  # written at 25% and location.dropped_edges == ("bottom",)
    written = preprocess.to_mnist(mnist.x_test[0])
    assert np.corrcoef(preprocess.to_mnist(location.ink).ravel(), written.ravel())[0, 1] > 0.9


def test_a_picture_of_only_a_desk_edge_is_read_but_named():
    page = paper((800, 600))
    page[450:, :] = 60.0  # the desk along the bottom, and no digit
    location = locate.locate_digit(preprocess.load_image(jpeg(page)))
    assert location.reasons[0] == "every mark runs along the picture's edge, as a desk edge or a shadow does"
    assert not location.border_ink_dropped  # it was read: nothing else was there


def test_a_transparent_canvas_export_is_outlined_as_black_strokes_on_white(mnist):
    rgba = np.zeros((280, 280, 4), dtype=np.uint8)
    rgba[:, :, :3] = 255  # white strokes: invisible on white unless shown by their opacity
    rgba[:, :, 3] = np.asarray(Image.fromarray(mnist.x_test[0]).resize((280, 280)))
    picture = Image.fromarray(rgba)
    location = locate.locate_digit(picture)
    framed = np.asarray(location.outlined(picture))
    left, top, right, bottom = location.box
    inside = framed[top + 5 : bottom - 5, left + 5 : right - 5]
    assert framed[2, 2].tolist() == [255, 255, 255] and inside.min() < 40  # white paper, dark strokes
