"""Synthetic photos of digits for the tests: paper with noise and uneven light, a desk edge, MNIST digits in ink."""

import io

import numpy as np
from PIL import Image

PAPER, INK, DESK = 205.0, 35.0, 60.0


def paper(size: tuple[int, int] = (1600, 1200), *, seed: int = 0) -> np.ndarray:
    """Grey paper (float, 0-255) lit unevenly: 30 grey levels darker to the right and bottom, with sensor noise."""
    rng = np.random.default_rng(seed)
    width, height = size
    x, y = np.linspace(0, 1, width)[None, :], np.linspace(0, 1, height)[:, None]
    return PAPER - 25 * x - 10 * y + rng.normal(0, 4, (height, width))


def write(page: np.ndarray, digit: np.ndarray, *, top: int, left: int, side: int) -> np.ndarray:
    """Write an MNIST digit (28x28 uint8, ink bright) in dark ink, scaled to ``side`` pixels, at (top, left)."""
    ink = np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC), np.float32) / 255
    ink = np.clip(ink, 0, 1)
    region = page[top : top + side, left : left + side]
    page[top : top + side, left : left + side] = region * (1 - ink) + INK * ink
    return page


def desk_band(page: np.ndarray, *, share: float = 0.2, seed: int = 1) -> np.ndarray:
    """A dark desk along the bottom edge, its edge slightly slanted, covering about ``share`` of the height."""
    rng = np.random.default_rng(seed)
    height, width = page.shape
    edge = height - int(share * height) - (np.arange(width) * 0.03).astype(int)
    rows = np.arange(height)[:, None]
    desk = DESK + rng.normal(0, 6, page.shape)
    return np.where(rows >= edge[None, :], desk, page)


def jpeg(page: np.ndarray) -> bytes:
    """The page as a colour JPEG, slightly warm as under a desk lamp, as a phone saves it."""
    grey = np.clip(page, 0, 255)
    rgb = np.stack([grey, grey * 0.97, grey * 0.9], axis=-1).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def digit_on_desk(digit: np.ndarray, *, band: bool = True, size: tuple[int, int] = (1600, 1200)) -> bytes:
    """A photo of ``digit`` written large on paper, with (by default) a desk along the bottom edge."""
    width, height = size
    page = write(paper(size), digit, top=int(0.12 * height), left=int(0.4 * width), side=int(0.55 * height))
    return jpeg(desk_band(page) if band else page)
