import itertools

import pandas as pd
import pytest
import torch
import torch.nn as nn

from attrib.mus.smoothing import certified_accuracy_at, certified_accuracy_table, certify, quasi_random_masks, round_lambda, SmoothedClassifier, stability_table
from helpers import ImageStub, TextStub


class VectorModel(nn.Module):
    """Each input coordinate is one feature; removed features read as 0."""

    modality = "image"
    default_removal = "black"

    def __init__(self, p=6, num_classes=3, hidden=16, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.num_classes = num_classes
        self.net = nn.Sequential(nn.Linear(p, hidden), nn.Tanh(), nn.Linear(hidden, num_classes))
        self.calls = 0

    def num_features(self, x):
        return x.shape[1]

    def feature_mask(self, x):
        return torch.ones(x.shape, dtype=torch.bool)

    def forward(self, x, keep=None, removal=None):
        self.calls += 1
        return self.net(x if keep is None else x * keep)


def conv_image_model(num_classes=4):
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, num_classes))
    return ImageStub(net, patch=2, num_classes=num_classes)


def text_model():
    return TextStub(vocab=20, dim=8, seed=2, gain=1.0, dtype=torch.float32)


def spec_masks(p, q, lam, seed):
    """The spec's float recipe, one mask at a time: t = (v + (j + ½)/q) mod 1, s = 1[t < λ]."""
    lam = int(lam * q + 1e-9) / q
    v = torch.randint(q, (p,), generator=torch.Generator().manual_seed(seed)).double() / q
    return torch.stack([((v + (j + 0.5) / q) % 1.0 < lam).float() for j in range(q)])


def brute_force(model, x, lam, q, seed, mode, alpha, mu):
    """Average over masks computed one sample and one mask at a time."""
    s = spec_masks(model.num_features(x), q, lam, seed)
    rows = []
    for i in range(x.shape[0]):
        acc = 0
        for j in range(q):
            keep = (mu[i] + alpha[i] * s[j]).clamp(0, 1)
            logits = model(x[i:i + 1], keep=keep[None])[0]
            acc = acc + (torch.eye(logits.numel())[logits.argmax()] if mode == "voting" else logits.softmax(0))
        rows.append(acc / q)
    return torch.stack(rows)


@pytest.mark.parametrize("p,q,lam", [(7, 8, 0.5), (5, 8, 0.3), (13, 64, 3 / 8), (9, 10, 0.29), (6, 12, 1.0), (4, 16, 1 / 16)])
def test_masks_keep_each_feature_exactly_lambda_q_times(p, q, lam):
    s = quasi_random_masks(p, q, lam, seed=3)
    k = int(lam * q + 1e-9)
    assert s.shape == (q, p)
    assert set(s.unique().tolist()) <= {0.0, 1.0}
    assert (s.sum(dim=0) == k).all()
    assert torch.equal(s, spec_masks(p, q, lam, seed=3))
    assert torch.equal(s, quasi_random_masks(p, q, lam, seed=3))


def test_masks_depend_on_seed_and_lambda_rounds_down():
    assert not torch.equal(quasi_random_masks(32, 16, 0.5, 0), quasi_random_masks(32, 16, 0.5, 1))
    assert round_lambda(0.3, 8) == 2 / 8
    assert round_lambda(0.29, 100) == 0.29
    with pytest.raises(ValueError):
        round_lambda(0.05, 8)


@pytest.mark.parametrize("mode", ["voting", "soft"])
def test_smoothed_equals_brute_force(mode):
    model = VectorModel(p=6)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(5, 6, generator=gen)
    alpha = (torch.rand(5, 6, generator=gen) < 0.7).float()
    mu = alpha * (torch.rand(5, 6, generator=gen) < 0.5)
    smoothed = SmoothedClassifier(model, 0.4, q=8, seed=2, mode=mode, chunk_size=7)
    with torch.no_grad():
        got = smoothed(x, alpha, mu)
        want = brute_force(model, x, 0.4, 8, 2, mode, alpha, mu)
    assert torch.allclose(got, want, atol=1e-6)
    assert torch.allclose(got.sum(dim=1), torch.ones(5))


def test_smoothed_image_and_text_models_match_brute_force():
    img = conv_image_model()
    x = torch.rand(3, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    alpha = torch.ones(3, 16)
    alpha[:, ::3] = 0
    with torch.no_grad():
        got = SmoothedClassifier(img, 0.5, q=8, seed=1, mode="soft", chunk_size=5)(x, alpha)
        want = brute_force(img, x, 0.5, 8, 1, "soft", alpha, torch.zeros(3, 16))
    assert torch.allclose(got, want, atol=1e-6)

    txt = text_model()
    ids = torch.tensor([[3, 5, 7, 9, 0, 0], [4, 4, 11, 2, 19, 0]])
    with torch.no_grad():
        got = SmoothedClassifier(txt, 0.25, q=16, seed=1, mode="soft", chunk_size=11)(ids)
        want = brute_force(txt, ids, 0.25, 16, 1, "soft", torch.ones(2, 6), torch.zeros(2, 6))
    assert torch.allclose(got, want, atol=1e-6)


def test_chunk_size_does_not_change_results():
    model = VectorModel(p=6)
    x = torch.randn(9, 6, generator=torch.Generator().manual_seed(4))
    outs = [SmoothedClassifier(model, 0.5, q=16, mode="soft", chunk_size=c)(x) for c in (1, 13, 10_000)]
    assert all(torch.allclose(outs[0], o, atol=1e-6) for o in outs[1:])


def test_lambda_one_is_the_base_model_once():
    model = VectorModel(p=6)
    x = torch.randn(4, 6)
    alpha = torch.tensor([[1.0, 1, 0, 0, 1, 0]]).expand(4, 6)
    mu = torch.tensor([[0.0, 0, 1, 0, 0, 0]]).expand(4, 6)
    model.calls = 0
    with torch.no_grad():
        soft = SmoothedClassifier(model, 1.0, q=64, mode="soft")(x, alpha, mu)
        base = model(x, keep=torch.maximum(alpha, mu)).softmax(dim=1)
        vote = SmoothedClassifier(model, 1.0, q=64)(x, alpha, mu)
    assert model.calls == 3
    assert torch.allclose(soft, base)
    assert torch.equal(vote.argmax(dim=1), base.argmax(dim=1)) and torch.equal(vote.max(dim=1).values, torch.ones(4))


def test_soft_mode_is_differentiable_in_alpha():
    model = VectorModel(p=6)
    alpha = torch.ones(2, 6, requires_grad=True)
    SmoothedClassifier(model, 0.5, q=8, mode="soft")(torch.randn(2, 6), alpha)[:, 0].sum().backward()
    assert alpha.grad is not None and alpha.grad.abs().sum() > 0


def test_certify_hand_example():
    scores = torch.tensor([[0.5, 0.25, 0.25], [0.125, 0.125, 0.75], [0.5, 0.5, 0.0]])
    pred, gap, radius = certify(scores, 0.25)
    assert pred.tolist() == [0, 2, 0]
    assert gap.tolist() == [0.25, 0.625, 0.0]
    assert radius.tolist() == [0.5, 1.25, 0.0]


def all_subsets(p):
    """(2^p, p) float indicator rows of every subset of p features."""
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=p)))


def violations(model, x, lam, q, base_alpha, flippable, slack=1.0):
    """Count (sample, flip set S) with |S| < slack * radius whose smoothed prediction changes.

    Flips toggle features of ``base_alpha`` that ``flippable`` allows, enumerated exhaustively.
    """
    smoothed = SmoothedClassifier(model, lam, q=q, seed=5, chunk_size=4096)
    pred, _, radius = smoothed.certify(x, base_alpha)
    n, p = base_alpha.shape
    subsets = all_subsets(p)
    sizes = subsets.sum(dim=1)
    flips = subsets.unsqueeze(0) * flippable.unsqueeze(1)  # (n, 2^p, p)
    valid = (flips.sum(dim=2) == sizes) & (sizes < slack * radius.unsqueeze(1))
    alpha = (base_alpha.unsqueeze(1) - flips).abs()
    xs = x.repeat_interleave(len(subsets), dim=0)
    new_pred = smoothed(xs, alpha.reshape(-1, p)).argmax(dim=1).reshape(n, -1)
    return int(((new_pred != pred.unsqueeze(1)) & valid).sum()), int(valid.sum())


SOUNDNESS_CASES = [(8, 8, 1 / 8), (8, 8, 2 / 8), (8, 16, 3 / 16), (7, 16, 5 / 16), (6, 8, 3 / 8)]


@pytest.mark.parametrize("p,q,lam", SOUNDNESS_CASES)
def test_certificate_sound_by_exhaustive_enumeration(p, q, lam):
    model = VectorModel(p=p, num_classes=3, seed=p)
    gen = torch.Generator().manual_seed(p)
    x = 2 * torch.randn(24, p, generator=gen)
    ones = torch.ones(24, p)
    # decremental: remove any features from α = 1
    bad, checked = violations(model, x, lam, q, ones, ones)
    assert bad == 0 and checked > 24
    # incremental: add features outside a sparse α
    sparse = (torch.rand(24, p, generator=gen) < 0.3).float()
    bad, checked = violations(model, x, lam, q, sparse, 1 - sparse)
    assert bad == 0 and checked > 24


def test_soundness_check_can_fail():
    """Doubling the certified radius must produce counterexamples, else the check is vacuous."""
    found = 0
    for p, q, lam in SOUNDNESS_CASES:
        model = VectorModel(p=p, num_classes=3, seed=p)
        x = 2 * torch.randn(24, p, generator=torch.Generator().manual_seed(p))
        found += violations(model, x, lam, q, torch.ones(24, p), torch.ones(24, p), slack=2.0)[0]
    assert found > 0


def test_certified_accuracy_table_and_curve():
    model = VectorModel(p=6)
    x = torch.randn(10, 6, generator=torch.Generator().manual_seed(1))
    y = torch.arange(10) % 3
    table = certified_accuracy_table(model, x, y, 0.3, q=8, seed=0, chunk_size=32)
    assert list(table.columns) == ["sample", "label", "pred", "correct", "gap", "radius", "lambda"]
    assert (table["lambda"] == 0.25).all()
    assert (table["radius"] == table["gap"] / 0.5).all()
    assert (table["correct"] == (table["pred"] == table["label"])).all()


    hand = pd.DataFrame({"lambda": [0.5] * 4 + [0.25] * 2, "correct": [True, True, False, False, True, True],
                         "radius": [0.0, 1.0, 2.0, 0.0, 0.5, 2.0]})
    curve = certified_accuracy_at(hand, [0.0, 0.5, 1.0, 1.5])
    assert list(curve.columns) == ["lambda", "radius", "certified_accuracy"]
    assert curve["lambda"].tolist() == [0.25] * 4 + [0.5] * 4
    assert curve["certified_accuracy"].tolist() == [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.0]


def test_stability_table_matches_individual_calls():
    model = VectorModel(p=6)
    x = torch.randn(5, 6, generator=torch.Generator().manual_seed(2))
    alpha = torch.zeros(5, 6)
    alpha[:, :2] = 1
    table = stability_table(model, x, alpha, 0.25, q=8, seed=0)
    smoothed = SmoothedClassifier(model, 0.25, q=8, seed=0)
    for name, a, mu in [("1_0", torch.ones(5, 6), None), ("a_0", alpha, None), ("1_a", torch.ones(5, 6), alpha), ("a_a", alpha, alpha)]:
        pred, gap, radius = smoothed.certify(x, a, mu)
        assert table[f"pred_{name}"].tolist() == pred.tolist()
        assert torch.allclose(torch.tensor(table[f"radius_{name}"].to_numpy()), radius)
    assert (table["consistent"] == (table["pred_1_0"] == table["pred_a_0"])).all()
    # (α, α) keeps α in every mask, so it is the base model on x ⊙ α: a unanimous vote
    assert (table["gap_a_a"] == 1).all()
