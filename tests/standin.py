"""A stand-in for the paper's data and weights, built locally (no network): an ImageNet folder,
random-weight paper models where the download rule keeps them, a tiny RoBERTa-shaped model with
its tokenizer, and TweetEval files. The download rules then run and find everything verified."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import torch
import yaml
from PIL import Image

from attrib.catalogue import MODEL_ALIASES
from attrib.data.download import TWEETEVAL_FILES
from attrib.download import sha256_file, write_manifest
from attrib.models.weights import _snapshot_files, weights_manifest, weights_path

ROOT = Path(__file__).resolve().parents[1]
TWEETS = ["@user what a great day http", "so bad, never again", "the weather is fine I guess", "love this song",
          "worst service ever @user", "meeting at noon tomorrow", "best match of the season", "traffic is awful"]


def imagenet(root: Path, classes: int = 1000, per_class: dict | None = None, size: int = 224, seed: int = 0) -> Path:
    """root/{train,val}/<wnid>/*.JPEG, smooth random colour images of ``size`` px (JPEGs of a few
    kB); ``classes`` folders, as the pretrained models' 1,000 outputs expect."""
    rng = np.random.default_rng(seed)
    for split, count in (per_class or {"train": 1, "val": 1}).items():
        for c in range(classes):
            folder = root / split / f"n{c:08d}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                low = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
                image = Image.fromarray(low).resize((size + 32, size + 32), Image.BILINEAR)
                image.save(folder / f"{split}_{c}_{i}.JPEG", quality=70)
    return root

PAPER_IMAGE_MODELS = ("resnet50", "vit_b_16")


def paper_weights(resources: Path, seed: int = 0) -> None:
    """Random torchvision weights of every paper image model at the file torchvision would
    download, with the sha256 manifest that the download rule verifies instead of fetching."""
    from torchvision import models as tvm

    for name in PAPER_IMAGE_MODELS:
        torch.manual_seed(seed)
        path = weights_path(name, resources)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(getattr(tvm, MODEL_ALIASES[name][0].split(":", 1)[1])(weights=None).state_dict(), path)
        write_manifest(weights_manifest(name, resources), {path.name: sha256_file(path)})


def tiny_roberta(resources: Path, seed: int = 0) -> None:
    """A RoBERTa-shaped sequence classifier (one layer, 16 dims) and a byte-level BPE tokenizer
    trained on a few tweets, saved where the download rule keeps cardiffnlp's snapshot, with
    its manifest."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaForSequenceClassification, RobertaTokenizer

    dest = weights_path("roberta", resources)
    dest.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(TWEETS * 4, vocab_size=300, min_frequency=1, show_progress=False,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe.save_model(str(dest))
    vocab = json.loads((dest / "vocab.json").read_text())
    merges = [tuple(line.split()) for line in (dest / "merges.txt").read_text().splitlines()[1:] if line]
    tokenizer = RobertaTokenizer(vocab=vocab, merges=merges)
    tokenizer.save_pretrained(dest)
    torch.manual_seed(seed)
    config = RobertaConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=32, max_position_embeddings=80, type_vocab_size=1, num_labels=3,
                           pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                           eos_token_id=tokenizer.eos_token_id)
    RobertaForSequenceClassification(config).save_pretrained(dest)
    write_manifest(weights_manifest("roberta", resources), _snapshot_files(dest))


def tweeteval(folder: Path, sizes: dict[str, int], seed: int = 0) -> Path:
    """TweetEval's six files (text and labels per split), as its repository serves them."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in sizes.items():
        picks = rng.integers(0, len(TWEETS), n)
        (folder / f"{split}_text.txt").write_text("".join(f"{TWEETS[i]} #{k}\n" for k, i in enumerate(picks)))
        (folder / f"{split}_labels.txt").write_text("".join(f"{i % 3}\n" for i in picks))
    assert sorted(p.name for p in folder.iterdir()) == sorted(TWEETEVAL_FILES)
    return folder


def merged(base: dict, override: dict) -> dict:
    """``override`` over ``base``: ``datasets`` and ``models`` entry by entry, each entry key by key
    (``options`` too); ``shards`` replaced whole; every other section key by key, each key's value
    replaced whole."""
    out = copy.deepcopy(base)
    for section, value in override.items():
        if not isinstance(value, dict) or section not in out or section == "shards":
            out[section] = value
        elif section in ("datasets", "models"):
            for name, entry in value.items():
                target = out[section].setdefault(name, {})
                for key, item in entry.items():
                    target[key] = {**target.get(key, {}), **item} if key == "options" else item
        else:
            out[section].update(value)
    return out


def build(tmp: Path) -> Path:
    """The whole stand-in under ``tmp`` and its config (paper.yaml + tests/paper_standin.yaml with
    the paths filled in); returns the config file."""
    resources = tmp / "resources"
    root = imagenet(tmp / "imagenet")
    paper_weights(resources)
    tiny_roberta(resources)
    config = merged(yaml.safe_load((ROOT / "workflow/configs/paper.yaml").read_text()),
                    yaml.safe_load((ROOT / "tests/paper_standin.yaml").read_text()))
    config["resources_dir"] = str(resources)
    tweets = config["datasets"]["tweeteval"]
    sizes = {split: tweets["options"][f"n_{split}"] + 2 for split in ("train", "val", "test")}
    tweets["download"]["base_url"] = tweeteval(tmp / "tweeteval_server", sizes).as_uri()
    for spec in config["datasets"].values():
        if spec["source"] == "imagenet":
            spec["options"]["root"] = str(root)
    path = tmp / "paper_standin.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
