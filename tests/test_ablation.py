import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from attrib.missingness.ablation import ablation_summary, entropy_bits, patch_ablation, random_orderings, saliency_orderings, top_classes, top_k_ablation, top_k_steps
from attrib.features import ranks
from attrib.features import apply_removal
from attrib.seeding import KeyedRows


class PatchMeanModel(nn.Module):
    """logits = (mean pixel of each patch after removal) @ W + b: a known function of the black patches."""

    modality = "image"
    default_removal = "black"
    patch = 2

    def __init__(self, weight, bias):
        super().__init__()
        self.weight, self.bias = weight, bias
        self.num_classes = weight.shape[1]
        self.generator = None

    def num_features(self, x):
        return (x.shape[-1] // self.patch) ** 2

    def feature_mask(self, x):
        return torch.ones(x.shape[0], self.num_features(x), dtype=torch.bool)

    def forward(self, x, keep=None, removal=None):
        if keep is not None:
            x = apply_removal(x, keep, self.patch, removal or self.default_removal, generator=self.generator)
        means = F.avg_pool2d(x.mean(dim=1, keepdim=True), self.patch).flatten(1)
        return means @ self.weight + self.bias


def hand_model():
    # patch 0 -> class 0, patch 1 -> class 1, patches 2 and 3 -> class 2; class 1 has a bias
    weight = torch.tensor([[3.0, 0, 0], [0, 2, 0], [0, 0, 1], [0, 0, 1.25]])
    return PatchMeanModel(weight, torch.tensor([0.0, 0.5, 0.0]))


def softmax_first(logits, cls):
    return math.exp(logits[cls]) / sum(math.exp(v) for v in logits)


def test_hand_computed_table():
    x = torch.ones(2, 3, 4, 4)
    order = torch.tensor([[0, 1, 2, 3], [3, 2, 1, 0]])
    table = patch_ablation(hand_model(), x, order, steps=range(5), chunk_size=3)
    logits = {  # (image, removed) -> logits of the kept patches, by hand
        (0, 0): [3, 2.5, 2.25], (0, 1): [0, 2.5, 2.25], (0, 2): [0, 0.5, 2.25], (0, 3): [0, 0.5, 1.25],
        (0, 4): [0, 0.5, 0], (1, 0): [3, 2.5, 2.25], (1, 1): [3, 2.5, 1], (1, 2): [3, 2.5, 0],
        (1, 3): [3, 0.5, 0], (1, 4): [0, 0.5, 0],
    }
    want = pd.DataFrame([
        {"image": i, "removed": k, "fraction_removed": k / 4, "pred": int(np.argmax(v)), "orig_pred": 0,
         "unchanged": int(np.argmax(v)) == 0, "prob_orig": softmax_first(v, 0)}
        for (i, k), v in logits.items()
    ])
    assert table["pred"].tolist() == [0, 1, 2, 2, 1, 0, 0, 0, 0, 1]
    pd.testing.assert_frame_equal(table, want, check_dtype=False, atol=1e-6)

    sub = patch_ablation(hand_model(), x, order, steps=[0, 2, 4])
    full = table[table["removed"].isin([0, 2, 4])].reset_index(drop=True)
    pd.testing.assert_frame_equal(sub, full, check_dtype=False, atol=1e-6)


def test_chunking_does_not_change_the_table():
    torch.manual_seed(0)
    model = PatchMeanModel(torch.randn(16, 5), torch.randn(5))
    x = torch.rand(6, 3, 8, 8)
    order = random_orderings(6, 16, seed=1)
    tables = [patch_ablation(model, x, order, steps=range(0, 17, 3), chunk_size=c) for c in (1, 7, 1000)]
    for other in tables[1:]:
        pd.testing.assert_frame_equal(tables[0], other, atol=1e-6)
    assert len(tables[0]) == 6 * 6


def test_generator_drives_random_removal_and_is_restored():
    torch.manual_seed(0)
    model = PatchMeanModel(torch.randn(16, 5), torch.randn(5))
    x = torch.rand(4, 3, 8, 8)
    order = random_orderings(4, 16, seed=2)
    a, b = (patch_ablation(model, x, order, steps=[8], removal="noise", generator=torch.Generator().manual_seed(3))
            for _ in range(2))
    pd.testing.assert_frame_equal(a, b)
    assert model.generator is None


def test_random_orderings_are_independent_seeded_permutations():
    order = random_orderings(50, 12, seed=0)
    assert order.dtype == torch.long and order.shape == (50, 12)
    assert torch.equal(order.sort(dim=1).values, torch.arange(12).expand(50, 12))
    assert torch.equal(order, random_orderings(50, 12, seed=0))
    assert not torch.equal(order, random_orderings(50, 12, seed=1))
    assert torch.equal(random_orderings(20, 12, seed=0, start=30), order[30:])  # a shard: images 30..49
    assert len({tuple(row) for row in order.tolist()}) > 45
    assert torch.equal(order.gather(1, ranks(order)), torch.arange(12).expand(50, 12))


@pytest.mark.parametrize("removal", ["noise", "patch_color"])
def test_keyed_fills_give_each_image_and_step_its_own_draw_whatever_the_shard(removal):
    torch.manual_seed(0)
    model = PatchMeanModel(torch.randn(16, 5), torch.randn(5))
    x = torch.rand(6, 3, 8, 8)
    order = random_orderings(6, 16, seed=2)
    steps = [0, 4, 8, 12]

    def run(rows, chunk_size):
        return patch_ablation(model, x[rows], order[rows], steps=steps, removal=removal, chunk_size=chunk_size,
                              generator=KeyedRows(5, "ablate"), index=list(rows))

    whole = run(range(6), chunk_size=7)
    shards = pd.concat([run(range(0, 4), chunk_size=3), run(range(4, 6), chunk_size=64)], ignore_index=True)
    pd.testing.assert_frame_equal(shards, whole, check_exact=False, rtol=1e-6)
    assert list(whole["image"].unique()) == list(range(6)) and model.generator is None
    other = patch_ablation(model, x, order, steps=steps, removal=removal, generator=KeyedRows(6, "ablate"))
    assert not np.allclose(other["prob_orig"], whole["prob_orig"])


def test_saliency_orderings_descending_with_deterministic_ties():
    features = torch.tensor([[0.1, 0.5, 0.5, 0.2], [1.0, 1.0, 1.0, 0.0]])
    assert saliency_orderings(features).tolist() == [[1, 2, 3, 0], [0, 1, 2, 3]]
    assert saliency_orderings(features, descending=False).tolist() == [[0, 3, 1, 2], [3, 0, 1, 2]]


def test_entropy_and_unchanged_curve_by_hand():
    table = pd.DataFrame({
        "image": [0, 1, 2, 3] * 2,
        "removed": [0] * 4 + [2] * 4,
        "fraction_removed": [0.0] * 4 + [0.5] * 4,
        "pred": [0, 0, 1, 1, 2, 2, 2, 2],
        "orig_pred": [0, 0, 1, 1] * 2,
        "unchanged": [True] * 4 + [False] * 4,
        "prob_orig": [0.5, 0.7, 0.9, 1.0, 0.1, 0.2, 0.3, 0.2],
    })
    curve = ablation_summary(table, keys=[])
    assert curve["removed"].tolist() == [0, 2]
    assert curve["class_entropy_bits"].tolist() == pytest.approx([1.0, 0.0])
    assert curve["unchanged"].tolist() == [1.0, 0.0]
    assert curve["prob_orig"].tolist() == pytest.approx([0.775, 0.2])
    assert curve["fraction_removed"].tolist() == [0.0, 0.5]
    assert curve["images"].tolist() == [4, 4]

class TokenSumModel(nn.Module):
    """Text-like toy: ids (N, L) with 0 = padding; logit of class 1 = sum of kept token ids."""

    modality = "text"
    default_removal = "mask_token"

    def feature_mask(self, ids):
        return ids != 0

    def forward(self, ids, keep=None, removal=None):
        kept = ids.float() * (1 if keep is None else keep)
        return torch.stack([torch.full_like(kept[:, 0], 5.5), kept.sum(1)], dim=1)


def test_text_ablation_removes_the_same_fraction_of_each_input():
    ids = torch.tensor([[3, 2, 1, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1]])
    mask = ids != 0
    order = random_orderings(2, 8, seed=0, feature_mask=mask)
    assert set(order[0, :3].tolist()) == {0, 1, 2}  # real tokens first
    table = patch_ablation(TokenSumModel(), ids, order, steps=[0, 4, 8], feature_mask=mask)
    # input 0 has 3 tokens: steps 4 and 8 of 8 remove round(1.5) = 2 and 3 of them
    assert table["fraction_removed"].tolist() == pytest.approx([0, 2 / 3, 1, 0, 0.5, 1])
    # input 1: sum 8 > 5.5 -> class 1; after removing half, sum 4 < 5.5 -> class 0
    assert table["pred"].tolist()[3:] == [1, 0, 0]


def test_saliency_orderings_put_non_features_last_in_both_directions():
    scores = torch.tensor([[0.0, 0.3, 0.1, 0.0], [0.5, 0.2, 0.9, 0.4]])
    mask = torch.tensor([[False, True, True, False], [True, True, True, True]])
    assert saliency_orderings(scores, feature_mask=mask).tolist() == [[1, 2, 0, 3], [2, 0, 3, 1]]
    assert saliency_orderings(scores, descending=False, feature_mask=mask).tolist() == [[2, 1, 0, 3], [1, 3, 0, 2]]


class CountingModel(PatchMeanModel):
    def __init__(self, weight, bias):
        super().__init__(weight, bias)
        self.inputs = 0

    def forward(self, x, keep=None, removal=None):
        self.inputs += x.shape[0]
        return super().forward(x, keep, removal)


def test_steps_that_remove_nothing_cost_no_forward_pass():
    model = CountingModel(hand_model().weight, hand_model().bias)
    x = torch.rand(5, 3, 4, 4)
    table = patch_ablation(model, x, random_orderings(5, 4, seed=0), steps=range(5), chunk_size=3)
    assert model.inputs == 5 + 5 * 4  # the plain pass, then steps 1..4 of every image
    assert table[table["removed"] == 0]["unchanged"].all()


def test_top_k_remove_and_keep_by_hand():
    x = torch.ones(2, 3, 4, 4)
    order = torch.tensor([[0, 1, 2, 3], [3, 2, 1, 0]])
    reverse = order.flip(1)
    table = top_k_ablation(hand_model(), x, {"expl": order, "rev": reverse}, [1, 3], chunk_size=2)
    assert len(table) == 2 * 2 * 2 * 2
    got = table.set_index(["source", "test", "k", "image"])["pred"]
    # image 0, order 0,1,2,3: removing patch 0 -> logits [0, 2.5, 2.25] -> 1; keeping only patch 0 ->
    # [3, 0.5, 0] -> 0; removing 0,1,2 -> [0, 0.5, 1.25] -> 2; keeping 0,1,2 -> [3, 2.5, 1] -> 0
    assert [got[("expl", "remove", 1, 0)], got[("expl", "keep", 1, 0)]] == [1, 0]
    assert [got[("expl", "remove", 3, 0)], got[("expl", "keep", 3, 0)]] == [2, 0]
    # image 1, order 3,2,1,0: removing patch 3 -> [3, 2.5, 1] -> 0; keeping only patch 3 -> [0, 0.5, 1.25] -> 2
    assert [got[("expl", "remove", 1, 1)], got[("expl", "keep", 1, 1)]] == [0, 2]
    # the reversed order of image 1 is image 0's order
    assert got[("rev", "remove", 1, 1)] == 1 and got[("rev", "keep", 3, 1)] == 0
    prob = table.set_index(["source", "test", "k", "image"])["prob_orig"]
    assert prob[("expl", "keep", 1, 0)] == pytest.approx(softmax_first([3, 0.5, 0], 0))
    assert (table["orig_pred"] == 0).all()


def test_top_k_steps_follow_the_paper():
    assert top_k_steps(196, 2, 0.25) == list(range(1, 50, 2))
    assert top_k_steps(64, 2, 0.25) == [1, 3, 5, 7, 9, 11, 13, 15]
    assert top_k_steps(4, 5, 0.1) == [1]


def test_drop_sweep_is_batch_independent():
    from attrib.models import build_model

    torch.manual_seed(0)
    meta = {"modality": "image", "num_classes": 5, "image_size": 16, "patch": 4}
    vit = build_model("vit", meta, {"num_layers": 1, "hidden_dim": 16, "mlp_dim": 16, "num_heads": 2})
    nn.init.normal_(vit.net.heads.head.weight)
    x = torch.rand(9, 3, 16, 16)
    order = random_orderings(9, 16, seed=3)
    tables = [patch_ablation(vit, x, order, steps=range(0, 17, 3), removal="drop", chunk_size=c) for c in (1, 4, 64)]
    for other in tables[1:]:
        pd.testing.assert_frame_equal(tables[0], other, atol=1e-5)


def test_summary_entropy_and_top_classes_by_hand():
    samples = pd.DataFrame({
        "model": "m",
        "image": [0, 1, 2, 3] * 3,
        "removed": [0] * 4 + [1] * 4 + [2] * 4,
        "fraction_removed": [0.0] * 4 + [0.5] * 4 + [1.0] * 4,
        "pred": [0, 1, 2, 3, 2, 2, 2, 1, 2, 2, 2, 2],
        "unchanged": [True] * 4 + [False, False, True, False] + [False, False, True, False],
        "prob_orig": [1.0] * 12,
    })
    summary = ablation_summary(samples, ["model"])
    assert summary["class_entropy_bits"].tolist() == pytest.approx([2.0, entropy_bits([2, 2, 2, 1]), 0.0])
    assert entropy_bits([2, 2, 2, 1]) == pytest.approx(-(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25)))
    assert summary["unchanged"].tolist() == [1.0, 0.25, 0.25]
    top = top_classes(samples, ["model"], fraction=0.5, top=2)
    assert top["class"].tolist() == [2, 1]
    assert top["share"].tolist() == [0.75, 0.25]
    assert top["share_at_0"].tolist() == [0.25, 0.25]
    assert (top["fraction_removed"] == 0.5).all()
