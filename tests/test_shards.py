"""Shards of the heavy rules: a shard's rows equal the same rows of the whole set (randomness
keyed by the evaluation-set index), the merge joins parts into the unsharded file, and the
evaluation set reads only a shard's rows."""

import re

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
        atomic_save({"features": torch.full((n, 4), float(i)), "map": None, "method": "lime", "options": {"k": 1},
                     "status": [f"{i}.{row}" for row in range(n)]}, parts[-1])
    merged = merge_tensors(parts, tmp_path / "all.pt")
    again = torch.load(tmp_path / "all.pt", weights_only=True)
    assert again["features"].shape == (5, 4) and again["features"][3:].eq(1).all() and again["map"] is None
    assert again["method"] == "lime" and again["options"] == {"k": 1} and merged.keys() == again.keys()
    assert again["status"] == ["0.0", "0.1", "0.2", "1.0", "1.1"]  # per-input lists follow their rows
    atomic_save({"features": torch.zeros(1, 4), "map": None, "method": "lime", "options": {"k": 2}, "status": ["x"]},
                tmp_path / "b.pt")
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


SHARDED_OUTPUTS = [
    "attributions/digits/resnet/lime.pt",
    "tables/scores/diffid/digits/resnet/lime.csv",
    "tables/scores/ground_truth/digits/resnet/lime.csv",
    "tables/scores/deletion_insertion/digits/resnet/lime.csv",
    "tables/ablate/patches/digits/resnet/black.csv",
    "tables/ablate/patches/digits/resnet/noise.csv",
    "tables/certify/e1/digits/resnet/lam0.25.csv",
    "tables/certify/e3/digits/resnet/lam0.25.csv",
    "tables/certify/attack/digits/resnet/lam0.25.csv",
    "ablate/lime/digits/resnet/black.pt",
    "smug/digits/resnet/maps.pt",
    "tables/smug/solver/digits/resnet.csv",
]
ROW_KEYS = ["role", "backend", "input", "solution", "order", "image", "sample", "method", "top_fraction", "mode",
            "with_mu", "removed", "game", "ratio", "step"]


def same_file(a, b):
    if a.suffix == ".csv":
        left, right = pd.read_csv(a), pd.read_csv(b)
        assert len(left) and list(left.columns) == list(right.columns), a
        volatile = [c for c in ("seconds",) if c in left]  # the solver's wall clock
        keys = [c for c in ROW_KEYS if c in left]  # SMUG's timing rows come with their shard's maps rows
        left, right = (t.drop(columns=volatile).sort_values(keys, kind="stable").reset_index(drop=True)
                       for t in (left, right))
        pd.testing.assert_frame_equal(left, right, check_exact=False, rtol=1e-5, atol=1e-6, obj=str(a))
        return
    left, right = (torch.load(path, weights_only=False) for path in (a, b))
    assert left.keys() == right.keys(), a
    for key, value in left.items():
        if torch.is_tensor(value):
            assert torch.allclose(value.float(), right[key].float(), rtol=1e-4, atol=1e-5), (a, key)
        else:
            assert value == right[key], (a, key)


@pytest.mark.slow
def test_two_or_three_shards_merge_to_the_files_of_one_job(tmp_path):
    """tests/tiny.yaml's sharded outputs on digits/resnet, once in one job per output and once in
    shards (E3's 4 samples across two certify shards, the timing solves in the first SMUG shard):
    the merged files hold the same rows and values."""
    import shutil

    import yaml
    from test_workflow import ROOT, snakemake

    config = yaml.safe_load((ROOT / "tests" / "tiny.yaml").read_text())
    (tmp_path / "one.yaml").write_text(yaml.safe_dump(config))
    targets = [f"results/{name}" for name in SHARDED_OUTPUTS]
    out = snakemake(*targets, "--cores", "2", "--scheduler", "greedy", "--configfile", "one.yaml", cwd=tmp_path,
                    timeout=1800)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    for name in SHARDED_OUTPUTS:
        (tmp_path / "one" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(tmp_path / "results" / name, tmp_path / "one" / name)
    config["shards"] = {"attribute": 10, "certify": 3, "attack": 3, "ablate": 10, "lime": 4, "smug": 4}
    (tmp_path / "shards.yaml").write_text(yaml.safe_dump(config))
    out = snakemake(*targets, "--cores", "2", "--scheduler", "greedy", "--rerun-triggers", "mtime", "--configfile",
                    "shards.yaml", cwd=tmp_path, timeout=1800)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    for rule, shards in (("attribute", 3), ("ablate_patches", 6), ("certify_stability", 2), ("attack_stability", 2),
                         ("ablate_lime", 2), ("smug", 2)):
        assert re.search(rf"^{rule}\s+{shards}$", log, re.MULTILINE), (rule, shards)
    for name in SHARDED_OUTPUTS:
        same_file(tmp_path / "one" / name, tmp_path / "results" / name)
