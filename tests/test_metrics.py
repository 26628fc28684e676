import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn
from sklearn.metrics import roc_auc_score

from attrib.features import apply_removal, filler
from attrib.attribution.scores import attribution_scores, curve_auc, deletion_insertion_curves, diffid, diffid_auc, diffid_scores, diffid_summary, ground_truth_table, mask_auc, pointing_game, relevance_mass, removal_counts
from attrib.models.base import ImageClassifier


class RecordingLinear(nn.Module):
    """logit0 = Σ_c Σ_pixel w_pixel·x[c, pixel] + b0 and a constant logit1; keeps every input it saw."""

    def __init__(self, pixel_weight, b0, logit1):
        super().__init__()
        self.pixel_weight, self.b0, self.logit1 = torch.tensor(pixel_weight), b0, logit1
        self.seen = []

    def forward(self, z):
        self.seen.append(z.clone())
        first = (z.sum(dim=1).flatten(1) * self.pixel_weight).sum(dim=1) + self.b0
        return torch.stack([first, torch.full_like(first, self.logit1)], dim=1)


def hand_model(**kwargs):
    net = RecordingLinear([1.0, 2.0, 3.0, 4.0], 3.0, 6.0)
    return ImageClassifier(net, num_classes=2, image_size=2, patch=1, **kwargs).eval()


# Pixels p0..p3 row-major. Normalised with mean 0.5 and std (0.5, 0.25, 0.2):
# p0 = (1, 0, -1.5), p1 = (0, 1, -0.5), p2 = (-1, -1, 0.5), p3 = (0, 2, 1.5)  -> logit0 = 10 + 3 = 13
X = torch.tensor([[[[1.0, 0.5], [0.0, 0.5]],
                   [[0.5, 0.75], [0.25, 1.0]],
                   [[0.2, 0.4], [0.6, 0.8]]]])
STD = (0.5, 0.25, 0.2)
# |map| summed over channels = (4, 1, 0, 3): ranking p0, p3, p1, p2
MAP = torch.tensor([[[[-3.0, 1.0], [0.0, 2.0]],
                     [[1.0, 0.0], [0.0, -1.0]],
                     [[0.0, 0.0], [0.0, 0.0]]]])


def test_scores_abs_channel_sum_minmax():
    assert torch.allclose(diffid_scores(MAP), torch.tensor([[1.0, 0.25, 0.0, 0.75]]))
    assert torch.equal(diffid_scores(torch.full((2, 3, 2, 2), 7.0)), torch.zeros(2, 4))


def test_removal_counts_round_half_up_and_validation():
    assert removal_counts((0.1, 0.25, 0.5, 0.9), 10).tolist() == [1, 3, 5, 9]
    assert removal_counts((0.5,), 5).tolist() == [3]
    with pytest.raises(ValueError, match="removes all"):
        removal_counts((0.9,), 4)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        removal_counts((1.0,), 100)


def test_hand_computed_filling_and_logit_ratios():
    model = hand_model(mean=(0.5, 0.5, 0.5), std=STD)
    table = diffid(model, X, MAP, ratios=(0.25, 0.5), chunk_size=16)
    seen = model.net.seen[1].view(4, 3, 4)  # rows: (0.25, ins), (0.25, del), (0.5, ins), (0.5, del)
    xn = torch.tensor([[1.0, 0.0, -1.5], [0.0, 1.0, -0.5], [-1.0, -1.0, 0.5], [0.0, 2.0, 1.5]])  # (pixel, channel)
    expected = xn.T.repeat(4, 1, 1).clone()  # (row, channel, pixel)
    # one scalar per input: the mean over channels of the preserved pixels, in normalised space
    expected[0, :, 2] = 7 / 18  # insertion 0.25: p2 <- mean of p0, p1, p3 = (-0.5 + 0.5 + 3.5) / 9
    expected[1, :, 0] = 5 / 18  # deletion 0.25: p0 <- mean of p1, p2, p3 = (0.5 - 1.5 + 3.5) / 9
    expected[2, :, 1] = expected[2, :, 2] = 0.5  # insertion 0.5: p1, p2 <- mean of p0, p3 = 3 / 6
    expected[3, :, 0] = expected[3, :, 3] = -1 / 6  # deletion 0.5: p0, p3 <- mean of p1, p2 = -1 / 6
    assert torch.allclose(seen, expected, atol=1e-6)
    assert torch.allclose(model.net.seen[0], model.normalise(X))

    assert list(table.columns) == ["image", "ratio", "game", "logit_ratio", "correct"]
    assert table["game"].tolist() == ["insertion", "deletion"] * 2
    assert table["ratio"].tolist() == [0.25, 0.25, 0.5, 0.5]
    # logit0: 21, 43/3, 24, -3 over the original 13; class 1 sits at 6
    assert np.allclose(table["logit_ratio"], [21 / 13, 43 / 39, 24 / 13, -3 / 13], atol=1e-6)
    assert table["correct"].tolist() == [True, True, True, False]

    summary = diffid_summary(table)
    assert np.allclose(summary["diffid_logit"], [20 / 39, 27 / 13])
    assert np.allclose(summary["diffid_accuracy"], [0.0, 1.0])
    auc = diffid_auc(table)
    assert auc.loc[0, "diffid_logit_auc"] == pytest.approx(101 / 312)
    assert auc.loc[0, "diffid_accuracy_auc"] == pytest.approx(0.125)
    assert auc.loc[0, "integration"] == "trapezoid"


def test_explicit_target():
    model = hand_model(mean=(0.5, 0.5, 0.5), std=STD)
    table = diffid(model, X, MAP, target=1, ratios=(0.25, 0.5))
    assert np.allclose(table["logit_ratio"], 1.0)  # logit1 is constant
    assert table["correct"].tolist() == [False, False, False, True]


def test_ties_broken_by_pixel_index_deterministically():
    model = hand_model()
    x = torch.rand(2, 3, 2, 2, generator=torch.Generator().manual_seed(0))
    maps = torch.stack([torch.ones(3, 2, 2), torch.tensor([[2.0, 2.0], [1.0, 1.0]]).expand(3, 2, 2)])
    first = diffid(model, x, maps, ratios=(0.25, 0.5), chunk_size=3)
    seen = torch.cat(model.net.seen[1:]).view(2, 2, 2, 3, 4)  # image, ratio, game, channel, pixel
    xn = model.normalise(x).flatten(2)
    for removed, kept, (img, ratio, game) in [
        ([0], [1, 2, 3], (0, 0, 1)), ([3], [0, 1, 2], (0, 0, 0)),  # constant map: index order
        ([0, 1], [2, 3], (1, 1, 1)), ([2, 3], [0, 1], (1, 1, 0)),  # 2, 2, 1, 1
        ([0], [1, 2, 3], (1, 0, 1)), ([3], [0, 1, 2], (1, 0, 0)),
    ]:
        want = xn[img].clone()
        want[:, removed] = xn[img][:, kept].mean()
        assert torch.allclose(seen[img, ratio, game], want, atol=1e-6), (img, ratio, game)
    model.net.seen.clear()
    pd.testing.assert_frame_equal(first, diffid(model, x, maps, ratios=(0.25, 0.5), chunk_size=5))


def test_ties_on_a_large_map_follow_pixel_index():
    # torch's default sort is not stable beyond small sizes; the ranking must still be
    net = RecordingLinear([1.0] * 1024, 1.0, 0.0)
    model = ImageClassifier(net, num_classes=2, image_size=32, patch=1).eval()
    g = torch.Generator().manual_seed(4)
    x, maps = torch.rand(2, 3, 32, 32, generator=g), torch.randint(0, 3, (2, 1, 32, 32), generator=g).float()
    diffid(model, x, maps, ratios=(0.3,))
    seen = torch.cat(net.seen[1:]).view(2, 2, 3, 1024)  # image, game, channel, pixel
    xn = model.normalise(x).flatten(2)
    k = 307  # round(0.3 * 1024)
    for img in range(2):
        order = np.argsort(-maps[img].flatten().numpy(), kind="stable")
        for game, removed in ((1, order[:k]), (0, order[-k:])):
            kept = np.ones(1024, dtype=bool)
            kept[removed] = False
            want = xn[img].clone()
            want[:, ~kept] = xn[img][:, kept].mean()
            assert torch.allclose(seen[img, game], want, atol=1e-6), (img, game)


def small_cnn(seed=0):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                        nn.Linear(16, 5))
    return ImageClassifier(net, num_classes=5, image_size=8, patch=2).eval()


def test_chunk_size_invariance_and_batch_independence():
    model = small_cnn()
    g = torch.Generator().manual_seed(1)
    x, maps = torch.rand(5, 3, 8, 8, generator=g), torch.randn(5, 3, 8, 8, generator=g)
    tables = [diffid(model, x, maps, chunk_size=c) for c in (1, 7, 10_000)]
    assert len(tables[0]) == 5 * 9 * 2
    for other in tables[1:]:
        assert np.allclose(tables[0]["logit_ratio"], other["logit_ratio"], atol=1e-5)
        assert (tables[0]["correct"] == other["correct"]).all()
    alone = diffid(model, x[3:4], maps[3:4])
    assert np.allclose(alone["logit_ratio"], tables[2].query("image == 3")["logit_ratio"], atol=1e-5)


def hand_table():
    rows = []
    # image, ratio, insertion (logit ratio, correct), deletion (logit ratio, correct)
    for image, ratio, ins, dele in [
        (0, 0.1, (1.0, True), (0.8, True)), (0, 0.5, (0.9, True), (0.2, False)), (0, 0.9, (0.5, False), (0.1, False)),
        (1, 0.1, (0.8, True), (0.6, True)), (1, 0.5, (0.7, False), (0.0, False)), (1, 0.9, (0.3, False), (-0.1, False)),
    ]:
        rows += [(image, ratio, "insertion", *ins), (image, ratio, "deletion", *dele)]
    return pd.DataFrame(rows, columns=["image", "ratio", "game", "logit_ratio", "correct"])


def test_summary_and_trapezoid_by_hand():
    summary = diffid_summary(hand_table())
    assert summary["ratio"].tolist() == [0.1, 0.5, 0.9]
    assert np.allclose(summary["insertion_logit_ratio"], [0.9, 0.8, 0.4])
    assert np.allclose(summary["deletion_logit_ratio"], [0.7, 0.1, 0.0])
    assert np.allclose(summary["diffid_logit"], [0.2, 0.7, 0.4])
    assert np.allclose(summary["diffid_accuracy"], [0.0, 0.5, 0.0])
    auc = diffid_auc(hand_table())
    assert auc.loc[0, "diffid_logit_auc"] == pytest.approx(0.4)  # 0.4·(0.2+0.7)/2 + 0.4·(0.7+0.4)/2
    assert auc.loc[0, "diffid_accuracy_auc"] == pytest.approx(0.2)
    assert (auc.loc[0, "ratio_min"], auc.loc[0, "ratio_max"]) == (0.1, 0.9)

    worse = hand_table()
    worse.loc[worse["game"] == "deletion", "logit_ratio"] += 0.1
    both = pd.concat([hand_table().assign(method="a"), worse.assign(method="b")])
    by_method = diffid_auc(both, by=["method"]).set_index("method")
    assert by_method.loc["a", "diffid_logit_auc"] == pytest.approx(0.4)
    assert by_method.loc["b", "diffid_logit_auc"] == pytest.approx(0.32)


def curve_model():
    net = RecordingLinear([1.0, 1.0, 1.0, 1.0], 0.0, 0.0)
    return ImageClassifier(net, num_classes=2, image_size=2, patch=1, mean=(0, 0, 0), std=(1, 1, 1)).eval()


def test_classic_curves_black_by_hand():
    # channel sums per pixel (1, 1.5, 0.5, 0); features rank p1, p2, p3, p0
    x = torch.tensor([[[[0.5, 1.0], [0.25, 0.0]], [[0.5, 0.5], [0.25, 0.0]], [[0.0, 0.0], [0.0, 0.0]]]])
    features = torch.tensor([[0.1, 0.9, 0.5, 0.3]])
    curves = deletion_insertion_curves(curve_model(), x, features, 0, steps=2, chunk_size=4)
    assert curves["game"].tolist() == ["insertion"] * 3 + ["deletion"] * 3
    assert curves["fraction"].tolist() == [0.0, 0.5, 1.0] * 2
    ins, dele = torch.sigmoid(torch.tensor([0.0, 2.0, 3.0])), torch.sigmoid(torch.tensor([3.0, 1.0, 0.0]))
    assert np.allclose(curves["prob"], torch.cat([ins, dele]).numpy(), atol=1e-6)
    auc = curve_auc(curves)
    trap = lambda p: 0.25 * (p[0] + p[1]) + 0.25 * (p[1] + p[2])  # noqa: E731
    assert auc["game"].tolist() == ["deletion", "insertion"]
    assert np.allclose(auc["auc"], [trap(dele), trap(ins)])

    pixel_map = torch.zeros(1, 3, 2, 2)
    pixel_map[0, 0] = 3 * features.view(2, 2)  # mean |map| over channels = features
    from_map = deletion_insertion_curves(curve_model(), x, pixel_map, 0, steps=2)
    assert np.allclose(from_map["prob"], curves["prob"])


def test_classic_curves_blur_endpoints():
    model = small_cnn(seed=2)
    g = torch.Generator().manual_seed(3)
    x, features = torch.rand(3, 3, 8, 8, generator=g), torch.rand(3, 16, generator=g)
    curves = deletion_insertion_curves(model, x, features, baseline="blur", chunk_size=5)
    assert len(curves) == 3 * 2 * 17
    with torch.no_grad():
        target = model(x).argmax(1)
        pick = lambda logits: logits.softmax(1)[torch.arange(3), target].numpy()  # noqa: E731
        blurred, original = pick(model(filler(x, "blur"))), pick(model(x))
        keep = torch.ones(3, 16)
        keep[torch.arange(3), features.argmax(1)] = 0
        one_deleted = pick(model(apply_removal(x, keep, 2, "blur")))
    step = curves.set_index(["game", "step", "image"]).sort_index()
    assert np.allclose(step.loc[("insertion", 0), "prob"], blurred, atol=1e-5)
    assert np.allclose(step.loc[("deletion", 16), "prob"], blurred, atol=1e-5)
    assert np.allclose(step.loc[("insertion", 16), "prob"], original, atol=1e-5)
    assert np.allclose(step.loc[("deletion", 0), "prob"], original, atol=1e-5)
    assert np.allclose(step.loc[("deletion", 1), "prob"], one_deleted, atol=1e-5)
    with pytest.raises(ValueError, match="baseline"):
        deletion_insertion_curves(model, x, features, baseline="mean")


def test_classic_curves_equal_one_forward_per_point_and_evaluate_each_end_once():
    model = small_cnn(seed=4)
    g = torch.Generator().manual_seed(5)
    x, features = torch.rand(5, 3, 8, 8, generator=g), torch.rand(5, 16, generator=g)
    features[1] = 0.5  # a constant map: the order is the tie-break alone
    curves = deletion_insertion_curves(model, x, features, steps=4, chunk_size=7)
    # the reference: every (image, game, step) its own forward, ranks by a per-image argsort
    with torch.no_grad():
        target = model(x).argmax(1)
        for (image, game, step), prob in curves.set_index(["image", "game", "step"])["prob"].items():
            order = torch.sort(features[image], descending=True, stable=True).indices
            keep = torch.zeros(16)
            keep[order[:step]] = 1.0
            if game == "deletion":
                keep = 1.0 - keep
            want = model(x[image:image + 1], keep=keep[None], removal="black").softmax(1)[0, target[image]]
            assert prob == pytest.approx(want.item(), abs=1e-6), (image, game, step)

    net = RecordingLinear([1.0, 2.0, 3.0, 4.0], 0.0, 0.5)
    recorded = ImageClassifier(net, num_classes=2, image_size=2, patch=1).eval()
    y = torch.rand(3, 3, 2, 2, generator=g)
    deletion_insertion_curves(recorded, y, torch.rand(3, 4, generator=g), steps=4, chunk_size=5)
    # 3 unperturbed + 3 all-black + 3 images x 2 games x 3 inner steps
    assert sum(len(z) for z in net.seen) == 3 + 3 + 18


def test_classic_curves_text_use_the_mask_token():
    from attrib.models.text import TextCNN

    torch.manual_seed(0)
    meta = {"num_classes": 3, "pad_id": 0, "mask_id": 1, "special_ids": [2], "vocab_size": 20}
    model = TextCNN(meta, dim=8, channels=6, kernel=3).eval()
    ids = torch.tensor([[2, 5, 7, 9, 2, 0], [2, 11, 4, 2, 0, 0]])  # [CLS] tokens [SEP] padding
    scores = torch.tensor([[0.0, 0.3, 0.9, 0.1, 0.0, 0.0], [0.0, 0.2, 0.8, 0.0, 0.0, 0.0]])
    curves = deletion_insertion_curves(model, ids, scores, baseline=None, steps=6)
    step = curves.set_index(["game", "step", "image"]).sort_index()
    with torch.no_grad():
        target = model(ids).argmax(1)
        masked = ids.clone()
        masked[0, 2] = masked[1, 2] = 1  # the top-scored token of each text becomes [MASK]
        pick = lambda x: x.softmax(1)[torch.arange(2), target].numpy()  # noqa: E731
        one_deleted, original = pick(model(masked)), pick(model(ids))
    assert np.allclose(step.loc[("deletion", 1), "prob"], one_deleted, atol=1e-6)
    assert np.allclose(step.loc[("insertion", 6), "prob"], original, atol=1e-6)
    with pytest.raises(ValueError, match="not a text mode"):
        deletion_insertion_curves(model, ids, scores, baseline="black")


def hand_mask():
    # 4x4, patch 2: digit fractions per patch (1, 0.5, 0.25, 0) -> inside (T, T, F, F)
    mask = torch.zeros(1, 4, 4, dtype=torch.bool)
    mask[0, :2, :2] = True
    mask[0, 0, 2:] = True
    mask[0, 2, 0] = True
    return mask


def test_ground_truth_scores_by_hand():
    mask = hand_mask().expand(4, 4, 4)
    features = torch.tensor([[0.1, 0.2, 0.9, 0.0], [0.5, 0.2, 0.4, 0.1], [0.4, 0.2, 0.4, 0.1], [0.5, -1.0, 0.4, 0.1]])
    assert pointing_game(features, mask, 2).tolist() == [False, True, True, True]
    assert torch.allclose(relevance_mass(features, mask, 2).double(),
                          torch.tensor([0.425 / 1.2, 0.7 / 1.2, 0.6 / 1.1, 0.6 / 1.0], dtype=torch.float64))
    assert torch.allclose(mask_auc(features, mask, 2), torch.tensor([0.5, 0.75, 0.625, 0.5], dtype=torch.float64))
    table = ground_truth_table(features, mask, 2)
    assert list(table.columns) == ["image", "pointing", "relevance_mass", "mask_auc"]
    assert table["mask_auc"].tolist() == pytest.approx([0.5, 0.75, 0.625, 0.5])


def test_ground_truth_undefined_cases_are_nan():
    full = torch.ones(1, 4, 4, dtype=torch.bool)
    assert torch.isnan(mask_auc(torch.rand(1, 4), full, 2)).all()
    assert torch.isnan(relevance_mass(-torch.rand(1, 4), hand_mask(), 2)).all()


def test_mask_auc_matches_sklearn_with_ties():
    g = torch.Generator().manual_seed(0)
    features = torch.randint(0, 4, (30, 16), generator=g).float()  # many ties
    mask = torch.rand(30, 8, 8, generator=g) < torch.linspace(0.2, 0.8, 30).view(30, 1, 1)
    labels = (torch.nn.functional.avg_pool2d(mask.float().unsqueeze(1), 2).flatten(1) >= 0.5).numpy()
    ours = mask_auc(features, mask, 2).numpy()
    checked = 0
    for i in range(30):
        if 0 < labels[i].sum() < 16:
            assert ours[i] == pytest.approx(roc_auc_score(labels[i], features[i].numpy()))
            checked += 1
        else:
            assert np.isnan(ours[i])
    assert checked >= 20


def test_attribution_scores_per_modality():
    """The attribute job's tables: images get all three (ground truth where masks exist), text
    only its [MASK] curves; each table equals the metric computed on its own."""
    model = small_cnn(seed=4)
    g = torch.Generator().manual_seed(5)
    x, magnitude, features = torch.rand(3, 3, 8, 8, generator=g), torch.rand(3, 8, 8, generator=g), torch.rand(3, 16, generator=g)
    mask = torch.rand(3, 8, 8, generator=g) < 0.5
    scores = attribution_scores(model, x, features, magnitude, None, masks=mask, curve_steps=4,
                                curve_baseline="blur", chunk_size=7)
    assert np.allclose(scores["diffid"]["logit_ratio"], diffid(model, x, magnitude.unsqueeze(1))["logit_ratio"])
    want = curve_auc(deletion_insertion_curves(model, x, features, steps=4, baseline="blur"))
    assert np.allclose(scores["deletion_insertion"]["auc"], want["auc"])
    assert set(scores["deletion_insertion"]["baseline"]) == {"blur"}
    assert scores["ground_truth"]["mask_auc"].tolist() == pytest.approx(mask_auc(features, mask, 2).tolist())
    no_masks = attribution_scores(model, x, features, magnitude, None, curve_steps=4, curve_baseline="black",
                                  chunk_size=7)
    assert no_masks["ground_truth"].empty and list(no_masks["ground_truth"].columns) == list(scores["ground_truth"].columns)

    from attrib.models.text import TextCNN

    torch.manual_seed(0)
    meta = {"num_classes": 3, "pad_id": 0, "mask_id": 1, "special_ids": [2], "vocab_size": 20}
    text = TextCNN(meta, dim=8, channels=6, kernel=3).eval()
    ids = torch.tensor([[2, 5, 7, 9, 2, 0], [2, 11, 4, 2, 0, 0]])
    text_scores = attribution_scores(text, ids, torch.rand(2, 6, generator=g), None, None, curve_steps=3,
                                     curve_baseline="black", chunk_size=4)
    assert set(text_scores["deletion_insertion"]["baseline"]) == {"mask_token"}
    assert text_scores["diffid"].empty and text_scores["ground_truth"].empty
