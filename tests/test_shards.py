"""Shards of the heavy rules: a shard's rows equal the same rows of the whole set (randomness
keyed by the evaluation-set index), the merge joins parts into the unsharded file, and the
evaluation set reads only a shard's rows."""

import pandas as pd
import pytest
import torch
from test_mus import VectorModel, text_model

from attrib.evalset import load_eval_set
from attrib.mus.experiments import e1_attack_table, e1_certified_table, e3_sparsity_table, explained_inputs
from attrib.runtime import atomic_save
from attrib.shards import merge, merge_tables, merge_tensors


def halves(n):
    return [(0, n // 2), (n // 2, n)]


def test_e1_e3_and_attack_tables_of_two_shards_equal_the_whole_set():
    model = VectorModel(p=8, num_classes=3, seed=3)
    gen = torch.Generator().manual_seed(0)
    x = 2 * torch.randn(6, 8, generator=gen)
    y = torch.randint(3, (6,), generator=gen)
    scores = {"a": torch.rand(6, 8, generator=gen), "b": torch.rand(6, 8, generator=gen)}
    common = {"q": 8, "seed": 1, "chunk_size": 64}

    def e1(a, b):
        return e1_certified_table(model, x[a:b], y[a:b], {m: s[a:b] for m, s in scores.items()}, [0.25, 0.5], 0.5,
                                  start=a, **common)

    def e3(a, b):
        return e3_sparsity_table(model, x[a:b], {m: s[a:b] for m, s in scores.items()}, 0.5, start=a, **common)

    def attack(a, b):
        return e1_attack_table(model, x[a:b], scores["a"][a:b], 0.5, 0.5, modes=["voting", "soft"], iterations=6,
                               candidates=5, start=a, **common)

    for table in (e1, e3, attack):
        whole = table(0, 6)
        shards = pd.concat([table(a, b) for a, b in halves(6)])
        key = ["sample", *[c for c in ("method", "top_fraction", "mode", "with_mu") if c in whole]]
        pd.testing.assert_frame_equal(shards.sort_values(key, kind="stable").reset_index(drop=True),
                                      whole.sort_values(key, kind="stable").reset_index(drop=True))
        assert sorted(whole["sample"].unique()) == list(range(6))
    assert (attack(0, 6)["r_max_incremental"] < float("inf")).any()  # the attack found counterexamples


def test_explained_inputs_keep_the_explained_width_of_text():
    meta = {"modality": "text", "pad_id": 0}
    ids = torch.tensor([[5, 6, 0, 0, 0], [5, 0, 0, 0, 0]])
    assert explained_inputs(ids, meta, torch.zeros(2, 3)).shape == (2, 3)  # the whole set was 3 tokens wide
    with pytest.raises(ValueError, match="mus_explain"):
        explained_inputs(ids, meta, torch.zeros(2, 1))
    images = torch.rand(2, 3, 4, 4)
    assert explained_inputs(images, {"modality": "image"}, torch.zeros(2, 4)) is images


def test_merge_tables_joins_rows_under_one_header(tmp_path):
    parts = []
    for i, rows in enumerate([[(0, 0.5), (1, 1.0)], [(2, float("nan"))]]):
        path = tmp_path / f"{i}.csv"
        pd.DataFrame(rows, columns=["image", "score"]).to_csv(path, index=False)
        parts.append(path)
    merge_tables(parts, tmp_path / "all.csv")
    merged = pd.read_csv(tmp_path / "all.csv")
    assert merged["image"].tolist() == [0, 1, 2] and merged["score"].isna().tolist() == [False, False, True]
    merge(parts[:1], tmp_path / "one.csv")  # one part: its file unchanged
    assert (tmp_path / "one.csv").read_bytes() == parts[0].read_bytes()
    pd.DataFrame({"other": [1]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match="columns"):
        merge_tables([parts[0], tmp_path / "bad.csv"], tmp_path / "x.csv")


def test_merge_tensors_concatenates_rows_and_keeps_what_all_parts_share(tmp_path):
    parts = []
    for i, n in enumerate((3, 2)):
        parts.append(tmp_path / f"{i}.pt")
        atomic_save({"features": torch.full((n, 4), float(i)), "map": None, "method": "lime", "options": {"k": 1}},
                    parts[-1])
    merged = merge_tensors(parts, tmp_path / "all.pt")
    again = torch.load(tmp_path / "all.pt", weights_only=True)
    assert again["features"].shape == (5, 4) and again["features"][3:].eq(1).all() and again["map"] is None
    assert again["method"] == "lime" and again["options"] == {"k": 1} and merged.keys() == again.keys()
    atomic_save({"features": torch.zeros(1, 4), "map": None, "method": "lime", "options": {"k": 2}}, tmp_path / "b.pt")
    with pytest.raises(ValueError, match="disagree on 'options'"):
        merge_tensors([parts[0], tmp_path / "b.pt"], tmp_path / "x.pt")
    atomic_save({"features": torch.zeros(1, 4)}, tmp_path / "c.pt")
    with pytest.raises(ValueError, match="other keys"):
        merge_tensors([parts[0], tmp_path / "c.pt"], tmp_path / "x.pt")


def write_split(directory, **split):
    import json

    directory.mkdir(exist_ok=True)
    meta = {"modality": "image" if "x" in split else "text", "num_classes": 3, "sizes": {}}
    (directory / "meta.json").write_text(json.dumps(meta))
    atomic_save(split, directory / "test.pt")


def test_eval_set_rows_are_a_shard_of_the_first_eval_size(tmp_path):
    x = torch.randint(0, 256, (10, 3, 4, 4), dtype=torch.uint8)
    y = torch.arange(10)
    write_split(tmp_path / "img", x=x, y=y, mask=x[:, 0] > 100)
    whole = load_eval_set(tmp_path / "img", 8)
    shard = load_eval_set(tmp_path / "img", 8, start=5)
    assert whole.inputs.shape[0] == 8 and whole.inputs.dtype == torch.float32 and shard.start == 5
    assert torch.equal(shard.inputs, whole.inputs[5:]) and torch.equal(shard.labels, y[5:8])
    assert torch.equal(shard.masks, whole.masks[5:])
    assert load_eval_set(tmp_path / "img", 50).inputs.shape[0] == 10  # capped at the split
    with pytest.raises(ValueError, match="empty"):
        load_eval_set(tmp_path / "img", 20, start=10)
    ids = torch.randint(1, 9, (4, 6))
    write_split(tmp_path / "txt", ids=ids, y=torch.arange(4), text=["a", "b", "c", "d"])
    text = load_eval_set(tmp_path / "txt", 4, start=1)
    assert torch.equal(text.inputs, ids[1:]) and text.texts == ["b", "c", "d"]


def test_text_attack_shards_trim_to_the_explained_width():
    model = text_model()
    ids = torch.tensor([[1, 5, 6, 7, 2, 0], [1, 8, 2, 0, 0, 0], [1, 9, 9, 4, 6, 2], [1, 3, 2, 0, 0, 0]])
    meta = {"modality": "text", "pad_id": 0}
    scores = torch.rand(4, 6, generator=torch.Generator().manual_seed(1))
    common = {"q": 8, "seed": 0, "chunk_size": 64, "modes": ["voting"], "iterations": 4, "candidates": 3}
    whole = e1_attack_table(model, explained_inputs(ids, meta, scores), scores, 0.5, 0.5, **common)
    second = e1_attack_table(model, explained_inputs(ids[2:], meta, scores[2:]), scores[2:], 0.5, 0.5, start=2,
                             **common)
    pd.testing.assert_frame_equal(second.reset_index(drop=True), whole.iloc[2:].reset_index(drop=True))
