"""`digits`: real handwritten digits on crops of real photographs, with ground-truth masks.

Source digits are scikit-learn's 1,797 8x8 digits; backgrounds are photographs shipped inside
scikit-image (no download). The digit's pixels are saved as a mask so explanations can be
scored against ground truth. Everything is rendered in one vectorised pass from one seeded
generator, so a seed fixes the dataset exactly.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import skimage.data
import torch
import torch.nn.functional as F
from skimage.transform import rescale
from skimage.util import img_as_float32
from sklearn.datasets import load_digits

from attrib.features import grid_size

# Only photographs that skimage ships in its wheel (brain, eagle, lily, kidney need a download).
BACKGROUNDS = (
    "coffee", "chelsea", "astronaut", "rocket", "immunohistochemistry",
    "grass", "gravel", "brick", "camera", "coins", "moon",
)
CLASSES = [str(d) for d in range(10)]
DIGIT_SIDE = 8
COLOUR_CANDIDATES = 4


@lru_cache(maxsize=4)
def load_backgrounds(scale: float) -> tuple[np.ndarray, ...]:
    """Float RGB photos (H,W,3) in [0,1], downscaled so a small crop shows edges and objects
    rather than a flat patch of texture."""
    photos = []
    for name in BACKGROUNDS:
        img = img_as_float32(getattr(skimage.data, name)())
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=-1)
        img = rescale(img, scale, channel_axis=-1, anti_aliasing=True).astype(np.float32)
        img.setflags(write=False)
        photos.append(img)
    return tuple(photos)


def saturated_colours(hue: np.ndarray, value: np.ndarray) -> np.ndarray:
    """HSV with saturation 1 -> RGB, for any array shape (adds a trailing axis of 3)."""
    dist = np.abs(6 * hue[..., None] - np.array([3.0, 2.0, 4.0]))
    rgb = np.clip(np.stack([dist[..., 0] - 1, 2 - dist[..., 1], 2 - dist[..., 2]], axis=-1), 0, 1)
    return (rgb * value[..., None]).astype(np.float32)


def _crops(rng: np.random.Generator, n: int, size: int, scale: float) -> np.ndarray:
    """(n, size, size, 3) random crops of random photos."""
    photos = load_backgrounds(scale)
    which = rng.integers(len(photos), size=n)
    crops = np.empty((n, size, size, 3), np.float32)
    span = np.arange(size)
    for b, photo in enumerate(photos):
        idx = np.flatnonzero(which == b)
        h, w = photo.shape[:2]
        if min(h, w) < size:
            raise ValueError(f"background {BACKGROUNDS[b]} is {h}x{w} after scaling by {scale}, smaller than {size}")
        top = rng.integers(h - size + 1, size=idx.size)
        left = rng.integers(w - size + 1, size=idx.size)
        crops[idx] = photo[(top[:, None] + span)[:, :, None], (left[:, None] + span)[:, None, :]]
    return crops


def render(
    digits: np.ndarray,
    rng: np.random.Generator,
    *,
    image_size: int = 32,
    digit_scale: int = 3,
    max_offset: int = 2,
    background_contrast: float = 0.5,
    background_scale: float = 0.25,
    mask_threshold: float = 0.25,
) -> dict[str, np.ndarray]:
    """Alpha-blend 8x8 digits (ink 0..16) onto photo crops.

    Returns uint8 ``x`` (N,3,S,S), bool ``mask`` (N,S,S) where the digit's alpha exceeds
    ``mask_threshold``, and the uint8 ``background`` (N,3,S,S) the digit was blended onto
    (so tests can check that the mask marks pixels the digit actually changed).
    """
    n, s = len(digits), image_size
    d = DIGIT_SIDE * digit_scale
    margin = (s - d) // 2
    if d > s or not 0 <= max_offset <= margin:
        raise ValueError(
            f"a {d}px digit with offset up to {max_offset} does not fit in {s}px "
            f"(max_offset must be in [0, {margin}])"
        )
    if not 0 < background_contrast <= 1:
        raise ValueError(f"background_contrast must be in (0, 1], got {background_contrast}")

    crops = _crops(rng, n, s, background_scale)
    mean = crops.mean(axis=(1, 2), keepdims=True)
    crops = mean + background_contrast * (crops - mean)

    ink = torch.from_numpy(np.asarray(digits, np.float32) / 16).unsqueeze(1)
    small = F.interpolate(ink, scale_factor=digit_scale, mode="bilinear", align_corners=False)
    small = small.squeeze(1).clamp_(0, 1).numpy()
    alpha = np.zeros((n, s, s), np.float32)
    top = margin + rng.integers(-max_offset, max_offset + 1, size=n)
    left = margin + rng.integers(-max_offset, max_offset + 1, size=n)
    span = np.arange(d)
    alpha[np.arange(n)[:, None, None], (top[:, None] + span)[:, :, None], (left[:, None] + span)[:, None, :]] = small

    # Best of a few random saturated colours: the one farthest from the background under the digit.
    under = (alpha[..., None] * crops).sum(axis=(1, 2)) / np.maximum(alpha.sum(axis=(1, 2)), 1e-6)[:, None]
    candidates = saturated_colours(rng.random((n, COLOUR_CANDIDATES)), rng.uniform(0.5, 1, (n, COLOUR_CANDIDATES)))
    best = np.linalg.norm(candidates - under[:, None], axis=-1).argmax(axis=1)
    colour = candidates[np.arange(n), best]

    a = alpha[..., None]
    image = (1 - a) * crops + a * colour[:, None, None, :]

    def to_uint8(img: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.clip(np.round(img * 255), 0, 255).astype(np.uint8).transpose(0, 3, 1, 2))

    return {"x": to_uint8(image), "mask": alpha > mask_threshold, "background": to_uint8(crops)}


def split_sources(labels: np.ndarray, fractions, rng: np.random.Generator) -> list[np.ndarray]:
    """Source-digit indices per split, stratified by class so each split has every digit in
    proportion; a source digit lands in exactly one split."""
    fr = np.asarray(fractions, dtype=float)
    if fr.shape != (3,) or (fr < 0).any() or not np.isclose(fr.sum(), 1):
        raise ValueError(f"split_fractions must be three non-negative numbers summing to 1, got {fractions}")
    parts: list[list[np.ndarray]] = [[], [], []]
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        cuts = np.round(np.cumsum(fr)[:2] * idx.size).astype(int)
        for part, chunk in zip(parts, np.split(idx, cuts)):
            part.append(chunk)
    return [np.sort(np.concatenate(p)) for p in parts]


def build(
    *,
    seed: int,
    placements: int,
    image_size: int = 32,
    patch: int = 4,
    digit_scale: int = 3,
    max_offset: int = 2,
    background_contrast: float = 0.5,
    background_scale: float = 0.25,
    mask_threshold: float = 0.25,
    split_fractions=(0.7, 0.1, 0.2),
) -> tuple[dict[str, dict], dict]:
    """``placements`` renderings of every source digit, split by source digit."""
    grid_size(image_size, patch)
    if placements < 1:
        raise ValueError(f"placements must be >= 1, got {placements}")
    source = load_digits()
    labels = source.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    per_split = [rng.permutation(np.repeat(idx, placements)) for idx in split_sources(labels, split_fractions, rng)]
    order = np.concatenate(per_split)
    rendered = render(
        source.images[order], rng, image_size=image_size, digit_scale=digit_scale, max_offset=max_offset,
        background_contrast=background_contrast, background_scale=background_scale, mask_threshold=mask_threshold,
    )
    splits = {}
    bounds = np.cumsum([0] + [len(p) for p in per_split])
    for name, lo, hi in zip(("train", "val", "test"), bounds[:-1], bounds[1:]):
        splits[name] = {
            "x": torch.from_numpy(rendered["x"][lo:hi].copy()),
            "y": torch.from_numpy(labels[order[lo:hi]]),
            "mask": torch.from_numpy(rendered["mask"][lo:hi].copy()),
            "source": torch.from_numpy(order[lo:hi].astype(np.int64)),
        }
    meta = {"num_classes": 10, "classes": CLASSES, "image_size": image_size, "patch": patch}
    return splits, meta
