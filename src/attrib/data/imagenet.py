"""`imagenet`: a seeded subset of a user-provided ILSVRC-2012 copy (paper scale).

ImageNet cannot be downloaded without an account, so the root comes from the config and is
checked up front with an error that names the config key. Layout is torchvision's ImageFolder
(``root/train/<wnid>/*.JPEG``, ``root/val/<wnid>/*.JPEG``); labels are the index of the wnid
in sorted order, as torchvision's pretrained weights expect.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torchvision import transforms
from torchvision.datasets.folder import IMG_EXTENSIONS, default_loader, make_dataset

from attrib.features import grid_size

CONFIG_KEY = "datasets.imagenet.options.root"
SYNSET_MAPPING = "LOC_synset_mapping.txt"


def check_imagenet_root(root, config_key: str = CONFIG_KEY, splits=("train", "val")) -> Path:
    """The root as a Path, or FileNotFoundError saying which config key to fix."""
    layout = "root/train/<wnid>/*.JPEG and root/val/<wnid>/*.JPEG (torchvision ImageFolder layout)"
    if root is None or not Path(root).is_dir():
        raise FileNotFoundError(
            f"ImageNet root {root!r} does not exist; set config key {config_key} to an ILSVRC-2012 "
            f"copy laid out as {layout} (ImageNet cannot be downloaded without an account)"
        )
    missing = [str(Path(root) / s) for s in splits if not (Path(root) / s).is_dir()]
    if missing:
        raise FileNotFoundError(
            f"ImageNet root {root!r} (config key {config_key}) lacks {', '.join(missing)}; expected {layout}"
        )
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


def _load(samples: list[tuple[str, int]], transform, image_size: int) -> dict:
    if not samples:
        empty = torch.empty((0, 3, image_size, image_size), dtype=torch.uint8)
        return {"x": empty, "y": torch.empty(0, dtype=torch.int64)}
    x = torch.stack([transform(default_loader(path)) for path, _ in samples])
    return {"x": x, "y": torch.tensor([label for _, label in samples], dtype=torch.int64)}


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
) -> tuple[dict[str, dict], dict]:
    """Train from train/, val and test disjoint from val/; resize then centre-crop, uint8."""
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
    order = rng.permutation(len(val_pool))
    chosen = {
        "train": np.sort(rng.choice(len(train_pool), size=n_train, replace=False)) if n_train else [],
        "val": np.sort(order[:n_val]),
        "test": np.sort(order[n_val : n_val + n_test]),
    }
    pools = {"train": train_pool, "val": val_pool, "test": val_pool}
    transform = transforms.Compose(
        [transforms.Resize(resize), transforms.CenterCrop(image_size), transforms.PILToTensor()]
    )
    splits = {name: _load([pools[name][i] for i in idx], transform, image_size) for name, idx in chosen.items()}
    meta = {
        "num_classes": len(wnids),
        "classes": class_names(base, wnids),
        "wnids": wnids,
        "image_size": image_size,
        "patch": patch,
    }
    return splits, meta
