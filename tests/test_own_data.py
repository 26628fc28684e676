"""The user's own data: imagefolder (both layouts, seeded per-class splits, errors naming the
path), csv and jsonl texts (fields, label names, errors naming the file, line and option)."""

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

from attrib.data import build_dataset, load_split
from attrib.data.split import stratified_split
from attrib.resources import minilm_dir

SPLITS = ("train", "val", "test")


def png(path, colour):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (12, 10), colour).save(path)


def image_folder(root, counts=(6, 10, 4)):
    """Class c's image i is a flat colour (40 c + 20, 10 i, 0): decoded pixels name their file."""
    for c, n in enumerate(counts):
        for i in range(n):
            png(root / f"class_{'xyz'[c]}" / f"{i}.png", (40 * c + 20, 10 * i, 0))
    return root


def codes(split):
    """(class, file index) of every image, read back from its centre pixel."""
    centre = split["x"][:, :, 4, 4].int()
    return [(int(y), round(int(c[1]) / 10)) for y, c in zip(split["y"], centre)]


def test_stratified_split_is_seeded_disjoint_and_per_class():
    labels = np.array([0] * 10 + [1] * 20 + [2] * 5)
    parts = stratified_split(labels, (0.6, 0.2, 0.2), np.random.default_rng(0))
    again = stratified_split(labels, (0.6, 0.2, 0.2), np.random.default_rng(0))
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))
    assert sorted(np.concatenate(parts)) == list(range(35))
    assert [np.bincount(labels[p], minlength=3).tolist() for p in parts] == [[6, 12, 3], [2, 4, 1], [2, 4, 1]]
    with pytest.raises(ValueError, match=r"option split_fractions: expected 3 fractions .* summing to 1"):
        stratified_split(labels, (0.6, 0.6, 0.2), np.random.default_rng(0))
    with pytest.raises(ValueError, match="leaves the val and test split\\(s\\) empty"):
        stratified_split(np.array([0, 0, 1]), (0.9, 0.05, 0.05), np.random.default_rng(0))


def test_one_image_folder_is_split_per_class_by_the_seed(tmp_path):
    root = image_folder(tmp_path / "pics")
    options = {"root": str(root), "image_size": 8, "patch": 4, "split_fractions": [0.5, 0.25, 0.25]}
    meta = build_dataset("imagefolder", options, tmp_path / "out", seed=0)
    assert meta["classes"] == ["class_x", "class_y", "class_z"] and meta["num_classes"] == 3
    assert meta["sizes"] == {"train": 10, "val": 6, "test": 4} and meta["skipped_images"] == 0
    splits = {name: load_split(tmp_path / "out", name) for name in SPLITS}
    assert splits["train"]["x"].shape == (10, 3, 8, 8) and splits["train"]["x"].dtype == torch.uint8
    found = [code for name in SPLITS for code in codes(splits[name])]
    assert sorted(found) == sorted((c, i) for c, n in enumerate((6, 10, 4)) for i in range(n))  # each image once
    assert [np.bincount(splits[n]["y"].numpy(), minlength=3).tolist() for n in SPLITS] == \
        [[3, 5, 2], [2, 3, 1], [1, 2, 1]]  # per class: cuts at 0.5 n and 0.75 n, halves rounded up
    build_dataset("imagefolder", options, tmp_path / "again", seed=0)
    assert torch.equal(load_split(tmp_path / "again", "test")["x"], splits["test"]["x"])
    build_dataset("imagefolder", options, tmp_path / "other", seed=1)
    assert codes(load_split(tmp_path / "other", "test")) != codes(splits["test"])


def test_train_and_val_folders_without_test_halve_val(tmp_path):
    root = tmp_path / "pics"
    image_folder(root / "train", counts=(3, 3))
    image_folder(root / "val", counts=(4, 4))
    meta = build_dataset("imagefolder", {"root": str(root), "image_size": 8, "patch": 4, "n_train": 5},
                         tmp_path / "out", seed=0)
    assert meta["sizes"] == {"train": 5, "val": 4, "test": 4} and meta["classes"] == ["class_x", "class_y"]
    val, test = (codes(load_split(tmp_path / "out", name)) for name in ("val", "test"))
    assert not set(val) & set(test) and sorted(c for c, _ in test) == [0, 0, 1, 1]
    with pytest.raises(ValueError, match="too few readable images for n_test = 5"):
        build_dataset("imagefolder", {"root": str(root), "image_size": 8, "patch": 4, "n_test": 5},
                      tmp_path / "o", seed=0)


def test_image_folder_errors_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"option root: image folder '{tmp_path / 'none'}' does not exist"):
        build_dataset("imagefolder", {"root": str(tmp_path / "none")}, tmp_path / "o", seed=0)
    root = image_folder(tmp_path / "pics")
    (root / "class_w").mkdir()
    (root / "class_w" / "readme.txt").write_text("no images")
    with pytest.raises(FileNotFoundError, match=f"class folder\\(s\\) without images: {root / 'class_w'};"):
        build_dataset("imagefolder", {"root": str(root), "image_size": 8, "patch": 4}, tmp_path / "o", seed=0)
    (root / "class_w" / "readme.txt").unlink()
    (root / "class_w").rmdir()
    broken = root / "class_y" / "3.png"
    broken.write_bytes(broken.read_bytes()[:30])
    options = {"root": str(root), "image_size": 8, "patch": 4}
    with pytest.raises(ValueError, match=f"{broken}: not a readable image .*strict: false skips"):
        build_dataset("imagefolder", options, tmp_path / "strict", seed=0)
    meta = build_dataset("imagefolder", {**options, "strict": False}, tmp_path / "lenient", seed=0)
    assert meta["skipped_images"] == 1 and sum(meta["sizes"].values()) == 19
    flat = tmp_path / "flat"
    png(flat / "a.png", (1, 2, 3))
    with pytest.raises(FileNotFoundError, match=f"{flat} holds 1 images directly but no class folders"):
        build_dataset("imagefolder", {"root": str(flat), "image_size": 8, "patch": 4}, tmp_path / "o", seed=0)


# --- csv and jsonl ------------------------------------------------------------------------------


ROWS = [(f"what a lovely day number {i}", "good") for i in range(6)] + \
       [(f"a dreadful and boring film {i}", "bad") for i in range(6)]


def write_csv(path, rows, header=("sentence", "verdict")):
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps({"text": t, "label": label}) + "\n" for t, label in rows))
    return path


def test_csv_with_named_fields_and_label_names(tmp_path):
    path = write_csv(tmp_path / "reviews.csv", ROWS)
    options = {"path": str(path), "text_column": "sentence", "label_column": "verdict", "labels": ["bad", "good"],
               "split_fractions": [0.5, 0.25, 0.25], "max_length": 10}
    meta = build_dataset("csv", options, tmp_path / "out", seed=0, tokenizer_dir=minilm_dir())
    assert meta["classes"] == ["bad", "good"] and meta["sizes"] == {"train": 6, "val": 4, "test": 2}
    assert meta["modality"] == "text" and meta["max_length"] == 10 and meta["mask_id"] == 103
    seen = []
    for name in SPLITS:
        split = load_split(tmp_path / "out", name)
        assert split["ids"].shape == (meta["sizes"][name], 10)
        for text, y in zip(split["text"], split["y"].tolist()):
            assert ("lovely" in text) == (y == 1)
        seen += split["text"]
    assert sorted(seen) == sorted(t for t, _ in ROWS)


def test_jsonl_with_integer_labels_and_a_folder_of_splits(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [(t, int(v == "good")) for t, v in ROWS])
    write_jsonl(tmp_path / "val.jsonl", [("fine", 0), ("great", 1), ("awful", 0), ("superb", 1)])
    meta = build_dataset("jsonl", {"path": str(tmp_path), "n_train": 8}, tmp_path / "out", seed=0,
                         tokenizer_dir=minilm_dir())
    assert meta["classes"] == ["0", "1"] and meta["sizes"] == {"train": 8, "val": 2, "test": 2}
    val, test = (load_split(tmp_path / "out", name) for name in ("val", "test"))
    assert sorted(val["text"] + test["text"]) == ["awful", "fine", "great", "superb"]
    assert sorted(test["y"].tolist()) == [0, 1]  # halved per class


def test_text_file_errors_name_the_file_line_and_option(tmp_path):
    def build(path, **options):
        build_dataset(path.suffix[1:], {"path": str(path), **options}, tmp_path / "o", seed=0,
                      tokenizer_dir=minilm_dir())

    path = write_csv(tmp_path / "a.csv", ROWS)
    with pytest.raises(ValueError, match=r"a.csv: no field 'text' \(option text_column\); fields: \['sentence', "):
        build(path)
    with pytest.raises(ValueError, match=r"line 2: label 'good' is neither one of the classes \['neg', 'pos'\]"):
        build(path, text_column="sentence", label_column="verdict", labels=["neg", "pos"])
    blank = write_csv(tmp_path / "blank.csv", [*ROWS[:3], ("", "good"), *ROWS[3:]], header=("text", "label"))
    with pytest.raises(ValueError, match="blank.csv: line 5 has no text"):
        build(blank)
    with pytest.raises(FileNotFoundError, match="option path: csv file not found"):
        build(tmp_path / "none.csv")
    (tmp_path / "folder").mkdir()
    write_jsonl(tmp_path / "folder" / "train.jsonl", ROWS)
    with pytest.raises(FileNotFoundError, match="needs train.jsonl and val.jsonl"):
        build_dataset("jsonl", {"path": str(tmp_path / "folder")}, tmp_path / "o", seed=0, tokenizer_dir=minilm_dir())
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "a", "label": 1}\n{"text": \n')
    with pytest.raises(ValueError, match="broken.jsonl: not a readable jsonl file"):
        build(broken)
