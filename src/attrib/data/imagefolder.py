"""`imagefolder`: the user's own images in torchvision's ImageFolder layout; class names are
the folder names, labels their index in sorted order.

Layouts: ``root/train/<class>/``, ``root/val/<class>/`` and, optionally, ``root/test/<class>/``
(without test/, val/ is halved per class by the seed), or one folder ``root/<class>/`` split by
``split_fractions`` per class by the seed. Images are resized (shorter side to ``resize``,
default ``image_size``) and centre-cropped. ``n_train``, ``n_val``, ``n_test`` take a seeded
subset of a split (absent: all of it). The checks and decoding are ImageNet's
(attrib.data.imagenet): a folder without class folders or a class folder without images stops
the build naming it; an image that does not decode stops it naming the file (``strict``, the
default here: a user's data should be whole) or, with ``strict: false``, is skipped and counted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torchvision import transforms
from torchvision.datasets.folder import IMG_EXTENSIONS, make_dataset

from attrib.data.imagenet import _check_split, _decoded, _take
from attrib.data.split import SPLIT_NAMES, stratified_split
from attrib.features import grid_size

LAYOUTS = "root/train/<class>/, root/val/<class>/ (and root/test/<class>/), or root/<class>/"


def _root(root) -> Path:
    if not root or not Path(root).expanduser().is_dir():
        raise FileNotFoundError(f"option root: image folder {root!r} does not exist or is not a folder; expected "
                                f"{LAYOUTS} with the images of each class in its folder")
    return Path(root).expanduser()


def build(
    *,
    seed: int,
    root: str,
    image_size: int = 224,
    resize: int | None = None,
    patch: int = 16,
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    n_train: int | None = None,
    n_val: int | None = None,
    n_test: int | None = None,
    strict: bool = True,
) -> tuple[dict[str, dict], dict]:
    """uint8 splits of an ImageFolder tree and its meta (classes from the folder names)."""
    grid_size(image_size, patch)
    base = _root(root)
    presplit = (base / "train").is_dir() and (base / "val").is_dir()
    folders = [base / s for s in SPLIT_NAMES if (base / s).is_dir()] if presplit else [base]
    for folder in folders:
        _check_split(folder, "<class>", "")
    classes = sorted({p.name for folder in folders for p in folder.iterdir() if p.is_dir()})
    class_to_idx = {c: i for i, c in enumerate(classes)}

    def scan(folder: Path) -> list[tuple[str, int]]:
        return make_dataset(str(folder), class_to_idx, extensions=IMG_EXTENSIONS, allow_empty=True)

    rng = np.random.default_rng(seed)
    if presplit:
        pools = {name: scan(base / name) for name in SPLIT_NAMES if (base / name).is_dir()}
        orders = {name: rng.permutation(len(pool)) for name, pool in pools.items()}
        if "test" not in pools:  # val/ halved per class: val and test
            pools["test"] = pools["val"]
            labels = np.array([y for _, y in pools["val"]])
            orders["val"], orders["test"] = stratified_split(labels, (0.5, 0.5), rng, names=("val", "test"))
    else:
        pool = scan(base)
        parts = stratified_split(np.array([y for _, y in pool]), split_fractions, rng)
        pools, orders = dict.fromkeys(SPLIT_NAMES, pool), dict(zip(SPLIT_NAMES, parts))
    transform = transforms.Compose(
        [transforms.Resize(resize or image_size), transforms.CenterCrop(image_size), transforms.PILToTensor()]
    )
    skipped: list[str] = []
    splits = {}
    for name, n in zip(SPLIT_NAMES, (n_train, n_val, n_test)):
        images = _decoded(pools[name], orders[name], transform, strict, skipped)
        splits[name] = _take(images, n, image_size, pools[name])
        if n is not None and len(splits[name]["y"]) < n:
            raise ValueError(f"{base}: too few readable images for n_{name} = {n} in the {name} split "
                             f"({len(orders[name])} images, {len(skipped)} skipped as unreadable)")
        if not len(splits[name]["y"]):
            raise ValueError(f"{base}: the {name} split holds no readable image")
    meta = {
        "num_classes": len(classes),
        "classes": classes,
        "image_size": image_size,
        "patch": patch,
        "layout": "train/val/test folders" if presplit else f"one folder split by {list(split_fractions)}",
        "skipped_images": len(skipped),
    }
    return splits, meta
