"""Fetch pretrained weights into ``resources/`` (the download rule's job; compute jobs only read
them): torchvision weights named by a ``torchvision:`` source's ``weights`` option and the
snapshots of ``hf:`` repos, the paper models' (resnet50, vit_b_16, roberta) among them.

torchvision weights go through ``attrib.download.fetch`` (deadline, retries of transient
faults only, errors naming the URL) and count as downloaded once they load as a state dict
with the keys torchvision's architecture has and their sha256 is recorded next to them. The
Hugging Face snapshot is fetched by huggingface_hub and gets the same manifest. Reuse
verifies the recorded sha256 (``verify_weights``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable

import torch

from attrib.catalogue import HF_ENCODERS, downloads_weights, model_source, parse_source
from attrib.download import (
    MANIFEST,
    ChecksumError,
    DownloadError,
    fetch,
    read_manifest,
    sha256_file,
    verify_file,
    verify_manifest,
    write_manifest,
)
from attrib.models.sources import torchvision_weights, torchvision_weights_path
from attrib.resources import hf_dir

# torchvision names its weight files <model>-<first hex digits of their sha256>.pth
HASH_IN_NAME = re.compile(r"-([0-9a-f]+)\.")
# Hugging Face files a model needs; the TensorFlow / Flax copies are left out.
HF_PATTERNS = ["*.json", "*.txt", "*.bin", "*.safetensors", "*.model"]
HF_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
# tokenizer.json, or a vocabulary of one of the classic formats (WordPiece, BPE, SentencePiece)
HF_TOKENIZER_FILES = (("tokenizer.json",), ("vocab.txt",), ("vocab.json", "merges.txt"), ("spiece.model",),
                      ("sentencepiece.bpe.model",))
HF_METADATA = ".cache"  # huggingface_hub's bookkeeping inside local_dir, not part of the model


def _what(name: str, source: str | None, options: dict | None) -> tuple[str, str, dict]:
    """(kind, target, options) of the weights a model downloads: the entry's source, or the
    alias source of a registered name; ValueError for a model that downloads nothing."""
    entry = None if source is None else {"source": source, "options": options}
    if not downloads_weights(name, entry):
        raise ValueError(f"no weights to download for {name!r}: only torchvision: sources with a weights option "
                         f"and hf: repos (not local folders) are downloaded, e.g. resnet50, vit_b_16, roberta")
    source, options = model_source(name, entry)
    return (*parse_source(source), options)


def weights_path(name: str, resources: str | Path, *, source: str | None = None, options: dict | None = None) -> Path:
    """Where the download puts a model's weights: torchvision's file, or the snapshot folder."""
    kind, target, options = _what(name, source, options)
    if kind == "torchvision":
        return torchvision_weights_path(torchvision_weights(target, options["weights"]), resources)
    return hf_dir(target, resources)


def weights_manifest(name: str, resources: str | Path, *, source: str | None = None,
                     options: dict | None = None) -> Path:
    """Where the sha256 of ``name``'s downloaded files is recorded (``sha256sum -c`` format)."""
    path = weights_path(name, resources, source=source, options=options)
    if _what(name, source, options)[0] == "hf":
        return path / MANIFEST
    return path.with_name(f"{path.name}.sha256")


def verify_weights(name: str, resources: str | Path, *, source: str | None = None,
                   options: dict | None = None) -> Path:
    """The manifest of ``name``'s weights once every file it lists matches its recorded sha256;
    ChecksumError naming the file otherwise (also when the download never finished)."""
    manifest = weights_manifest(name, resources, source=source, options=options)
    verify_manifest(manifest)
    return manifest


def torchvision_keys(name: str) -> set[str]:
    """State-dict keys of torchvision's ``name`` (built on the meta device: no memory, no init)."""
    from torchvision import models as tvm

    try:
        with torch.device("meta"):
            return set(tvm.get_model(name, weights=None).state_dict())
    except NotImplementedError:  # regnet computes its widths from tensors: build it for real
        return set(tvm.get_model(name, weights=None).state_dict())


def check_state_dict(name: str) -> Callable[[Path], None]:
    """A validator: the file loads (weights only) as a state dict with exactly ``name``'s keys."""

    def validate(path: Path) -> None:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # torch.load raises many types for a damaged file
            raise ValueError(f"it does not load as a torch file ({type(e).__name__}: {e})") from e
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise ValueError(f"it loads as {type(state).__name__}, not as a state dict (names -> tensors)")
        expected = torchvision_keys(name)
        missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
        if missing or unexpected:
            raise ValueError(
                f"its keys do not fit torchvision's {name}: {len(missing)} missing (e.g. {missing[:3]}), "
                f"{len(unexpected)} unexpected (e.g. {unexpected[:3]})"
            )

    return validate


def check_hf_snapshot(directory: Path) -> None:
    """A snapshot the project can classify with: config.json naming a text encoder, a
    tokenizer, and a weight file that loads (its classifier may be missing: a new head is
    trained for the dataset's labels)."""
    try:
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ValueError(f"config.json is missing or not JSON ({type(e).__name__}: {e})") from e
    if not isinstance(config, dict) or "model_type" not in config:
        raise ValueError("config.json names no model_type")
    if config["model_type"] not in HF_ENCODERS:
        raise ValueError(f"config.json names model type {config['model_type']!r}, not a text encoder the project "
                         f"drives ({', '.join(HF_ENCODERS)})")
    if not any(all((directory / f).is_file() for f in files) for files in HF_TOKENIZER_FILES):
        raise ValueError(f"no tokenizer files (one of {[' and '.join(files) for files in HF_TOKENIZER_FILES]})")
    present = [directory / f for f in HF_WEIGHT_FILES if (directory / f).is_file()]
    if not present:
        raise ValueError(f"no weight file (one of {list(HF_WEIGHT_FILES)})")
    try:
        if present[0].suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(present[0], framework="pt") as f:
                list(f.keys())
        else:
            torch.load(present[0], map_location="cpu", weights_only=True)
    except Exception as e:  # as above: any failure to load means a damaged file
        raise ValueError(f"{present[0].name} does not load ({type(e).__name__}: {e})") from e


def _snapshot_files(directory: Path) -> dict[str, str]:
    return {
        path.relative_to(directory).as_posix(): sha256_file(path)
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != MANIFEST and HF_METADATA not in path.relative_to(directory).parts
    }


def download_weights(
    name: str,
    resources: str | Path,
    *,
    source: str | None = None,
    options: dict | None = None,
    url: str | None = None,
    sha256_prefix: str | None = None,
    retries: int = 3,
    timeout: float = 30,
    deadline: float = 1800,
    backoff: float = 1.0,
) -> Path:
    """Download the weights of model ``name`` (its ``source`` and ``options``; without a source,
    the registered alias of that name) unless recorded as downloaded; returns where they are.

    torchvision weights go to TORCH_HOME/hub/checkpoints (TORCH_HOME = resources/torch), the
    file torchvision itself would look for, checked against the sha256 prefix in its name (or
    ``sha256_prefix``) and against torchvision's architecture. A file there without a recorded
    checksum (fetched by torchvision or an older version of this code) is checked the same
    way and kept. ``url`` replaces the source: a file URL for torchvision weights (e.g. a
    mirror), a hub endpoint for Hugging Face models. Files that fail a check are removed.
    """
    kind, target, options = _what(name, source, options)
    dest = weights_path(name, resources, source=source, options=options)
    manifest = weights_manifest(name, resources, source=source, options=options)
    if kind == "torchvision":
        recorded = read_manifest(manifest).get(dest.name)
        if recorded and dest.exists():
            verify_file(dest, recorded, source=f"recorded in {manifest}", remove=True)
            return dest
        prefix = sha256_prefix or HASH_IN_NAME.search(dest.name).group(1)
        validate = check_state_dict(target)
        if dest.exists():
            digest = verify_file(dest, prefix, source="the sha256 prefix in its file name", remove=True)
            try:
                validate(dest)
            except ValueError as e:
                dest.unlink()
                raise DownloadError(f"{dest}: not valid {target} weights: {e}; removed it, rerun to fetch it") from e
        else:
            address = url or torchvision_weights(target, options["weights"]).url
            digest = fetch(address, dest, sha256=recorded or prefix, validate=validate, retries=retries,
                           timeout=timeout, deadline=deadline, backoff=backoff)
        write_manifest(manifest, {dest.name: digest})
        return dest
    if manifest.is_file():
        try:
            verify_manifest(manifest, remove=True)
        except ChecksumError:
            manifest.unlink()  # the next run takes a fresh snapshot, which fetches what is missing
            raise
        return dest
    from huggingface_hub import snapshot_download

    where = f"Hugging Face repo {target} (endpoint {url or 'https://huggingface.co'})"
    try:
        snapshot_download(target, local_dir=dest, allow_patterns=HF_PATTERNS, endpoint=url)
    except Exception as e:  # huggingface_hub and its HTTP client raise many types
        raise DownloadError(f"{where}: download into {dest} failed ({type(e).__name__}: {e})") from e
    try:
        check_hf_snapshot(dest)
    except ValueError as e:
        raise DownloadError(f"{where}: the snapshot in {dest} is not a usable model: {e}") from e
    write_manifest(manifest, _snapshot_files(dest))
    return dest
