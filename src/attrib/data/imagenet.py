"""`imagenet`: a seeded subset of a user-provided ILSVRC-2012 copy (paper scale).

ImageNet cannot be downloaded without an account, so the root comes from the config and is
checked up front with an error that names the config key and the path that is wrong. Layout
is torchvision's ImageFolder (``root/train/<wnid>/*.JPEG``, ``root/val/<wnid>/*.JPEG``);
labels are the index of the wnid in sorted order, as torchvision's pretrained weights expect.
An image that does not decode is skipped, logged and counted in the meta (``skipped_images``),
or with the option ``strict: true`` stops the build naming the file.
"""

from __future__ import annotations

import itertools
import logging
import os
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torchvision import transforms
from torchvision.datasets.folder import IMG_EXTENSIONS, default_loader, has_file_allowed_extension, make_dataset

from attrib.features import grid_size

CONFIG_KEY = "datasets.imagenet.options.root"
SYNSET_MAPPING = "LOC_synset_mapping.txt"
LAYOUT = "root/train/<wnid>/*.JPEG and root/val/<wnid>/*.JPEG (torchvision ImageFolder layout)"

log = logging.getLogger("attrib.data.imagenet")


def _is_image(name: str) -> bool:
    return has_file_allowed_extension(name, IMG_EXTENSIONS)


def _has_image(folder: Path) -> bool:
    """Whether ImageFolder would find an image in ``folder`` (at any depth); stops at the first."""
    return any(_is_image(name) for _, _, names in os.walk(folder, followlinks=True) for name in names)


def _check_split(folder: Path) -> None:
    """``folder`` (train/ or val/) holds class folders, each with at least one image."""
    classes = sorted(p for p in folder.iterdir() if p.is_dir())
    if not classes:
        loose = sum(1 for p in folder.iterdir() if p.is_file() and _is_image(p.name))
        if loose:
            raise FileNotFoundError(
                f"{folder} holds {loose} images directly but no class folders: images must sit in "
                f"{folder}/<wnid>/ (the official validation archive unpacks flat; move each image into the "
                f"folder of its wnid, e.g. with the devkit's ground-truth labels)"
            )
        raise FileNotFoundError(f"{folder} is empty: expected one folder per class, {folder}/<wnid>/*.JPEG")
    empty = [p for p in classes if not _has_image(p)]
    if empty:
        shown = ", ".join(str(p) for p in empty[:3]) + (f" and {len(empty) - 3} more" if len(empty) > 3 else "")
        raise FileNotFoundError(
            f"{len(empty)} class folder(s) without images: {shown}; every {folder}/<wnid>/ needs at least one "
            f"image ({', '.join(IMG_EXTENSIONS)})"
        )


def check_imagenet_root(root, config_key: str = CONFIG_KEY, splits=("train", "val")) -> Path:
    """The root as a Path once it and each split in ``splits`` have the ImageFolder layout, or
    FileNotFoundError naming the path that is wrong, what was expected and the config key."""
    if not root or not Path(root).exists():
        raise FileNotFoundError(
            f"ImageNet root {root!r} does not exist; set config key {config_key} to an ILSVRC-2012 "
            f"copy laid out as {LAYOUT} (ImageNet cannot be downloaded without an account)"
        )
    if not Path(root).is_dir():
        raise FileNotFoundError(
            f"ImageNet root {root} is a file, not a folder; config key {config_key} must name a folder laid out "
            f"as {LAYOUT}"
        )
    for folder in (Path(root) / split for split in splits):
        if not folder.is_dir():
            kind = "a file" if folder.exists() else "missing"
            raise FileNotFoundError(
                f"{folder} is {kind}; config key {config_key} must name a folder laid out as {LAYOUT}"
            )
    for split in splits:
        _check_split(Path(root) / split)
    return Path(root)


def class_names(root: Path, wnids: list[str]) -> list[str]:
    """First human-readable name per wnid from LOC_synset_mapping.txt if the root has one."""
    path = root / SYNSET_MAPPING
    if not path.is_file():
        return list(wnids)
    names = {}
    for line in path.read_text().splitlines():
        wnid, _, description = line.strip().partition(" ")
        names[wnid] = description.split(",")[0].strip() or wnid
    return [names.get(w, w) for w in wnids]


def _decoded(samples: list[tuple[str, int]], order, transform, strict: bool, skipped: list[str]) -> Iterator:
    """(index, image tensor) for the samples in ``order`` that decode; one that does not is an
    error naming it (``strict``) or appended to ``skipped``."""
    for i in order:
        path = samples[i][0]
        try:
            image = default_loader(path)
        except (OSError, SyntaxError) as e:  # what PIL raises for truncated or foreign files
            if strict:
                raise ValueError(
                    f"{path}: not a readable image ({type(e).__name__}: {e}); the dataset option strict: true "
                    f"stops here, without it corrupt images are skipped and counted"
                ) from e
            log.warning("skipping %s: not a readable image (%s: %s)", path, type(e).__name__, e)
            skipped.append(path)
            continue
        yield int(i), transform(image)


def _take(images: Iterator, n: int, image_size: int, samples: list[tuple[str, int]]) -> dict:
    """The next ``n`` decoded images, stored in file order."""
    chosen = sorted(itertools.islice(images, n), key=lambda item: item[0])
    if not chosen:
        empty = torch.empty((0, 3, image_size, image_size), dtype=torch.uint8)
        return {"x": empty, "y": torch.empty(0, dtype=torch.int64)}
    x = torch.stack([image for _, image in chosen])
    return {"x": x, "y": torch.tensor([samples[i][1] for i, _ in chosen], dtype=torch.int64)}


def build(
    *,
    seed: int,
    root: str,
    n_train: int,
    n_val: int,
    n_test: int,
    image_size: int = 224,
    resize: int = 256,
    patch: int = 16,
    strict: bool = False,
) -> tuple[dict[str, dict], dict]:
    """Train from train/, val and test disjoint from val/; resize then centre-crop, uint8.

    Each split takes the first images of a seeded permutation that decode, so a corrupt file
    is replaced by the next one and the sizes stay as asked.
    """
    grid_size(image_size, patch)
    base = check_imagenet_root(root, splits=("train", "val") if n_train else ("val",))
    folders = [base / s for s in ("train", "val") if (base / s).is_dir()]
    wnids = sorted({p.name for folder in folders for p in folder.iterdir() if p.is_dir()})
    class_to_idx = {w: i for i, w in enumerate(wnids)}

    def scan(split: str) -> list[tuple[str, int]]:
        return make_dataset(str(base / split), class_to_idx, extensions=IMG_EXTENSIONS, allow_empty=True)

    rng = np.random.default_rng(seed)
    val_pool = scan("val")
    if n_val + n_test > len(val_pool):
        raise ValueError(f"{base / 'val'} has {len(val_pool)} images, fewer than n_val + n_test = {n_val + n_test}")
    train_pool = scan("train") if n_train else []
    if n_train > len(train_pool):
        raise ValueError(f"{base / 'train'} has {len(train_pool)} images, fewer than n_train = {n_train}")
    val_order = rng.permutation(len(val_pool))
    train_order = rng.permutation(len(train_pool)) if n_train else []
    transform = transforms.Compose(
        [transforms.Resize(resize), transforms.CenterCrop(image_size), transforms.PILToTensor()]
    )
    skipped: list[str] = []
    val_images = _decoded(val_pool, val_order, transform, strict, skipped)
    splits = {
        "train": _take(_decoded(train_pool, train_order, transform, strict, skipped), n_train, image_size, train_pool),
        "val": _take(val_images, n_val, image_size, val_pool),
        "test": _take(val_images, n_test, image_size, val_pool),
    }
    for name, n, folder in (("train", n_train, "train"), ("val", n_val, "val"), ("test", n_test, "val")):
        if len(splits[name]["y"]) < n:
            raise ValueError(
                f"{base / folder}: too few readable images for n_{name} = {n} after skipping {len(skipped)} "
                f"that do not decode (listed in the log)"
            )
    if skipped:
        log.warning("skipped %d images that do not decode (listed above); meta.json counts them", len(skipped))
    meta = {
        "num_classes": len(wnids),
        "classes": class_names(base, wnids),
        "wnids": wnids,
        "image_size": image_size,
        "patch": patch,
        "skipped_images": len(skipped),
    }
    return splits, meta
