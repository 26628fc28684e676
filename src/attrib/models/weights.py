"""Fetch the paper models' pretrained weights into ``resources/`` (the download rule's job;
compute jobs only read them, see the ``resnet50``, ``vit_b_16`` and ``roberta`` builders)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import torch

from attrib.models.text import ROBERTA_DIR, ROBERTA_REPO
from attrib.models.vision import PAPER_WEIGHTS, weights_path
from attrib.resources import hf_model_dir

DOWNLOADABLE = tuple(PAPER_WEIGHTS) + ("roberta",)
# torchvision names its weight files <model>-<first hex digits of their sha256>.pth
HASH_IN_NAME = re.compile(r"-([0-9a-f]+)\.")
# Hugging Face files a model needs; the TensorFlow / Flax copies are left out.
HF_PATTERNS = ["*.json", "*.txt", "*.bin", "*.safetensors", "*.model"]


def download_weights(
    name: str,
    resources: str | Path,
    *,
    progress: bool = True,
    url: str | None = None,
    sha256_prefix: str | None = None,
    retries: int = 3,
) -> Path:
    """Download ``name``'s weights unless present and return where they are.

    torchvision models go to TORCH_HOME/hub/checkpoints (TORCH_HOME = resources/torch), the file
    torchvision itself would look for, checked against the sha256 prefix in its name (or
    ``sha256_prefix``); the write is atomic. ``url`` replaces the source: a file URL for
    torchvision weights (e.g. a mirror), a hub endpoint for Hugging Face models.
    """
    if name in PAPER_WEIGHTS:
        dest = weights_path(name, resources)
        if dest.exists():
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        prefix = sha256_prefix or HASH_IN_NAME.search(dest.name).group(1)
        source = url or PAPER_WEIGHTS[name].url
        for attempt in range(1, retries + 1):
            try:
                torch.hub.download_url_to_file(source, str(dest), hash_prefix=prefix, progress=progress)
                return dest
            except OSError:  # network errors (URLError, HTTPError); a hash mismatch is not retried
                if attempt == retries:
                    raise
                time.sleep(2**attempt)
    if name == "roberta":
        from huggingface_hub import snapshot_download

        dest = hf_model_dir(resources, ROBERTA_DIR)
        snapshot_download(ROBERTA_REPO, local_dir=dest, allow_patterns=HF_PATTERNS, endpoint=url)
        return dest
    raise ValueError(f"no weights to download for {name!r}; downloadable: {list(DOWNLOADABLE)}")
