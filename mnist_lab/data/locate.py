"""Find the digit in a photo: the paper, the ink on it, and the marks that make up the digit.

A photo of a digit often holds more than the digit: a desk edge, a shadow, the edge of the sheet. ``to_mnist``
alone takes every dark pixel for ink, so a dark band along one edge becomes part of "the digit" and a clear 4 is
read as something else. ``locate_digit`` estimates the paper (a smooth surface fitted to the light pixels, so
uneven lighting is not ink), thresholds the ink, labels its connected marks, leaves out the marks that run along
the picture's edge (desk edges, shadows, the sheet's border), keeps the largest mark and the marks close to it
(a 5's hat, a 4 drawn in two strokes) and crops to them with a margin. It also says when the input looks unlike
one digit, with the measurements that say so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from mnist_lab.data.preprocess import MIN_CONTRAST, luma, outer_ring, pixel_array
from mnist_lab.errors import BlankImageError, ImageInputError

logger = logging.getLogger(__name__)

INK_SHARE = 0.3  # ink over this share of the strongest ink (after the paper is removed) is a mark
MIN_INK = 0.08  # ... and at least this much (about 20 grey levels) darker than the paper
NOISE = 5.0  # ... and this many times the paper's noise (its robust standard deviation) above the paper
EDGE_CONTACT = 0.15  # a mark touching the picture's edge along this share of a side is a desk edge or shadow
EDGE_AREA = 0.25  # ... and so is a mark touching the edge that covers this share of the picture
SPECK = 0.01  # marks smaller than this share of the largest one are specks (paper texture, noise)
NEAR = 0.15  # marks within this share of the digit's long side from it belong to it (a 5's hat)
SIMILAR = 0.3  # marks apart from the digit and this big relative to it make it look like several digits
#: MNIST's digits, thresholded at a quarter of full ink, cover at most 35% of their 28x28 field and are at most
#: twice as wide as tall (measured on the 10,000 test digits).
MAX_INK_COVER = 0.45
MAX_WIDE = 2.0
_SIDES = ("top", "bottom", "left", "right")


@dataclass(frozen=True)
class Location:
    """Where the digit was found in a picture, and what was left out.

    Attributes
    ----------
    box : tuple of int
        (left, top, right, bottom) in pixels of the picture given; right and bottom are exclusive.
    size : tuple of int
        (width, height) of the picture.
    automatic : bool
        True when the box was found by ``locate_digit``, False when it is the crop the caller asked for.
    dropped_edges : tuple of str
        The sides ("top", "bottom", "left", "right") along which dark marks touching the edge were left out.
    dropped_share : float
        The share of the picture those left-out marks covered.
    reasons : tuple of str
        Measurements that make the input look unlike a single digit (empty when none does).
    crop : tuple of float or None
        The crop asked for, (left, top, right, bottom) in percent, when ``automatic`` is False.
    ink : numpy.ndarray
        float32 ink inside the box, in [0, 1], 0 where no kept mark is: what ``to_mnist`` lays out.
    """

    box: tuple[int, int, int, int]
    size: tuple[int, int]
    automatic: bool
    dropped_edges: tuple[str, ...] = ()
    dropped_share: float = 0.0
    reasons: tuple[str, ...] = ()
    crop: tuple[float, float, float, float] | None = None
    ink: np.ndarray = field(default_factory=lambda: np.zeros((1, 1), np.float32), repr=False, compare=False)

    @property
    def border_ink_dropped(self) -> bool:
        """Whether marks along the picture's edge were left out."""
        return bool(self.dropped_edges)

    @property
    def percent_box(self) -> tuple[int, int, int, int]:
        """The box in whole percent of the picture's width and height, rounded outwards (the crop asked for)."""
        if self.crop is not None:
            return tuple(round(value) for value in self.crop)
        left, top, right, bottom = self.box
        width, height = self.size
        return (int(np.floor(100 * left / width)), int(np.floor(100 * top / height)),
                int(np.ceil(100 * right / width)), int(np.ceil(100 * bottom / height)))

    @property
    def warning(self) -> str | None:
        """A sentence for the user when the input looks unlike a single digit, else None."""
        if not self.reasons:
            return None
        return (f"This looks unlike a single digit: {'; '.join(self.reasons)}. The model always answers with one "
                "of its classes, so its answer may mean little here.")

    def outlined(self, picture: Image.Image) -> Image.Image:
        """The picture in colour with the box drawn in red (3 px at the picture's 1,024 px working size).

        A picture with transparency is shown on white; one drawn on a transparent background (a canvas export)
        shows its strokes in black, whatever their colour, as ``to_mnist`` reads them.
        """
        if picture.mode == "RGBA":
            alpha = picture.getchannel("A")
            if np.median(np.asarray(alpha)) < 128:
                framed = Image.eval(alpha, lambda value: 255 - value).convert("RGB")
            else:
                framed = Image.alpha_composite(Image.new("RGBA", picture.size, "white"), picture).convert("RGB")
        else:
            framed = picture.convert("RGB")
        width = max(2, round(max(framed.size) / 340))
        left, top, right, bottom = self.box
        ImageDraw.Draw(framed).rectangle((left, top, right - 1, bottom - 1), outline=(220, 30, 30), width=width)
        return framed

    def description(self) -> str:
        """One sentence saying what part of the picture was read and what was left out."""
        left, top, right, bottom = self.percent_box
        where = (f"MNIST Lab read the part inside the red box (from {left}% to {right}% of the width, {top}% to "
                 f"{bottom}% of the height)")
        if not self.automatic:
            return f"{where}, as you set it."
        if not self.dropped_edges:
            return f"{where}: the marks it found as the digit, with a margin."
        sides = _joined([f"the {side} edge" for side in self.dropped_edges])
        return (f"{where}; it left out dark areas along {sides} ({self.dropped_share:.0%} of the picture), such "
                "as a desk edge or a shadow.")


def locate_digit(image: Image.Image | np.ndarray, *, crop: tuple[float, float, float, float] | None = None,
                 search: bool = True) -> Location:
    """Find the digit in a picture and return its box and ink.

    Parameters
    ----------
    image : PIL.Image.Image or numpy.ndarray
        The inputs ``to_mnist`` accepts: a photo (dark ink on paper, or light on dark), a screenshot, the drawing
        canvas's RGBA array.
    crop : tuple of float, optional
        (left, top, right, bottom) in percent of the width and height: read only this part, as the user set it.
        The marks inside are all kept.
    search : bool, default True
        Look for the digit (leave out marks along the edge, keep the largest mark and those near it). False reads
        the whole picture as it is (a drawing) and only measures whether it looks like one digit.

    Returns
    -------
    Location

    Raises
    ------
    BlankImageError
        No ink was found (inside the crop, when one is given).
    ImageInputError
        The image or the crop cannot be used; the message says why.
    """
    darkness = _darkness(pixel_array(image))
    height, width = darkness.shape
    box = (0, 0, width, height)
    if crop is not None:
        box = _crop_box(crop, width, height)
        darkness = darkness[box[1] : box[3], box[0] : box[2]]
    surface, noise = _paper(darkness)
    ink = darkness - surface
    np.maximum(ink, 0.0, out=ink)
    rank = min(50, max(1, ink.size // 1000))  # the 50th strongest pixel: a digit has far more, dust or noise fewer
    peak = float(np.partition(ink.ravel(), -rank)[-rank])
    if peak < max(MIN_CONTRAST, NOISE * noise):
        raise BlankImageError("The image has no ink: draw a digit or upload a photo of one"
                              + (" (none inside the crop: widen it)" if crop is not None else ""))
    level = max(INK_SHARE * peak, min(MIN_INK, 0.5 * peak), NOISE * noise)
    marks, count = ndimage.label(ink >= level, structure=np.ones((3, 3), bool))
    found = _Marks(marks, count)
    if crop is not None or not search:
        kept = found.areas >= SPECK * found.areas.max(initial=0)
        location = _location(image_box=box, size=(width, height), ink=ink, found=found, kept=kept, read=kept,
                             dropped=(), dropped_share=0.0, automatic=crop is None, whole=True)
        return location if crop is None else replace(location, crop=tuple(float(value) for value in crop))
    edge = found.along_edge()
    kept = ~edge & (found.areas >= SPECK * found.areas[~edge].max(initial=0))  # specks: next to the largest kept
    dropped_share = float(found.areas[edge].sum()) / ink.size
    dropped = found.main_sides(edge)
    only_edge = not kept.any()
    if only_edge:  # only marks along the edge: read them rather than nothing, and say so
        kept, dropped, dropped_share = found.areas >= SPECK * found.areas.max(initial=0), (), 0.0
    group = found.near_the_largest(kept)
    logger.debug("located %d of %d marks; left out %d along %s", group.sum(), count, edge.sum(), dropped)
    location = _location(image_box=box, size=(width, height), ink=ink, found=found, kept=kept, read=group,
                         dropped=dropped, dropped_share=dropped_share, automatic=True, whole=False)
    if only_edge:
        location = replace(location, reasons=("every mark runs along the picture's edge, as a desk edge or a "
                                              "shadow does", *location.reasons))
    return location


class _Marks:
    """The labelled marks of an ink mask and their measurements (index i is label i + 1)."""

    def __init__(self, labels: np.ndarray, count: int) -> None:
        self.labels, self.count = labels, count
        self.areas = np.bincount(labels.ravel(), minlength=count + 1)[1:]
        boxes = ndimage.find_objects(labels, max_label=count)
        # (top, bottom, left, right), bottom and right exclusive
        self.boxes = np.array([(s[0].start, s[0].stop, s[1].start, s[1].stop) for s in boxes], dtype=int).reshape(-1, 4)
        self.touching = {side: self._contact(edge_pixels) for side, edge_pixels in
                         zip(_SIDES, (labels[0], labels[-1], labels[:, 0], labels[:, -1]))}

    def _contact(self, edge_pixels: np.ndarray) -> np.ndarray:
        """Share of one side of the picture each mark touches."""
        return np.bincount(edge_pixels.ravel(), minlength=self.count + 1)[1:] / edge_pixels.size

    def main_sides(self, marks: np.ndarray) -> tuple[str, ...]:
        """The side each of ``marks`` touches most, in the order of ``_SIDES``, each once."""
        contact = np.array([self.touching[side][marks] for side in _SIDES])
        return tuple(side for index, side in enumerate(_SIDES) if (contact.argmax(axis=0) == index).any())

    def along_edge(self) -> np.ndarray:
        """Marks that run along the picture's edge or touch it while covering much of the picture."""
        contact = np.max([self.touching[side] for side in _SIDES], axis=0) if self.count else np.zeros(0)
        big = self.areas >= EDGE_AREA * self.labels.size
        return (contact >= EDGE_CONTACT) | ((contact > 0) & big)

    def near_the_largest(self, kept: np.ndarray) -> np.ndarray:
        """The largest kept mark and, repeatedly, every kept mark near the group so far."""
        group = np.zeros(self.count, dtype=bool)
        group[int(np.argmax(np.where(kept, self.areas, -1)))] = True
        while True:
            top, bottom, left, right = self.group_box(group)
            reach = NEAR * max(bottom - top, right - left)
            gap_rows = np.maximum(0, np.maximum(self.boxes[:, 0] - bottom, top - self.boxes[:, 1]))
            gap_cols = np.maximum(0, np.maximum(self.boxes[:, 2] - right, left - self.boxes[:, 3]))
            joining = kept & ~group & (np.maximum(gap_rows, gap_cols) <= reach)
            if not joining.any():
                return group
            group |= joining

    def group_box(self, group: np.ndarray) -> tuple[int, int, int, int]:
        """(top, bottom, left, right) around the marks in ``group``."""
        boxes = self.boxes[group]
        return int(boxes[:, 0].min()), int(boxes[:, 1].max()), int(boxes[:, 2].min()), int(boxes[:, 3].max())


def _location(*, image_box, size, ink, found: _Marks, kept, read, dropped, dropped_share, automatic,
              whole) -> Location:
    """Crop the ink of the ``read`` marks (with a margin, or the ``whole`` of it) and measure what looks unlike one digit."""
    if not read.any():
        raise BlankImageError("The image has no ink: draw a digit or upload a photo of one")
    top, bottom, left, right = found.group_box(read)
    selected = np.isin(found.labels, np.flatnonzero(read) + 1)
    # Keep the faint anti-aliased rim of the strokes, which lies under the threshold.
    selected = ndimage.binary_dilation(selected, iterations=2)
    if not whole:
        margin = max(2, round(0.1 * max(bottom - top, right - left)))
        height, width = ink.shape
        top, left = max(0, top - margin), max(0, left - margin)
        bottom, right = min(height, bottom + margin), min(width, right + margin)
    else:  # the user's crop, or the whole drawing: all of it
        top, left, bottom, right = 0, 0, ink.shape[0], ink.shape[1]
    digit_ink = np.where(selected, ink, 0.0).astype(np.float32)[top:bottom, left:right]
    x0, y0 = image_box[0], image_box[1]
    return Location(box=(x0 + left, y0 + top, x0 + right, y0 + bottom), size=size, automatic=automatic,
                    dropped_edges=dropped, dropped_share=dropped_share,
                    reasons=_reasons(found, kept, found.near_the_largest(kept), ink.size), ink=digit_ink)


def _reasons(found: _Marks, kept: np.ndarray, group: np.ndarray, pixels: int) -> tuple[str, ...]:
    """Measured reasons why the kept marks look unlike one digit."""
    reasons = []
    cover = float(found.areas[kept].sum()) / pixels
    if cover > MAX_INK_COVER:
        reasons.append(f"ink covers {cover:.0%} of the picture (a digit in MNIST covers at most 35% of its field)")
    largest = found.areas[group].max()
    apart = int(np.sum(kept & ~group & (found.areas >= SIMILAR * largest)))
    if apart:
        reasons.append(f"{apart + 1} separate marks of similar size lie apart from each other (several digits, "
                       "or writing?)")
    top, bottom, left, right = found.group_box(group)
    wide = (right - left) / (bottom - top)
    if wide > MAX_WIDE:
        reasons.append(f"the marks are {wide:.1f} times as wide as tall (MNIST's digits are at most twice as "
                       "wide as tall)")
    return tuple(reasons)


def _darkness(pixels: np.ndarray) -> np.ndarray:
    """float32 (H, W) in [0, 1] that is high where ink is likely: dark on a light page, light on a dark one."""
    scale = 1.0 / 255.0 if pixels.dtype == np.uint8 else 1.0
    if pixels.shape[2] == 4:
        alpha = pixels[:, :, 3].astype(np.float32) * scale
        if np.median(alpha) < 0.5:  # a transparent background (the canvas): the opaque strokes are the ink
            return alpha
        grey = luma(pixels[:, :, :3], scale) * alpha + (1.0 - alpha) * np.float32(
            np.median(luma(pixels[:, :, :3], scale)[alpha >= 0.5]))
    elif pixels.shape[2] == 3:
        grey = luma(pixels, scale)
    else:
        grey = pixels[:, :, 0].astype(np.float32) * scale
    return (1.0 - grey) if np.median(outer_ring(grey)) >= 0.5 else grey.copy()


def _paper(darkness: np.ndarray) -> tuple[np.ndarray, float]:
    """The paper's darkness at every pixel, and its noise: a quadratic surface fitted to the pixels that are not ink.

    Fitted on at most 128x128 samples, first on the lightest 30% (the paper may be less than half the picture),
    then four more times on the samples within three standard deviations of the last fit (not ink, a desk, a
    shadow), so lighting that falls off across the page is not taken for ink.
    """
    height, width = darkness.shape
    step = max(1, max(height, width) // 128)
    rows, cols = np.mgrid[0:height:step, 0:width:step]
    values = darkness[::step, ::step].ravel()
    y, x = rows.ravel() / max(1, height - 1) - 0.5, cols.ravel() / max(1, width - 1) - 0.5
    terms = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)
    paper = values <= np.percentile(values, 30)
    coefficients, spread = np.zeros(6), 0.0
    for _ in range(5):
        if paper.sum() < 12:
            break
        coefficients = np.linalg.lstsq(terms[paper], values[paper], rcond=None)[0]
        residual = values - terms @ coefficients
        spread = 1.4826 * float(np.median(np.abs(residual[paper])))
        paper = np.abs(residual) <= max(0.02, 3.0 * spread)
    full_y = (np.arange(height) / max(1, height - 1) - 0.5)[:, None]
    full_x = (np.arange(width) / max(1, width - 1) - 0.5)[None, :]
    c = coefficients
    surface = c[0] + c[1] * full_x + c[2] * full_y + c[3] * full_x**2 + c[4] * full_x * full_y + c[5] * full_y**2
    return surface.astype(np.float32), spread


def _crop_box(crop, width: int, height: int) -> tuple[int, int, int, int]:
    """Turn a (left, top, right, bottom) crop in percent into pixels, refusing an empty or reversed one."""
    try:
        left, top, right, bottom = (float(value) for value in crop)
    except (TypeError, ValueError) as error:
        raise ImageInputError(f"A crop is four numbers (left, top, right, bottom, in percent); got {crop!r}") from error
    if not (0 <= left < right <= 100 and 0 <= top < bottom <= 100):
        raise ImageInputError(f"The crop must go from left to right and top to bottom within 0-100%; got left "
                              f"{left:g}%, top {top:g}%, right {right:g}%, bottom {bottom:g}%")
    box = (int(np.floor(left * width / 100)), int(np.floor(top * height / 100)),
           int(np.ceil(right * width / 100)), int(np.ceil(bottom * height / 100)))
    return box[0], box[1], max(box[2], box[0] + 1), max(box[3], box[1] + 1)


def _joined(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
